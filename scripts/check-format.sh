#!/usr/bin/env bash
# Fail if any C source or header in the tree differs from .clang-format.
set -euo pipefail
cd "$(dirname "$0")/.."
bad=0
while IFS= read -r f; do
  if ! clang-format --dry-run -Werror "$f" >/dev/null 2>&1; then
    echo "not formatted: $f (run: clang-format -i $f)"
    bad=1
  fi
done < <(git ls-files -co --exclude-standard -- '*.c' '*.h')
exit $bad
