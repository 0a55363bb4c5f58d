// Startup benchmark: wall time of `codex-auth login status` and `codex-auth token` beside bare
// `node -e 0`, measured in the same run, as a ratio. Prints figures; asserts nothing.
// Usage: node tooling/bench/startup.mjs [runs]   (after the build; scripts/env.sh puts Node 24 on PATH)
import { spawnSync } from "node:child_process"
import { mkdtempSync, writeFileSync, mkdirSync } from "node:fs"
import { tmpdir } from "node:os"
import { dirname, join, resolve } from "node:path"
import { fileURLToPath } from "node:url"

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..")
const cli = join(root, "apps/cli/dist/codex-auth.mjs")
const runs = Number(process.argv[2] ?? 30)
const home = join(mkdtempSync(join(tmpdir(), "codex-auth-bench-")), "home")
mkdirSync(home, { recursive: true, mode: 0o700 })
const b64 = (v) => Buffer.from(JSON.stringify(v)).toString("base64url")
const exp = Math.floor(Date.now() / 1000) + 3600
const claims = { email: "bench@example.com", exp, "https://api.openai.com/auth": { chatgpt_plan_type: "plus", chatgpt_account_id: "ws-bench" } }
const jwt = `${b64({ alg: "none" })}.${b64(claims)}.sig`
writeFileSync(join(home, "auth.json"), JSON.stringify({
  auth_mode: "chatgpt", OPENAI_API_KEY: null,
  tokens: { id_token: jwt, access_token: jwt, refresh_token: "rt", account_id: "ws-bench" },
  last_refresh: new Date().toISOString()
}, null, 2), { mode: 0o600 })

const env = { ...process.env, CODEX_HOME: home, CODEX_MANAGED_CONFIG_PATH: join(home, "none.toml"), CODEX_REQUIREMENTS_PATH: join(home, "none2.toml") }
const time = (args) => {
  const t = process.hrtime.bigint()
  const r = spawnSync(process.execPath, args, { env, stdio: ["ignore", "pipe", "pipe"] })
  const ms = Number(process.hrtime.bigint() - t) / 1e6
  if (r.status !== 0) throw new Error(`${args.join(" ")} exited ${r.status}: ${r.stderr}`)
  return ms
}
const cases = {
  "node -e 0": ["-e", "0"],
  "codex-auth login status": [cli, "login", "status"],
  "codex-auth token": [cli, "token"]
}
for (const args of Object.values(cases)) time(args) // warm the page cache and Node's compile cache
const samples = Object.fromEntries(Object.keys(cases).map((k) => [k, []]))
for (let i = 0; i < runs; i++) for (const [k, args] of Object.entries(cases)) samples[k].push(time(args))
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
const base = median(samples["node -e 0"])
console.log(`startup benchmark: ${runs} runs each, Node ${process.version}, NODE_COMPILE_CACHE=${process.env.NODE_COMPILE_CACHE ?? "(unset)"}`)
for (const [k, xs] of Object.entries(samples)) {
  const m = median(xs)
  console.log(`${k.padEnd(26)} median ${m.toFixed(1).padStart(6)} ms   min ${Math.min(...xs).toFixed(1).padStart(6)} ms   ratio ${(m / base).toFixed(2)}x`)
}
console.log("target: ratio <= 1.50x for login status and token")
