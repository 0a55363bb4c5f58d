/**
 * Runs the library example (examples/library/src/main.ts, as a user would: `node main.ts`)
 * against the mock issuer. The stored credentials name the mock as their issuer
 * (`oauth_provenance`), so refreshes go there without any override variable. The access token is
 * revoked server-side first: the authenticated client's request gets a 401, the AuthManager
 * refreshes once (`refresh_reason: unauthorized`), and the request is replayed with the new token.
 */
import { join } from "node:path"
import { type RunningMockIssuer, startMockIssuer } from "@codex-auth/mock-server"
import { writeFileSync } from "node:fs"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { repoRoot, runProgram } from "../src/Cli.ts"
import { existingCodexHome, readAuth } from "../src/RealCodex.ts"

const example = join(repoRoot, "examples/library/src/main.ts")
let mock: RunningMockIssuer

beforeAll(async () => {
  mock = await startMockIssuer({ config: { tokens: { reuseGraceMs: 0 } } })
})
afterAll(() => mock?.close())

describe("examples/library", () => {
  it("authenticates a request, refreshes once after a 401 and replays it", async () => {
    const tokens = await mock.control.mintTokens({ email: "user@example.com" })
    const codexHome = existingCodexHome()
    writeFileSync(join(codexHome, "auth.json"), JSON.stringify({
      auth_mode: "chatgpt",
      OPENAI_API_KEY: null,
      tokens: {
        id_token: tokens.id_token,
        access_token: tokens.access_token,
        refresh_token: tokens.refresh_token,
        account_id: tokens.account_id,
        oauth_provenance: { issuer: mock.url, client_id: "app_EMoamEEZ73f0CkXaXp7hrann" }
      },
      last_refresh: new Date().toISOString()
    }, null, 2), { mode: 0o600 })
    await mock.control.expireTokens({ access: true })

    const run = await runProgram(process.execPath, [example], { env: { CODEX_HOME: codexHome }, timeoutMs: 30_000 })
    expect(run, run.stderr).toMatchObject({ code: 0 })
    expect(run.stdout).toContain("credentials: chatgpt from store, user@example.com")
    expect(run.stdout).toMatch(/hot path: 100000 accessToken calls in [\d.]+ ms/)
    expect(run.stdout).toContain(`GET ${mock.url}/userinfo → HTTP 200 (email user@example.com)`)
    expect(run.stdout).toContain("refresh requests sent by this process: 1")
    expect(run.stdout + run.stderr).not.toContain(tokens.access_token)

    const requests = await mock.requests()
    expect(requests.filter((r) => r.kind === "userinfo").map((r) => r.status)).toEqual([401, 200])
    const refreshes = requests.filter((r) => r.kind === "refresh_token")
    expect(refreshes).toHaveLength(1)
    expect((refreshes[0]!.body as { refresh_reason: string }).refresh_reason).toBe("unauthorized")
    const stored = readAuth(codexHome)
    expect(stored.tokens.refresh_token).not.toBe(tokens.refresh_token)
    expect(stored.tokens.oauth_provenance).toEqual({ issuer: mock.url, client_id: "app_EMoamEEZ73f0CkXaXp7hrann" })
    expect(mock.engine.refreshTokenState(stored.tokens.refresh_token)).toBe("active")
  })

  it("not logged in: exit code 1 with the CLI's message", async () => {
    const run = await runProgram(process.execPath, [example], { env: { CODEX_HOME: existingCodexHome() }, timeoutMs: 30_000 })
    expect(run.code).toBe(1)
    expect(run.stderr).toContain("Not logged in")
    expect(run.stderr).toContain("hint:")
  })
})
