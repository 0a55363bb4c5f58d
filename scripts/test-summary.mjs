// Sums the vitest JSON reports of every package into one closing line: "tests: N passed, N failed".
import { readdirSync, readFileSync } from "node:fs"
import { join } from "node:path"

const dir = process.argv[2]
let passed = 0
let failed = 0
let skipped = 0
const files = readdirSync(dir).filter((f) => f.endsWith(".json"))
for (const f of files) {
  const r = JSON.parse(readFileSync(join(dir, f), "utf8"))
  passed += r.numPassedTests ?? 0
  failed += (r.numFailedTests ?? 0) + (r.numRuntimeErrorTestSuites ?? 0)
  skipped += (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0)
  if ((r.numFailedTestSuites ?? 0) > 0 && (r.numFailedTests ?? 0) === 0) failed += r.numFailedTestSuites
}
console.log(`reports: ${files.length} (${files.map((f) => f.replace(/\.json$/, "")).join(", ")})`)
console.log(`tests: ${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ""}`)
process.exit(failed > 0 || skipped > 0 || passed === 0 ? 1 : 0)
