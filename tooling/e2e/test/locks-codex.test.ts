/**
 * The credential locks against the real Codex CLI (0.169 from npm) on one CODEX_HOME:
 *
 * - **A slow codex-auth refresh does not block Codex.** `codex-auth token` waits 8 s on a refresh
 *   POST the mock holds open; meanwhile `codex login --with-api-key` saves in well under Codex's
 *   5 s commit-lock budget. codex-auth then sees that the credentials changed to an API key while
 *   its POST was out: it keeps Codex's key (auth.json is not overwritten), prints what is stored
 *   and revokes the refresh token it obtained.
 * - **A real `codex exec` refreshing while 32 `codex-auth token` processes run on the same expired
 *   token**: Codex saves (its refresh requests all answered 200, none resent later, as it would
 *   after a commit time-out), every codex-auth process exits 0 with the stored token, the session
 *   still refreshes afterwards, and codex-auth sent one refresh at most. A codex-auth refresh that
 *   went out while Codex's POST of the same token was in flight is a reuse codex-auth cannot see
 *   (Codex takes no lock before its POST); the test counts and prints those.
 *
 * Codex's model traffic goes to a local server that answers 400 (`chatgpt_base_url`), and every
 * other host to a dead proxy, so no run reaches the internet.
 */
import { spawn } from "node:child_process"
import { rmSync, writeFileSync } from "node:fs"
import { createServer, type Server } from "node:http"
import type { AddressInfo } from "node:net"
import { dirname, join } from "node:path"
import { fingerprint, type RecordedRequest, type RunningMockIssuer, startMockIssuer } from "@codex-auth/mock-server"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { cleanEnv, cliPath, runCli } from "../src/Cli.ts"
import { existingCodexHome, readAuth, startCodex, writeChatgptAuth } from "../src/RealCodex.ts"

let mock: RunningMockIssuer
let model: Server
let modelUrl: string
const modelBearers: Array<string> = []
const homes: Array<string> = []

beforeAll(async () => {
  mock = await startMockIssuer({ config: { tokens: { reuseGraceMs: 10_000 } } })
  model = createServer((req, res) => {
    const auth = req.headers.authorization
    if (auth !== undefined) modelBearers.push(auth.replace(/^Bearer /, ""))
    req.resume()
    res.writeHead(400, { "content-type": "application/json" })
    res.end(JSON.stringify({ error: { message: "no model here (codex-auth e2e)", type: "invalid_request_error" } }))
  })
  await new Promise<void>((resolve) => model.listen(0, "127.0.0.1", () => resolve()))
  modelUrl = `http://127.0.0.1:${(model.address() as AddressInfo).port}/backend-api`
})
afterAll(async () => {
  await mock?.close()
  await new Promise<void>((resolve) => (model === undefined ? resolve() : model.close(() => resolve())))
  for (const h of homes) rmSync(dirname(h), { recursive: true, force: true })
})

const expiredSession = async () => {
  const tokens = await mock.control.mintTokens({ accessTokenTtlSeconds: -120 })
  const codexHome = existingCodexHome()
  homes.push(codexHome)
  writeChatgptAuth(codexHome, tokens, new Date(Date.now() - 3600_000))
  writeFileSync(join(codexHome, "config.toml"), `chatgpt_base_url = "${modelUrl}"\n`)
  const env = {
    CODEX_HOME: codexHome,
    CODEX_REFRESH_TOKEN_URL_OVERRIDE: `${mock.url}/oauth/token`,
    CODEX_REVOKE_TOKEN_URL_OVERRIDE: `${mock.url}/oauth/revoke`,
    CODEX_MANAGED_CONFIG_PATH: join(codexHome, "no-managed.toml"),
    CODEX_REQUIREMENTS_PATH: join(codexHome, "no-requirements.toml"),
    HTTPS_PROXY: "http://127.0.0.1:9",
    HTTP_PROXY: "http://127.0.0.1:9",
    NO_PROXY: "127.0.0.1,localhost"
  }
  return { tokens, codexHome, env }
}

/** Resolves once the mock took the queued refresh fault, i.e. a refresh POST has arrived and is being held. */
const refreshArrived = async (timeoutMs = 20_000) => {
  const deadline = Date.now() + timeoutMs
  while (mock.engine.faults.snapshot()["refresh"] !== undefined) {
    if (Date.now() > deadline) throw new Error("no refresh POST reached the mock")
    await new Promise((r) => setTimeout(r, 20))
  }
}

const startCli = (args: ReadonlyArray<string>, env: Record<string, string>) => {
  const child = spawn(process.execPath, [cliPath, ...args], { env: cleanEnv(env), stdio: ["ignore", "pipe", "pipe"] })
  let stdout = ""
  let stderr = ""
  child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d))
  child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d))
  const killer = setTimeout(() => child.kill("SIGKILL"), 90_000)
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) =>
    child.on("close", (code) => {
      clearTimeout(killer)
      resolve({ code, stdout, stderr })
    })
  )
}

const refreshes = async (): Promise<Array<RecordedRequest>> => (await mock.requests()).filter((r) => r.kind === "refresh_token")
const sentToken = (r: RecordedRequest) => (r.body as { refresh_token: string }).refresh_token
const isOurs = (r: RecordedRequest) => (r.headers["user-agent"] ?? "").startsWith("codex-auth/")

describe("codex-auth beside the real Codex CLI", () => {
  it("a codex-auth refresh held 8 s by the issuer: `codex login --with-api-key` meanwhile saves in under 5 s and keeps its key", async () => {
    await mock.control.reset()
    const { env, codexHome } = await expiredSession()
    await mock.control.setFaults("refresh", [{ latencyMs: 8000 }])
    const ours = startCli(["token"], env)
    await refreshArrived()

    const started = Date.now()
    const login = await startCodex(["login", "--with-api-key"], { env, timeoutMs: 30_000, input: "sk-codex-e2e-lock-0123456789abcdef\n" }).exit
    const elapsed = Date.now() - started
    expect(login.code, login.output).toBe(0)
    expect(elapsed, `codex login took ${elapsed} ms`).toBeLessThan(5000)
    console.log(`codex login --with-api-key beside a codex-auth refresh held 8 s: saved in ${elapsed} ms`)
    expect(readAuth(codexHome)).toMatchObject({ auth_mode: "apikey", OPENAI_API_KEY: "sk-codex-e2e-lock-0123456789abcdef" })

    const r = await ours
    expect(r.code, r.stderr).toBe(0)
    // codex-auth's POST came back after Codex saved an API key: it keeps Codex's key and prints it.
    expect(r.stdout.trim()).toBe("sk-codex-e2e-lock-0123456789abcdef")
    expect(r.stderr).toMatch(/^warning: the stored credentials changed while a refresh was in flight \(an API key was stored\)/m)
    expect(readAuth(codexHome)).toMatchObject({ auth_mode: "apikey", OPENAI_API_KEY: "sk-codex-e2e-lock-0123456789abcdef" })
    // The refresh token it obtained and will not store is revoked, not left live.
    const reqs = await mock.requests()
    expect(reqs.filter((q) => q.kind === "refresh_token").map((q) => q.status)).toEqual([200])
    expect(reqs.filter((q) => q.kind === "revoke").map((q) => q.status)).toEqual([200])
  }, 60_000)

  it("a real `codex exec` refreshing while 32 `codex-auth token` run on the same expired token: Codex saves, all 32 print the stored token, the session lives on", async () => {
    await mock.control.reset()
    modelBearers.length = 0
    const { env, codexHome, tokens } = await expiredSession()
    // Hold Codex's first refresh POST for 1.5 s, so the 32 start while it is out.
    await mock.control.setFaults("refresh", [{ latencyMs: 1500 }])
    const codex = startCodex(["exec", "--skip-git-repo-check", "say hi"], { env, timeoutMs: 90_000 })
    await refreshArrived()
    const storm = Array.from({ length: 32 }, () => startCli(["token"], env))
    const results = await Promise.all(storm)
    const exec = await codex.exit

    expect(exec.output).not.toMatch(/commit lock timed out/i)
    const final = readAuth(codexHome)
    expect(final.tokens.refresh_token).not.toBe(tokens.refresh_token)
    expect(mock.engine.refreshTokenState(final.tokens.refresh_token)).toBe("active")
    for (const r of results) {
      expect(r.code, r.stderr).toBe(0)
      expect(r.stdout.trim()).toBe(final.tokens.access_token)
    }
    // Codex used the rotated access token afterwards (its model requests carry it).
    expect(modelBearers).toContain(final.tokens.access_token)

    const sent = await refreshes()
    const codexSends = sent.filter((r) => !isOurs(r))
    const ourSends = sent.filter(isOurs)
    expect(codexSends.length, "Codex refreshed").toBeGreaterThanOrEqual(1)
    expect(sent.every((r) => r.status === 200), JSON.stringify(sent.map((r) => [r.status, r.headers["user-agent"]]))).toBe(true)
    // Codex sent only the token it started with (a commit time-out would make it resend later).
    expect(new Set(codexSends.map(sentToken))).toEqual(new Set([fingerprint(tokens.refresh_token)]))
    expect(ourSends.length, "codex-auth sends one refresh at most for 32 processes").toBeLessThanOrEqual(1)
    const spentBefore = ourSends.filter((o) => sent.some((s) => s.seq < o.seq && sentToken(s) === sentToken(o))).length
    console.log(`codex exec + 32 codex-auth token: Codex sent ${codexSends.length} refresh POST(s), codex-auth ${ourSends.length}, of which ${spentBefore} carried a token Codex's in-flight POST had already spent`)

    // The session still refreshes: expire the access token again and let codex-auth refresh it.
    const doc = readAuth(codexHome)
    const payload = JSON.parse(Buffer.from(doc.tokens.access_token.split(".")[1], "base64url").toString())
    const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString("base64url")
    doc.tokens.access_token = `${b64({ alg: "none", typ: "JWT" })}.${b64({ ...payload, exp: Math.floor(Date.now() / 1000) - 60 })}.c2ln`
    writeFileSync(join(codexHome, "auth.json"), JSON.stringify(doc, null, 2), { mode: 0o600 })
    const after = await runCli(["token"], { env, timeoutMs: 30_000 })
    expect(after.code, after.stderr).toBe(0)
    expect(after.stdout.trim()).toBe(readAuth(codexHome).tokens.access_token)
    expect((await refreshes()).at(-1)?.status).toBe(200)
  }, 120_000)
})
