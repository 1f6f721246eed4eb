// Validate rendered Kubernetes objects against the published schemas,
// offline: the core API from `kubernetes-models` (generated from the
// Kubernetes OpenAPI spec) and the CRDs frond uses from the
// @kubernetes-models packages generated from each project's own CRD
// (prometheus-operator, KEDA, External Secrets, Argo CD).
//
//   node tests/deploy/validate.mjs objects.json [more.json ...]
//   node tests/deploy/validate.mjs --self-test
//
// Each input file is a JSON array of objects (tests/deploy/render.py
// --json). An object whose apiVersion/kind has no model is an error, never a
// skip. Known limit, shared with the OpenAPI schemas themselves: unknown
// fields are not rejected (the API server prunes or rejects them), which
// tests/deploy/check_manifests.py covers for the fields frond relies on.
import { readFileSync } from 'node:fs';

// apiVersion group -> module prefix. Core Kubernetes groups live in
// kubernetes-models under their group name; the CRDs in their own package.
const CRD_PACKAGES = {
  'monitoring.coreos.com': '@kubernetes-models/prometheus-operator/monitoring.coreos.com',
  'keda.sh': '@kubernetes-models/keda/keda.sh',
  'external-secrets.io': '@kubernetes-models/external-secrets/external-secrets.io',
  'argoproj.io': '@kubernetes-models/argo-cd/argoproj.io',
};

async function modelFor(apiVersion, kind) {
  if (typeof apiVersion !== 'string' || typeof kind !== 'string') {
    throw new Error('apiVersion and kind must be strings');
  }
  const slash = apiVersion.indexOf('/');
  const group = slash < 0 ? '' : apiVersion.slice(0, slash);
  const version = slash < 0 ? apiVersion : apiVersion.slice(slash + 1);
  let spec;
  if (group === '') {
    spec = `kubernetes-models/${version}`;
  } else if (CRD_PACKAGES[group]) {
    spec = `${CRD_PACKAGES[group]}/${version}`;
  } else if (group.endsWith('.k8s.io') || !group.includes('.')) {
    spec = `kubernetes-models/${group}/${version}`;
  } else {
    throw new Error(`no schema package for API group ${group}`);
  }
  let mod;
  try {
    mod = await import(spec);
  } catch (e) {
    throw new Error(`no schema for ${apiVersion} (${spec}): ${e.code || e.message}`);
  }
  const Model = mod[kind];
  if (typeof Model !== 'function' || Model.kind !== kind) {
    throw new Error(`no schema for ${apiVersion} ${kind}`);
  }
  return Model;
}

// Returns a list of error strings (empty when valid).
export async function validateObject(obj) {
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) {
    return ['not an object'];
  }
  let Model;
  try {
    Model = await modelFor(obj.apiVersion, obj.kind);
  } catch (e) {
    return [e.message];
  }
  if (!obj.metadata || typeof obj.metadata.name !== 'string' || obj.metadata.name === '') {
    return ['metadata.name is required'];
  }
  try {
    new Model(obj).validate();
  } catch (e) {
    return [String(e.message || e)];
  }
  return [];
}

function describe(obj) {
  const md = (obj && obj.metadata) || {};
  return `${obj && obj.apiVersion} ${obj && obj.kind} ${md.namespace ? md.namespace + '/' : ''}${md.name}`;
}

// Broken objects that must be rejected, and their valid twins that must pass:
// proves the validator is wired to real schemas for every kind frond ships.
const CASES = [
  ['Deployment', {
    apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'd' },
    spec: { selector: { matchLabels: { a: 'b' } }, template: { metadata: { labels: { a: 'b' } }, spec: { containers: [{ name: 'c', image: 'i', ports: [{ containerPort: 9216 }] }] } } },
  }, (o) => { o.spec.template.spec.containers[0].ports[0].containerPort = 'http'; }],
  ['DaemonSet', {
    apiVersion: 'apps/v1', kind: 'DaemonSet', metadata: { name: 'd' },
    spec: { selector: { matchLabels: { a: 'b' } }, template: { spec: { containers: [{ name: 'c', image: 'i' }] } } },
  }, (o) => { delete o.spec.selector; }],
  ['Service', {
    apiVersion: 'v1', kind: 'Service', metadata: { name: 's' },
    spec: { ports: [{ name: 'm', port: 9080, targetPort: 'm' }] },
  }, (o) => { o.spec.ports[0].port = '9080'; }],
  ['ClusterRole', {
    apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: 'r' },
    rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['get'] }],
  }, (o) => { delete o.rules[0].verbs; }],
  ['HorizontalPodAutoscaler', {
    apiVersion: 'autoscaling/v2', kind: 'HorizontalPodAutoscaler', metadata: { name: 'h' },
    spec: { scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'x' }, maxReplicas: 3 },
  }, (o) => { delete o.spec.maxReplicas; }],
  ['ServiceMonitor', {
    apiVersion: 'monitoring.coreos.com/v1', kind: 'ServiceMonitor', metadata: { name: 's' },
    spec: { selector: {}, endpoints: [{ port: 'http-metrics' }] },
  }, (o) => { o.spec.endpoints[0].port = 9080; }],
  ['PrometheusRule', {
    apiVersion: 'monitoring.coreos.com/v1', kind: 'PrometheusRule', metadata: { name: 'p' },
    spec: { groups: [{ name: 'g', rules: [{ alert: 'A', expr: 'up == 0' }] }] },
  }, (o) => { delete o.spec.groups[0].name; }],
  ['ScaledObject', {
    apiVersion: 'keda.sh/v1alpha1', kind: 'ScaledObject', metadata: { name: 'so' },
    spec: { scaleTargetRef: { name: 'x' }, triggers: [{ type: 'prometheus', metadata: { query: 'q', threshold: '1', serverAddress: 'http://p:9090' } }] },
  }, (o) => { delete o.spec.triggers; }],
  ['ExternalSecret', {
    apiVersion: 'external-secrets.io/v1beta1', kind: 'ExternalSecret', metadata: { name: 'e' },
    spec: { secretStoreRef: { kind: 'ClusterSecretStore', name: 's' }, data: [{ secretKey: 'k', remoteRef: { key: 'a/b' } }] },
  }, (o) => { delete o.spec.data[0].remoteRef; }],
  ['Application', {
    apiVersion: 'argoproj.io/v1alpha1', kind: 'Application', metadata: { name: 'a' },
    spec: { project: 'default', source: { repoURL: 'https://x/y.git', path: 'p' }, destination: { server: 'https://kubernetes.default.svc' } },
  }, (o) => { delete o.spec.destination; }],
  ['unknown kind', {
    apiVersion: 'v1', kind: 'Service', metadata: { name: 'x' },
  }, (o) => { o.kind = 'Sevrice'; }],
  ['unknown group', {
    apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x' }, data: { a: 'b' },
  }, (o) => { o.apiVersion = 'example.com/v1'; }],
  ['ConfigMap data type', {
    apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x' }, data: { a: 'b' },
  }, (o) => { o.data.a = 1; }],
];

async function selfTest() {
  let failed = 0;
  for (const [name, good, breakIt] of CASES) {
    const okErrs = await validateObject(good);
    if (okErrs.length) {
      console.log(`FAIL ${name}: the valid object was rejected: ${okErrs.join('; ')}`);
      failed++;
    }
    const bad = structuredClone(good);
    breakIt(bad);
    const badErrs = await validateObject(bad);
    if (!badErrs.length) {
      console.log(`FAIL ${name}: the broken object was accepted`);
      failed++;
    }
  }
  console.log(`validate.mjs self-test: ${CASES.length * 2 - failed} passed, ${failed} failed`);
  return failed ? 1 : 0;
}

async function main(argv) {
  if (argv[0] === '--self-test') {
    return selfTest();
  }
  if (!argv.length) {
    console.error('usage: node validate.mjs objects.json ... | --self-test');
    return 2;
  }
  let failed = 0;
  let total = 0;
  for (const file of argv) {
    const objs = JSON.parse(readFileSync(file, 'utf8'));
    if (!Array.isArray(objs) || !objs.length) {
      console.log(`FAIL ${file}: expected a non-empty JSON array`);
      failed++;
      continue;
    }
    for (const obj of objs) {
      total++;
      const errs = await validateObject(obj);
      if (errs.length) {
        failed++;
        console.log(`FAIL ${file}: ${describe(obj)}: ${errs.join('; ')}`);
      }
    }
  }
  console.log(`validated ${total} objects: ${total - failed} passed, ${failed} failed`);
  return failed ? 1 : 0;
}

process.exitCode = await main(process.argv.slice(2));
