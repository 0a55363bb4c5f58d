// AuthManager benchmarks (figures for docs/auth-manager.md; asserts nothing, exits 0):
// hot-path `accessToken` calls per second, and refresh-storm wall times for N processes of the
// built CLI calling `codex-auth token` together on an expired token, as a ratio to one process.
// The implementation is tooling/bench/src/AuthManagerBench.ts (run by Node's type stripping).
// Usage: pnpm bench:auth [--calls N] [--runs N] [--sizes 1,16,64] [--skip-storm]
//        (after the build; scripts/env.sh puts Node 24 on PATH)
import { availableParallelism, cpus } from "node:os"
import { parseArgs } from "node:util"

const { values } = parseArgs({
  options: {
    calls: { type: "string", default: "5000000" },
    runs: { type: "string", default: "3" },
    sizes: { type: "string", default: "1,16,64" },
    "skip-storm": { type: "boolean", default: false }
  }
})
const { hotPath, lockPair, storms } = await import("./src/AuthManagerBench.ts")

console.log(`machine: ${availableParallelism()} CPUs (${cpus()[0]?.model ?? "unknown"}), Node ${process.versions.node}`)
const hot = await hotPath({ calls: Number(values.calls) })
const fmt = (n) => Math.round(n).toLocaleString("en-US")
console.log("\nhot path (valid cached token, file store, change check every 250 ms):")
console.log(`  accessToken, inside one Effect program:   ${fmt(hot.callsPerSecondInEffect)} calls/s (${hot.seconds.toFixed(2)} s run, ${hot.changeChecks} stat calls)`)
console.log(`  authorizationHeaders, inside one program: ${fmt(hot.headersPerSecondInEffect)} calls/s`)
console.log(`  accessToken, one Effect.runSync per call: ${fmt(hot.callsPerSecondRunSync)} calls/s`)
console.log(`  cachedAccessToken() (synchronous):        ${fmt(hot.callsPerSecondCachedSync)} calls/s`)

const lock = await lockPair(10_000)
console.log("\ncredential lock (in-process flock(2) / LockFileEx through koffi):")
console.log(`  first acquisition (loads the native module): ${lock.firstLoadMs.toFixed(1)} ms`)
console.log(`  uncontended acquire + release:              ${lock.microsPerPair.toFixed(1)} µs (open, lock, unlock, close)`)

if (!values["skip-storm"]) {
  const sizes = values.sizes.split(",").map(Number)
  const { rows } = await storms(sizes, Number(values.runs))
  console.log(`\nrefresh storm (built CLI \`codex-auth token\`, expired token, strict mock issuer; median of ${values.runs}):`)
  console.log("  processes | wall time (refresh) | same N, valid token | ratio expired/valid | first start to POST | refresh requests | distinct tokens | failures")
  for (const r of rows) {
    console.log(
      `  ${String(r.processes).padStart(9)} | ${`${r.refreshMs.toFixed(0)} ms`.padStart(19)} | ${`${r.baselineMs.toFixed(0)} ms`.padStart(19)} | ${`${r.ratio.toFixed(2)}`.padStart(19)} | ${`${r.postMs.toFixed(0)} ms`.padStart(19)} | ${String(r.refreshRequests).padStart(16)} | ${String(r.distinctTokens).padStart(15)} | ${String(r.failures).padStart(8)}`
    )
  }
}
