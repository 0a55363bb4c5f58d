/**
 * Fidelity: the real Codex CLI refreshes against the mock (`CODEX_REFRESH_TOKEN_URL_OVERRIDE`)
 * when its access token has expired, persists the rotated refresh token, and treats
 * `refresh_token_reused` / `_expired` / `_invalidated` as permanent (it drops the session)
 * while riding out 5xx as transient.
 *
 * `codex doctor --json` refreshes without needing a model; `codex app-server` with
 * `account/read {refreshToken: true}` shows the CLI's own verdict on the session. (Neither sends
 * the same refresh token twice in 0.169; the reuse grace window is covered by the mock's own
 * tests.)
 */
import { fingerprint, type RunningMockIssuer, startMockIssuer } from "@codex-auth/mock-server"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { existingCodexHome, readAuth, runCodexAsync, startAppServer, writeChatgptAuth } from "../src/RealCodex.ts"

let mock: RunningMockIssuer

beforeAll(async () => {
  mock = await startMockIssuer({})
})
afterAll(() => mock.close())

/** A CODEX_HOME whose auth.json holds mock-minted tokens with an already expired access token. */
const expiredSession = async (email = "user@example.com") => {
  const tokens = await mock.control.mintTokens({ email, accessTokenTtlSeconds: -120 })
  const codexHome = existingCodexHome()
  writeChatgptAuth(codexHome, tokens, new Date(Date.now() - 3600_000))
  return { tokens, codexHome, env: { CODEX_HOME: codexHome, CODEX_REFRESH_TOKEN_URL_OVERRIDE: `${mock.url}/oauth/token` } }
}

const refreshesOf = async (token: string) => (await mock.requests()).filter((r) => r.kind === "refresh_token" && (r.body as { refresh_token?: string }).refresh_token === fingerprint(token))

describe("real Codex CLI: refresh against the mock", () => {
  it("an expired access token makes `codex doctor` refresh; the rotated tokens are persisted with a new last_refresh", async () => {
    const { tokens, codexHome, env } = await expiredSession()
    const before = readAuth(codexHome)
    const run = await runCodexAsync(["doctor", "--json"], { env })
    expect(run.output).toContain("auth is configured")

    const sent = await refreshesOf(tokens.refresh_token)
    expect(sent.length).toBeGreaterThanOrEqual(1)
    expect(sent[0]!.headers["content-type"]).toBe("application/json")
    expect(sent[0]!.body).toEqual({ client_id: "app_EMoamEEZ73f0CkXaXp7hrann", grant_type: "refresh_token", refresh_reason: "proactive_expiry", refresh_token: fingerprint(tokens.refresh_token) })
    expect(sent.every((r) => r.status === 200)).toBe(true)

    const after = readAuth(codexHome)
    expect(after.tokens.refresh_token).not.toBe(tokens.refresh_token)
    expect(mock.engine.refreshTokenState(tokens.refresh_token)).toBe("rotated")
    expect(mock.engine.refreshTokenState(after.tokens.refresh_token)).toBe("active")
    const accessExp = JSON.parse(Buffer.from(after.tokens.access_token.split(".")[1], "base64url").toString()).exp
    expect(accessExp * 1000).toBeGreaterThan(Date.now() + 3000_000)
    expect(Date.parse(after.last_refresh)).toBeGreaterThan(Date.parse(before.last_refresh))
  })

  for (const [reason, spoil] of [
    ["refresh_token_reused", async (t: string) => void (await fetch(`${mock.url}/oauth/token`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ client_id: "app_EMoamEEZ73f0CkXaXp7hrann", grant_type: "refresh_token", refresh_token: t }) }))],
    ["refresh_token_expired", async () => void (await mock.control.expireTokens({ email: "team@example.com", refresh: true }))],
    ["refresh_token_invalidated", async () => void (await mock.control.revokeAccount("team@example.com"))]
  ] as const) {
    it(`401 ${reason} is permanent for the real CLI: it stops retrying and reports no account`, async () => {
      await mock.control.reset()
      const { tokens, codexHome, env } = await expiredSession("team@example.com")
      await spoil(tokens.refresh_token)
      // Past the 2 s reuse grace window without sleeping: move the issuer's clock instead.
      if (reason === "refresh_token_reused") await mock.control.setClockOffset(3)
      const server = await startAppServer({ env })
      let account: unknown
      try {
        account = await server.request("account/read", { refreshToken: true })
      } finally {
        await server.close()
      }
      expect(account).toMatchObject({ account: null, requiresOpenaiAuth: true })
      const sent = (await refreshesOf(tokens.refresh_token)).filter((r) => r.headers["originator"] !== undefined)
      expect(sent.length).toBeGreaterThanOrEqual(1)
      expect(sent.length).toBeLessThanOrEqual(2)
      expect(sent.every((r) => r.status === 401)).toBe(true)
      expect(readAuth(codexHome).tokens.refresh_token).toBe(tokens.refresh_token)
    })
  }

  it("HTTP 503 is transient for the real CLI: it retries and keeps the session", async () => {
    await mock.control.reset()
    const { tokens, codexHome, env } = await expiredSession()
    await mock.control.setFaults("refresh", [{ status: 503, times: 50 }])
    const server = await startAppServer({ env })
    try {
      const account = await server.request("account/read", { refreshToken: true }).catch((e: Error) => e)
      expect(account).not.toMatchObject({ account: null, requiresOpenaiAuth: true })
    } finally {
      await server.close()
      await mock.control.clearFaults()
    }
    const sent = await refreshesOf(tokens.refresh_token)
    expect(sent.length).toBeGreaterThan(2)
    expect(sent.every((r) => r.fault === "status:503")).toBe(true)
    expect(readAuth(codexHome).tokens.refresh_token).toBe(tokens.refresh_token)
    expect(mock.engine.refreshTokenState(tokens.refresh_token)).toBe("active")
  })
})
