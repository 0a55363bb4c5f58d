/**
 * The real Codex CLI (0.169, `codex doctor --json` refreshes an expired token) and the built
 * `codex-auth token` take turns refreshing the same CODEX_HOME against the mock issuer (strict reuse
 * detection). Between turns the stored access token is replaced by one that expired a minute ago
 * (standing in for the hour that would pass; both clients only look at its `exp`), so every turn
 * needs a refresh. Each client must pick up the refresh token the other one rotated and stored:
 * every refresh request is answered 200, each one sends a refresh token never sent before (no
 * replay), and the session stays active throughout.
 */
import { writeFileSync } from "node:fs"
import { fingerprint, type RunningMockIssuer, startMockIssuer } from "@codex-auth/mock-server"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { runCli } from "../src/Cli.ts"
import { existingCodexHome, readAuth, runCodexAsync, writeChatgptAuth } from "../src/RealCodex.ts"

let mock: RunningMockIssuer

beforeAll(async () => {
  mock = await startMockIssuer({ config: { tokens: { reuseGraceMs: 0 } } })
})
afterAll(() => mock?.close())

const b64url = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString("base64url")

/** Replaces the stored access token by one whose `exp` passed a minute ago; everything else is kept. */
const expireStoredAccessToken = (codexHome: string) => {
  const doc = readAuth(codexHome)
  const payload = JSON.parse(Buffer.from(doc.tokens.access_token.split(".")[1], "base64url").toString())
  doc.tokens.access_token = `${b64url({ alg: "none", typ: "JWT" })}.${b64url({ ...payload, exp: Math.floor(Date.now() / 1000) - 60 })}.c2ln`
  writeFileSync(`${codexHome}/auth.json`, JSON.stringify(doc, null, 2), { mode: 0o600 })
}

describe("real Codex CLI and codex-auth refreshing the same CODEX_HOME in turn", () => {
  it("codex-auth → codex → codex-auth → codex: every refresh uses the latest stored token", async () => {
    const tokens = await mock.control.mintTokens({ accessTokenTtlSeconds: -120 })
    const codexHome = existingCodexHome()
    writeChatgptAuth(codexHome, tokens, new Date(Date.now() - 3600_000))
    const env = { CODEX_HOME: codexHome, CODEX_REFRESH_TOKEN_URL_OVERRIDE: `${mock.url}/oauth/token` }
    const seenRefreshTokens: Array<string> = [tokens.refresh_token]

    const turn = async (who: "codex-auth" | "codex") => {
      const before = readAuth(codexHome)
      if (who === "codex-auth") {
        const r = await runCli(["token"], { env, timeoutMs: 30_000 })
        expect(r, r.stderr).toMatchObject({ code: 0 })
        expect(r.stdout.trim()).toBe(readAuth(codexHome).tokens.access_token)
      } else {
        const r = await runCodexAsync(["doctor", "--json"], { env, timeoutMs: 60_000 })
        expect(r.output).toContain("auth is configured")
      }
      const after = readAuth(codexHome)
      expect(after.tokens.refresh_token, `${who} did not rotate the stored refresh token`).not.toBe(before.tokens.refresh_token)
      expect(mock.engine.refreshTokenState(after.tokens.refresh_token)).toBe("active")
      seenRefreshTokens.push(after.tokens.refresh_token)
      expireStoredAccessToken(codexHome)
    }

    await turn("codex-auth")
    await turn("codex")
    await turn("codex-auth")
    await turn("codex")

    const refreshes = (await mock.requests()).filter((r) => r.kind === "refresh_token")
    expect(refreshes.every((r) => r.status === 200), JSON.stringify(refreshes.map((r) => [r.status, r.headers["user-agent"]]))).toBe(true)
    const sent = refreshes.map((r) => (r.body as { refresh_token: string }).refresh_token)
    expect(new Set(sent).size).toBe(sent.length)
    expect(sent).toEqual(seenRefreshTokens.slice(0, 4).map(fingerprint))
    const ours = refreshes.filter((r) => (r.headers["user-agent"] ?? "").startsWith("codex-auth/"))
    expect(ours).toHaveLength(2)
  })
})
