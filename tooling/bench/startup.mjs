// Startup benchmark (`pnpm bench:startup [runs]`, after `pnpm --filter codex-auth build`):
// wall time of `codex-auth login status` and `codex-auth token` beside bare `node -e 0`, measured
// in the same run with the three commands interleaved, as a ratio of medians. Target: <= 1.50x.
//
// Three configurations, each with its own temporary caches, warmed by one run of each command:
// - NODE_COMPILE_CACHE unset (what users get), the CLI's own V8 code cache on (the default);
// - NODE_COMPILE_CACHE set (Node's module compile cache; it only covers the small entry file);
// - CODEX_AUTH_CODE_CACHE=0 (no code cache at all: the cost of a first run, every run).
// The CODEX_HOME holds a ChatGPT login whose access token is valid for an hour, so `token` prints
// it without a refresh (a refresh is network-bound and runs through the full CLI), and a typical
// config.toml.
// Prints figures; asserts nothing (set BENCH_MAX_RATIO to exit 1 above a ratio).
import { spawnSync } from "node:child_process"
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { dirname, join, resolve } from "node:path"
import { fileURLToPath } from "node:url"

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..")
// BENCH_CLI: another build of the bundle, e.g. an older one to compare with.
const cli = resolve(process.env.BENCH_CLI ?? join(root, "apps/cli/dist/codex-auth.mjs"))
const runs = Number(process.argv[2] ?? 30)
const tmp = mkdtempSync(join(tmpdir(), "codex-auth-bench-"))
const home = join(tmp, "home")
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
// A config.toml as Codex users have one (codex-auth reads it at every start: store mode, policy).
writeFileSync(join(home, "config.toml"), [
  'model = "gpt-5-codex"',
  'model_reasoning_effort = "high"',
  'approval_policy = "on-request"',
  'sandbox_mode = "workspace-write"',
  'cli_auth_credentials_store = "file"',
  "",
  "[sandbox_workspace_write]",
  "network_access = false",
  "",
  "[mcp_servers.docs]",
  'command = "npx"',
  'args = ["-y", "@acme/docs-mcp"]',
  'env = { DOCS_API = "https://docs.example.com" }',
  "",
  "[profiles.fast]",
  'model = "gpt-5-mini"',
  ""
].join("\n"))

const baseEnv = { ...process.env, CODEX_HOME: home, CODEX_MANAGED_CONFIG_PATH: join(home, "none.toml"), CODEX_REQUIREMENTS_PATH: join(home, "none2.toml") }
for (const k of ["NODE_COMPILE_CACHE", "NODE_OPTIONS", "CODEX_AUTH_CODE_CACHE", "CODEX_API_KEY", "CODEX_ACCESS_TOKEN", "BENCH_CLI", "BENCH_MAX_RATIO"]) delete baseEnv[k]

const cases = [
  { name: "node -e 0", args: ["-e", "0"], check: () => true },
  { name: "codex-auth login status", args: [cli, "login", "status"], check: (r) => r.stdout.startsWith("Logged in using ChatGPT") },
  { name: "codex-auth token", args: [cli, "token"], check: (r) => r.stdout === `${jwt}\n` }
]

const time = (env, c) => {
  const t = process.hrtime.bigint()
  const r = spawnSync(process.execPath, c.args, { env, stdio: ["ignore", "pipe", "pipe"], encoding: "utf8" })
  const ms = Number(process.hrtime.bigint() - t) / 1e6
  if (r.status !== 0 || !c.check(r)) throw new Error(`${c.name} exited ${r.status}: ${r.stdout}${r.stderr}`)
  return ms
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length % 2 === 1 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2
}

const configurations = [
  { label: "NODE_COMPILE_CACHE unset, code cache on (default)", env: {} },
  { label: "NODE_COMPILE_CACHE set", env: { NODE_COMPILE_CACHE: join(tmp, "node-compile-cache") } },
  { label: "no cache at all (CODEX_AUTH_CODE_CACHE=0, NODE_COMPILE_CACHE unset)", env: { CODEX_AUTH_CODE_CACHE: "0" } }
]

console.log(`startup benchmark: ${cli}, ${runs} interleaved runs per command, Node ${process.version} ${process.platform}-${process.arch}`)
let worst = 0
for (const [i, conf] of configurations.entries()) {
  const env = { ...baseEnv, XDG_CACHE_HOME: join(tmp, `cache-${i}`), ...conf.env }
  for (const c of cases) time(env, c) // warm the page cache and write the caches
  const samples = cases.map(() => [])
  for (let r = 0; r < runs; r++) for (const [j, c] of cases.entries()) samples[j].push(time(env, c))
  const base = median(samples[0])
  console.log(`\n${conf.label}`)
  for (const [j, c] of cases.entries()) {
    const m = median(samples[j])
    const ratio = m / base
    if (i < 2 && j > 0) worst = Math.max(worst, ratio)
    console.log(`  ${c.name.padEnd(24)} median ${m.toFixed(1).padStart(6)} ms   min ${Math.min(...samples[j]).toFixed(1).padStart(6)} ms   ratio ${ratio.toFixed(2)}x`)
  }
}
console.log(`\ntarget: ratio <= 1.50x for login status and token with the caches on (worst here: ${worst.toFixed(2)}x)`)
rmSync(tmp, { recursive: true, force: true })
const max = Number(process.env.BENCH_MAX_RATIO ?? Number.POSITIVE_INFINITY)
if (worst > max) process.exitCode = 1
