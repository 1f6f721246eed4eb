/*
 * The catalogue of every metric frond_mongodb_exporter can emit (the list
 * itself is metrics_list.h): name, type, HELP text and the command and
 * field it comes from. The mapping code refers to these entries instead of
 * repeating strings, and a unit test checks that README.md documents every
 * entry, so the list cannot drift from the documentation.
 */
#include <errno.h>

#include "mongo.h"

#define MONGO_METRIC(var, mname, mtype, mhelp, msrc)                                               \
    const struct mongo_metric var = {.name = mname, .type = mtype, .help = mhelp, .source = msrc};
#include "metrics_list.h"
#undef MONGO_METRIC

const struct mongo_metric *const mongo_metrics_all[] = {
#define MONGO_METRIC(var, mname, mtype, mhelp, msrc) &var,
#include "metrics_list.h"
#undef MONGO_METRIC
};
const size_t mongo_metrics_count = FROND_ARRAY_SIZE(mongo_metrics_all);

int mongo_emit(struct frond_scrape *s, const struct mongo_metric *m, double value, size_t nlabels,
               const struct frond_label *labels)
{
    struct frond_family *f = frond_scrape_family(s, m->name, m->type, m->help);
    if (!f) {
        return -ENOMEM;
    }
    return frond_scrape_samplev(s, f, value, nlabels, labels);
}
