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
// skip. Two passes:
//   1. the packages' JSON-schema validators (types, required fields, enums);
//   2. unknown fields: the OpenAPI schemas do not forbid them (the API server
//      would, with strict field validation), so every object is also
//      type-checked by the TypeScript compiler against the same packages'
//      generated interfaces, whose excess-property check names any field
//      the schema does not have (a typo like `readOnlyRootFilesytem`).
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));

// apiVersion group -> module prefix. Core Kubernetes groups live in
// kubernetes-models under their group name; the CRDs in their own package.
const CRD_PACKAGES = {
  'monitoring.coreos.com': '@kubernetes-models/prometheus-operator/monitoring.coreos.com',
  'keda.sh': '@kubernetes-models/keda/keda.sh',
  'external-secrets.io': '@kubernetes-models/external-secrets/external-secrets.io',
  'argoproj.io': '@kubernetes-models/argo-cd/argoproj.io',
};

function moduleFor(apiVersion) {
  if (typeof apiVersion !== 'string') {
    throw new Error('apiVersion must be a string');
  }
  const slash = apiVersion.indexOf('/');
  const group = slash < 0 ? '' : apiVersion.slice(0, slash);
  const version = slash < 0 ? apiVersion : apiVersion.slice(slash + 1);
  if (group === '') {
    return `kubernetes-models/${version}`;
  }
  if (CRD_PACKAGES[group]) {
    return `${CRD_PACKAGES[group]}/${version}`;
  }
  if (group.endsWith('.k8s.io') || !group.includes('.')) {
    return `kubernetes-models/${group}/${version}`;
  }
  throw new Error(`no schema package for API group ${group}`);
}

async function modelFor(apiVersion, kind) {
  if (typeof kind !== 'string') {
    throw new Error('kind must be a string');
  }
  const spec = moduleFor(apiVersion);
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

// Pass 2 for a list of objects that passed pass 1: returns one error list
// per object. One TypeScript program for all of them (~2 s), written under
// node_modules/.cache so the packages resolve as they do for this script.
export async function unknownFields(objs) {
  const ts = (await import('typescript')).default;
  const cache = join(HERE, 'node_modules', '.cache');
  mkdirSync(cache, { recursive: true });
  const dir = mkdtempSync(join(cache, 'frond-fields-'));
  const errors = objs.map(() => []);
  try {
    const imports = new Map();
    const lines = [];
    const lineOf = [];
    objs.forEach((obj, i) => {
      const spec = `${moduleFor(obj.apiVersion)}/${obj.kind}`;
      if (!imports.has(spec)) {
        imports.set(spec, `T${imports.size}`);
      }
      lineOf.push(i);
      lines.push(`export const o${i}: ${imports.get(spec)} = ${JSON.stringify(obj)};`);
    });
    const head = [...imports].map(
      ([spec, alias]) => `import type { I${spec.split('/').pop()} as ${alias} } from ${JSON.stringify(spec)};`);
    const file = join(dir, 'objects.ts');
    writeFileSync(file, head.concat(lines).join('\n') + '\n');
    const program = ts.createProgram([file], {
      noEmit: true, strict: true, skipLibCheck: true, types: [],
      module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext,
      target: ts.ScriptTarget.ES2022,
    });
    for (const d of ts.getPreEmitDiagnostics(program)) {
      const msg = ts.flattenDiagnosticMessageText(d.messageText, ' ');
      if (!d.file || d.file.fileName !== file.replaceAll('\\', '/')) {
        throw new Error(`type check setup: ${msg}`);
      }
      const line = d.file.getLineAndCharacterOfPosition(d.start).line - head.length;
      if (line < 0 || line >= lineOf.length) {
        throw new Error(`type check setup: ${msg}`);
      }
      errors[lineOf[line]].push(msg.length > 300 ? msg.slice(0, 300) + '...' : msg);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return errors;
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
  // Unknown fields, at several depths and in CRDs: pass 1 accepts them, pass 2 must not.
  const TYPOS = [
    (o) => { o.spec.template.spec.containers[0].imagePullPolicyy = 'Always'; },
    (o) => { o.spec.selectr = {}; },
    (o) => { o.metadata.lables = {}; },
  ];
  const good = CASES.filter(([name]) => !name.startsWith('unknown') && !name.startsWith('ConfigMap'))
    .map(([, g]) => g);
  const probes = [...good];
  const typoed = [];
  for (const t of TYPOS) {
    const o = structuredClone(CASES[0][1]);
    t(o);
    typoed.push(probes.length);
    probes.push(o);
  }
  for (const [name, patch] of [
    ['ServiceMonitor', (o) => { o.spec.endpoints[0].portt = 'x'; }],
    ['ExternalSecret', (o) => { o.spec.refreshIntervall = '1h'; }],
    ['ScaledObject', (o) => { o.spec.triggers[0].metdata = {}; }],
    ['Application', (o) => { o.spec.syncPolicy = { automated: { prunee: true } }; }],
    ['PrometheusRule', (o) => { o.spec.groups[0].rules[0].fo = '5m'; }],
  ]) {
    const o = structuredClone(CASES.find(([n]) => n === name)[1]);
    patch(o);
    typoed.push(probes.length);
    probes.push(o);
  }
  const res = await unknownFields(probes);
  res.forEach((errs, i) => {
    const expectErr = typoed.includes(i);
    if (expectErr !== (errs.length > 0)) {
      console.log(`FAIL unknown-field check on ${describe(probes[i])}: ${expectErr ? 'missed a typo' : errs.join('; ')}`);
      failed++;
    }
  });
  const total = CASES.length * 2 + probes.length;
  console.log(`validate.mjs self-test: ${total - failed} passed, ${failed} failed`);
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
  const passed1 = [];
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
      } else {
        passed1.push([file, obj]);
      }
    }
  }
  const res = await unknownFields(passed1.map(([, o]) => o));
  res.forEach((errs, i) => {
    if (errs.length) {
      failed++;
      console.log(`FAIL ${passed1[i][0]}: ${describe(passed1[i][1])}: ${errs.join('; ')}`);
    }
  });
  console.log(`validated ${total} objects: ${total - failed} passed, ${failed} failed`);
  return failed ? 1 : 0;
}

process.exitCode = await main(process.argv.slice(2));
