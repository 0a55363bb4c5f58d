// The main job (README command 1): starts the embedded mock issuer (codex-auth-harness, HTTPS
// with a private CA generated now, auto-approve), then walks codex-auth through every sign-in
// path in a throwaway CODEX_HOME, printing each command and what it answered:
// device-code login, status, token, refresh (forced by expiring the token at the issuer),
// logout with revocation, then an API-key login. Exits non-zero if any step misbehaves.
import { spawn, spawnSync } from "node:child_process"
import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { dirname, join, resolve } from "node:path"
import { fileURLToPath } from "node:url"

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..")
const cli = join(root, "apps/cli/dist/codex-auth.mjs")
const harness = join(root, "apps/harness/dist/codex-auth-harness.mjs")
const work = mkdtempSync(join(tmpdir(), "codex-auth-demo-"))
const codexHome = join(work, "codex-home")
const tlsDir = join(work, "tls")
// Access tokens live 4 minutes: inside the 5-minute refresh window, so `token` refreshes at once.
const config = join(work, "mock.json")
writeFileSync(config, JSON.stringify({ tokens: { accessTokenTtlSeconds: 240, reuseGraceMs: 0 }, device: { intervalSeconds: 1 } }, null, 2))

const bold = (s) => (process.stdout.isTTY ? `\x1b[1m${s}\x1b[0m` : s)
const step = (title) => console.log(`\n${bold(`== ${title}`)}`)

const server = spawn(process.execPath, [harness, "serve", "--port", "0", "--tls", tlsDir, "--config", config, "--auto-approve"], { stdio: ["ignore", "pipe", "inherit"] })
const issuer = await new Promise((resolvePromise, reject) => {
  let out = ""
  const timer = setTimeout(() => reject(new Error("the mock issuer did not start within 20 s")), 20_000)
  server.stdout.setEncoding("utf8").on("data", (d) => {
    out += d
    const m = /^Issuer: (\S+)/m.exec(out)
    if (m) {
      clearTimeout(timer)
      resolvePromise(m[1])
    }
  })
  server.on("exit", (code) => reject(new Error(`the mock issuer exited (${code}) before it was ready`)))
})
const stop = () => server.kill("SIGTERM")
process.on("exit", stop)

const env = {
  ...process.env,
  CODEX_HOME: codexHome,
  CODEX_AUTH_ISSUER: issuer,
  CODEX_CA_CERTIFICATE: join(tlsDir, "ca.pem"),
  CODEX_API_KEY: "",
  CODEX_ACCESS_TOKEN: "",
  OPENAI_API_KEY: ""
}
let failures = 0
const run = (args, { input, expect = 0, show = true } = {}) => {
  console.log(`$ codex-auth ${args.join(" ")}${input !== undefined ? "   (stdin: an API key)" : ""}`)
  const r = spawnSync(process.execPath, [cli, ...args], { env, input, encoding: "utf8", timeout: 120_000 })
  if (show) {
    if (r.stdout.trim()) console.log(r.stdout.trimEnd().replace(/^/gm, "  "))
    if (r.stderr.trim()) console.log(r.stderr.trimEnd().replace(/^/gm, "  "))
  }
  console.log(`  [exit ${r.status}]`)
  if (r.status !== expect) {
    failures++
    console.log(`  !! expected exit ${expect}`)
  }
  return r
}

console.log(`Mock issuer: ${issuer} (HTTPS, CA ${join(tlsDir, "ca.pem")} via CODEX_CA_CERTIFICATE)`)
console.log(`CODEX_HOME:  ${codexHome}`)

step("Not signed in yet")
run(["login", "status"], { expect: 1 })

step("Sign in with ChatGPT using a device code (approved automatically by the mock)")
run(["login", "--device-auth"])
run(["login", "status"])

step("A token for scripts: the mock's access tokens expire within 5 minutes, so `token` refreshes (once, under the lock) and persists the rotated refresh token")
const { readFileSync } = await import("node:fs")
const before = JSON.parse(readFileSync(join(codexHome, "auth.json"), "utf8")).tokens?.refresh_token
const printed = run(["token"], { show: false }).stdout.trim()
const after = JSON.parse(readFileSync(join(codexHome, "auth.json"), "utf8")).tokens?.refresh_token
console.log(`  (printed an access token of ${printed.length} characters, not shown here)`)
console.log(before !== undefined && after !== before ? "  (auth.json now holds the rotated refresh token)" : "  (!! the refresh token did not rotate)")
if (!(before !== undefined && after !== before)) failures++

step("Sign out: revoke at the issuer, purge every store")
run(["logout"])
run(["login", "status"], { expect: 1 })

step("Sign in with an API key from stdin")
run(["login", "--with-api-key"], { input: "sk-demo-0123456789abcdef\n" })
run(["login", "status", "--json"])
run(["logout", "--local-only"])

stop()
console.log(failures === 0 ? `\n${bold("Demo complete: every step behaved.")}` : `\n${bold(`Demo finished with ${failures} unexpected result(s).`)}`)
process.exit(failures === 0 ? 0 : 1)
