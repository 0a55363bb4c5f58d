/**
 * `codex-auth token` when the refresh is due but the issuer fails transiently: the still-valid
 * token is printed (exit 0), stderr says why it is not a fresh one, and nothing is lost.
 */
import { type RunningMockIssuer, startMockIssuer } from "@codex-auth/mock-server"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { runCli } from "../src/Cli.ts"
import { existingCodexHome, readAuth, writeChatgptAuth } from "../src/RealCodex.ts"

let mock: RunningMockIssuer
beforeAll(async () => {
  mock = await startMockIssuer({ config: { tokens: { reuseGraceMs: 0 } } })
})
afterAll(() => mock?.close())

describe("token with a transient refresh failure", () => {
  it("prints the still-valid token, warns on stderr, keeps the stored refresh token", async () => {
    // Valid for 2 more minutes: inside the 5-minute window, so a refresh is due but not required.
    const tokens = await mock.control.mintTokens({ accessTokenTtlSeconds: 120 })
    const codexHome = existingCodexHome()
    writeChatgptAuth(codexHome, tokens)
    await mock.control.setFaults("refresh", [{ status: 503, times: 1 }])
    const env = { CODEX_HOME: codexHome, CODEX_REFRESH_TOKEN_URL_OVERRIDE: `${mock.url}/oauth/token` }
    const r = await runCli(["token"], { env })
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout.trim()).toBe(tokens.access_token)
    expect(r.stderr).toContain("warning: could not refresh the access token")
    expect(r.stderr).toContain("503")
    expect(r.stderr).not.toContain(tokens.refresh_token)
    expect(readAuth(codexHome).tokens.refresh_token).toBe(tokens.refresh_token)

    // The fault is gone: the next call refreshes once and prints the new token, silently.
    const next = await runCli(["token"], { env })
    expect(next.code, next.stderr).toBe(0)
    expect(next.stderr).toBe("")
    expect(next.stdout.trim()).toBe(readAuth(codexHome).tokens.access_token)
    expect(readAuth(codexHome).tokens.refresh_token).not.toBe(tokens.refresh_token)
  })
})
