// Parse LogQL expressions (one JSON string per stdin line) with Grafana's own
// Lezer grammar, the parser Grafana's query editor uses; print one line per
// expression: "ok" or "error at <offset>". Exit 1 if any failed.
const { parser } = require('@grafana/lezer-logql');
const lines = require('fs').readFileSync(0, 'utf8').split('\n').filter((l) => l.length);
let failed = 0;
for (const line of lines) {
  const q = JSON.parse(line);
  let at = -1;
  parser.parse(q).iterate({
    enter: (n) => {
      if (n.type.isError && at < 0) at = n.from;
    },
  });
  if (at >= 0) failed++;
  console.log(at < 0 ? 'ok' : 'error at ' + at);
}
process.exit(failed ? 1 : 0);
