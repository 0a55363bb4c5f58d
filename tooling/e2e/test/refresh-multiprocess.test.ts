/**
 * Cross-process refresh on the built CLI (apps/cli/dist/codex-auth.mjs) against the mock issuer
 * with strict refresh-token reuse detection (grace window 0: any replay is `refresh_token_reused`
 * and revokes the grant):
 *
 * - 16 `codex-auth token` processes started together on an expired token → exactly one refresh
 *   request reaches the issuer, every process prints the same new token, the rotated refresh
 *   token is stored and active.
 * - The lock holder is killed with SIGKILL while its refresh POST is held open by the mock: the
 *   kernel releases the lock at once, and the next `token` call succeeds promptly (this one runs
 *   against a mock with a reuse grace window, see below).
 * - A permanent rejection exits 3 ("sign in again"), leaves the marker, and the next process
 *   fails the same way without sending the dead token again.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process"
import { existsSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { fingerprint, type RunningMockIssuer, startMockIssuer } from "@codex-auth/mock-server"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { cleanEnv, cliPath, runCli } from "../src/Cli.ts"
import { existingCodexHome, readAuth, writeChatgptAuth } from "../src/RealCodex.ts"

let mock: RunningMockIssuer

beforeAll(async () => {
  if (!existsSync(cliPath)) throw new Error(`${cliPath} does not exist: build it first (pnpm turbo run build)`)
  mock = await startMockIssuer({ config: { tokens: { reuseGraceMs: 0 } } })
})
afterAll(() => mock?.close())

/** A CODEX_HOME holding mock-minted tokens whose access token expired two minutes ago. */
const expiredSession = async () => {
  const tokens = await mock.control.mintTokens({ accessTokenTtlSeconds: -120 })
  const codexHome = existingCodexHome()
  writeChatgptAuth(codexHome, tokens, new Date(Date.now() - 3600_000))
  return { tokens, codexHome, env: { CODEX_HOME: codexHome, CODEX_REFRESH_TOKEN_URL_OVERRIDE: `${mock.url}/oauth/token` } }
}

const refreshRequests = async () => (await mock.requests()).filter((r) => r.kind === "refresh_token")

/** Whether another process holds `$CODEX_HOME/codex-auth-refresh.lock` (held across a refresh POST) right now. */
const lockHeld = (codexHome: string): boolean =>
  spawnSync("flock", ["--nonblock", "--exclusive", join(codexHome, "codex-auth-refresh.lock"), "true"]).status !== 0

describe("refresh across processes (built CLI, strict reuse detection)", () => {
  it("16 processes at once on an expired token: one refresh request, one new token for all", async () => {
    await mock.control.reset()
    const { tokens, codexHome, env } = await expiredSession()
    // Hold the one refresh open a little, so the other processes pile up on the lock meanwhile.
    await mock.control.setFaults("refresh", [{ latencyMs: 300 }])
    const runs = await Promise.all(Array.from({ length: 16 }, () => runCli(["token"], { env, timeoutMs: 60_000 })))

    for (const r of runs) expect(r, r.stderr).toMatchObject({ code: 0 })
    const printed = new Set(runs.map((r) => r.stdout))
    expect(printed.size).toBe(1)
    const newToken = [...printed][0]!.trim()
    expect(newToken).not.toBe(tokens.access_token)
    expect(runs.every((r) => r.stdout === `${newToken}\n`)).toBe(true)

    const refreshes = await refreshRequests()
    expect(refreshes).toHaveLength(1)
    expect(refreshes[0]!.status).toBe(200)
    expect(refreshes[0]!.body).toEqual({
      client_id: "app_EMoamEEZ73f0CkXaXp7hrann",
      grant_type: "refresh_token",
      refresh_reason: "proactive_expiry",
      refresh_token: fingerprint(tokens.refresh_token)
    })
    expect(JSON.stringify(await mock.requests())).not.toContain("refresh_token_reused")

    const stored = readAuth(codexHome)
    expect(stored.tokens.access_token).toBe(newToken)
    expect(mock.engine.refreshTokenState(tokens.refresh_token)).toBe("rotated")
    expect(mock.engine.refreshTokenState(stored.tokens.refresh_token)).toBe("active")
    expect(Date.parse(stored.last_refresh)).toBeGreaterThan(Date.now() - 60_000)
    for (const r of runs) expect(r.stderr).not.toContain(tokens.refresh_token)
  })

  it("a permanent rejection exits 3 with 'sign in again'; the next process does not resend the dead token", async () => {
    await mock.control.reset()
    const { tokens, codexHome, env } = await expiredSession()
    await mock.control.expireTokens({ refresh: true })
    const first = await runCli(["token"], { env })
    expect(first.code).toBe(3)
    expect(first.stdout).toBe("")
    expect(first.stderr).toContain("refresh token has expired")
    expect(first.stderr.toLowerCase()).toContain("sign in again")
    expect(first.stderr).not.toContain(tokens.refresh_token)
    expect(existsSync(join(codexHome, ".codex-auth-reauth-required"))).toBe(true)
    expect(JSON.parse(readFileSync(join(codexHome, ".codex-auth-reauth-required"), "utf8")).reason).toBe("refresh_token_expired")
    expect(readAuth(codexHome).tokens.refresh_token).toBe(tokens.refresh_token)

    const second = await runCli(["token"], { env })
    expect(second.code).toBe(3)
    expect(await refreshRequests()).toHaveLength(1)

    // `login status` shows the verdict (it never refreshes).
    const status = await runCli(["login", "status", "--json"], { env })
    expect(JSON.parse(status.stdout).tokens.reauth_required).toMatchObject({ reason: "refresh_token_expired" })
    expect(status.code).toBe(3)
    const text = await runCli(["login", "status"], { env })
    expect(text.stdout).toContain("sign in again")
    expect(text.code).toBe(3)
    expect(await refreshRequests()).toHaveLength(1)
  })

  it("`login status` never refreshes; it reports that a refresh is due", async () => {
    await mock.control.reset()
    const { env } = await expiredSession()
    const status = await runCli(["login", "status", "--json"], { env })
    expect(status, status.stderr).toMatchObject({ code: 0 })
    const tokens = JSON.parse(status.stdout).tokens
    expect(tokens.refresh_due_now).toBe(true)
    expect(Date.parse(tokens.next_refresh_due)).toBeLessThan(Date.now())
    expect(tokens.reauth_required).toBeNull()
    expect(await refreshRequests()).toHaveLength(0)
  })
})

describe("kill -9 of the lock holder mid-refresh", () => {
  // The mock keeps processing a request whose client died (as a real server may), so the killed
  // holder's POST is applied ~1.5 s later, after the next process already rotated the token. An
  // issuer with a reuse grace window answers that late duplicate with the same successor; this
  // mock instance uses a 10 s window so the family survives, and the test checks it did.
  let graceful: RunningMockIssuer
  beforeAll(async () => {
    graceful = await startMockIssuer({ config: { tokens: { reuseGraceMs: 10_000 } } })
  })
  afterAll(() => graceful?.close())

  it("the kernel releases the lock at once and the next call succeeds promptly", async () => {
    const tokens = await graceful.control.mintTokens({ accessTokenTtlSeconds: -120 })
    const codexHome = existingCodexHome()
    writeChatgptAuth(codexHome, tokens, new Date(Date.now() - 3600_000))
    const env = { CODEX_HOME: codexHome, CODEX_REFRESH_TOKEN_URL_OVERRIDE: `${graceful.url}/oauth/token` }
    await graceful.control.setFaults("refresh", [{ latencyMs: 1500 }])
    const holder: ChildProcess = spawn(process.execPath, [cliPath, "token"], { env: cleanEnv(env), stdio: "ignore" })
    const exited = new Promise<void>((r) => holder.on("exit", () => r()))
    try {
      // Wait until the holder's refresh POST reached the mock (it takes the latency fault on
      // arrival and holds the request open 1.5 s), then check the holder has the refresh lock:
      // it is then inside the refresh. Sampling the lock alone is not enough: on a loaded machine
      // a holder can keep the lock for long before its POST goes out, and be killed unsent.
      const deadline = Date.now() + 15_000
      for (;;) {
        if (Date.now() > deadline) throw new Error("the first process never sent its refresh POST")
        if (graceful.engine.faults.snapshot()["refresh"] === undefined) break
        await new Promise((r) => setTimeout(r, 10))
      }
      expect(lockHeld(codexHome)).toBe(true)
    } finally {
      holder.kill("SIGKILL")
    }
    await exited
    expect(lockHeld(codexHome)).toBe(false)

    const started = Date.now()
    const next = await runCli(["token"], { env, timeoutMs: 20_000 })
    const elapsed = Date.now() - started
    expect(next, next.stderr).toMatchObject({ code: 0 })
    expect(elapsed).toBeLessThan(5_000)
    const stored = readAuth(codexHome)
    expect(next.stdout.trim()).toBe(stored.tokens.access_token)
    expect(stored.tokens.refresh_token).not.toBe(tokens.refresh_token)

    // Wait for the killed holder's late POST to be applied, then check nothing was revoked.
    const refreshes = async () => (await graceful.requests()).filter((r) => r.kind === "refresh_token")
    const until = Date.now() + 10_000
    while ((await refreshes()).length < 2 && Date.now() < until) await new Promise((r) => setTimeout(r, 50))
    const all = await refreshes()
    expect(all).toHaveLength(2)
    expect(all.every((r) => r.status === 200)).toBe(true)
    expect(graceful.engine.refreshTokenState(stored.tokens.refresh_token)).toBe("active")
  })
})
