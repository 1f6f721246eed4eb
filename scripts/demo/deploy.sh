#!/usr/bin/env bash
# Demo of deploy/: renders each Kubernetes overlay offline (the kustomize
# subset of tests/deploy/render.py), validates every object against the
# Kubernetes and CRD schemas, checks the Alertmanager config with amtool,
# and prints where to look. Nothing runs in the background (no cluster here).
# Env: DEMO_DIR (scratch dir), BUILD_DIR (unused: no binaries needed).
set -euo pipefail
cd "$(dirname "$0")/../.."
D=$DEMO_DIR/deploy
mkdir -p "$D"
if [ ! -d tests/deploy/node_modules ]; then
  npm ci --prefix tests/deploy --no-audit --no-fund --loglevel=error >/dev/null
fi
for env in dev stg prod; do
  /usr/bin/python3 tests/deploy/render.py "deploy/kubernetes/overlays/$env" >"$D/$env.yaml"
  /usr/bin/python3 tests/deploy/render.py "deploy/kubernetes/overlays/$env" --json >"$D/$env.json"
done
node tests/deploy/validate.mjs "$D/dev.json" "$D/stg.json" "$D/prod.json" | tail -1
/usr/bin/python3 tests/deploy/render.py deploy/alertmanager --json >"$D/alertmanager.json"
/usr/bin/python3 -c 'import base64, json, sys
s = [o for o in json.load(open(sys.argv[1])) if o["kind"] == "Secret"][0]
open(sys.argv[2], "w").write(base64.b64decode(s["data"]["alertmanager.yaml"]).decode())' \
  "$D/alertmanager.json" "$D/alertmanager.yaml"
amtool check-config "$D/alertmanager.yaml" | head -1
echo "deploy: rendered manifests in $D/{dev,stg,prod}.yaml (kubectl apply --server-side -f ... on a cluster);"
echo "deploy: how to deploy: deploy/README.md"
