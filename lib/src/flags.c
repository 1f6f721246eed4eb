/* flags: implementation in progress. */
#include "frond/common.h"
