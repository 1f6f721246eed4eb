#!/usr/bin/env bash
# STYLE.md bans unbounded or error-swallowing libc calls; keep them out.
set -euo pipefail
cd "$(dirname "$0")/.."
if git ls-files -co --exclude-standard -- '*.c' '*.h' |
   xargs -r grep -nE '\b(sprintf|strcpy|strcat|strtok|atoi|gets)[[:space:]]*\('; then
  echo "banned calls found (use snprintf, bounded copies, strtol with checks)"
  exit 1
fi
