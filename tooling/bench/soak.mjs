// Concurrency soak (figures for docs/reliability.md): many processes log in, refresh, read status
// and log out on one CODEX_HOME against the mock issuer with strict refresh-token reuse detection,
// for a bounded time; prints operations, failures by kind, lock waits and what the issuer saw.
// Exits 1 if anything failed. The harness is tooling/e2e/src/reliability/soak.ts (run by Node's type
// stripping); the CI-sized run is tooling/e2e/test/reliability-soak.test.ts.
// Usage: node tooling/bench/soak.mjs [--duration SECONDS] [--workers N] [--cli N] [--nolock]
//        (after the build; scripts/env.sh puts Node 24 on PATH)
import { parseArgs } from "node:util"

const { values } = parseArgs({
  options: {
    duration: { type: "string", default: "30" },
    workers: { type: "string", default: "24" },
    cli: { type: "string", default: "4" },
    nolock: { type: "boolean", default: false }
  }
})
const { runSoak, formatSoak } = await import("../e2e/src/reliability/soak.ts")
const report = await runSoak({
  durationMs: Number(values.duration) * 1000,
  workers: Number(values.workers),
  cliSlots: Number(values.cli),
  kind: values.nolock ? "nolock" : "safe"
})
console.log(formatSoak(report))
process.exitCode = Object.keys(report.failures).length === 0 ? 0 : 1
