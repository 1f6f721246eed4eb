#!/usr/bin/env bash
# systemd-analyze verify every unit in deploy/systemd against the built
# binaries. systemd only warns about unknown keys (exit 0), so any output at
# all is a failure; a deliberately misspelt unit proves that this check bites.
set -euo pipefail
src=${FROND_SOURCE_DIR:?}
build=${FROND_BUILD_DIR:?}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

declare -A bin=(
  [frond_mongodb_exporter]=$build/exporters/mongodb/frond_mongodb_exporter
  [frond_rabbitmq_exporter]=$build/exporters/rabbitmq/frond_rabbitmq_exporter
  [frond_usage_exporter]=$build/exporters/usage/frond_usage_exporter
  [frondtail]=$build/shipper/frondtail
)

verify() {
  # The EnvironmentFile= paths exist only on a real host: make them optional here.
  local unit=$1 out
  out=$(cd "$tmp" && systemd-analyze verify "./$(basename "$unit")" 2>&1) || true
  printf '%s' "$out"
}

passed=0 failed=0
for unit in "$src"/deploy/systemd/*.service; do
  name=$(basename "$unit")
  sed -e 's|^EnvironmentFile=/|EnvironmentFile=-/|' "$unit" >"$tmp/$name"
  for b in "${!bin[@]}"; do
    if grep -q "/usr/local/bin/$b " "$tmp/$name"; then
      [ -x "${bin[$b]}" ] || { echo "$name: binary not built: ${bin[$b]}"; failed=$((failed + 1)); continue 2; }
      sed -i "s|/usr/local/bin/$b |${bin[$b]} |" "$tmp/$name"
    fi
  done
  out=$(verify "$tmp/$name")
  if [ -n "$out" ]; then
    echo "$name: systemd-analyze verify complained:"; echo "$out"
    failed=$((failed + 1))
  else
    passed=$((passed + 1))
  fi
done

printf '[Service]\nType=notify\nExecStart=/bin/true\nProtectSystm=strict\n' >"$tmp/misspelt.service"
if [ -z "$(verify "$tmp/misspelt.service")" ]; then
  echo "self-check: a misspelt key went unnoticed"
  failed=$((failed + 1))
else
  passed=$((passed + 1))
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
