/**
 * Fidelity: `codex logout` revokes the refresh token at the mock
 * (`CODEX_REVOKE_TOKEN_URL_OVERRIDE`), the mock records it, and the token is dead afterwards.
 */
import { fingerprint, startMockIssuer } from "@codex-auth/mock-server"
import { existsSync } from "node:fs"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { existingCodexHome, runCodexAsync, writeChatgptAuth } from "../src/RealCodex.ts"

describe("real Codex CLI: logout revokes at the mock", () => {
  it("`codex logout` sends {token, token_type_hint: refresh_token, client_id} as JSON; the grant is revoked", async () => {
    const mock = await startMockIssuer({})
    try {
      const tokens = await mock.control.mintTokens({ email: "team@example.com" })
      const codexHome = existingCodexHome()
      writeChatgptAuth(codexHome, tokens)
      const run = await runCodexAsync(["logout"], { env: { CODEX_HOME: codexHome, CODEX_REVOKE_TOKEN_URL_OVERRIDE: `${mock.url}/oauth/revoke` } })
      expect(run.code, run.output).toBe(0)
      expect(run.output).toContain("Successfully logged out")
      expect(existsSync(join(codexHome, "auth.json"))).toBe(false)

      const revokes = (await mock.requests()).filter((r) => r.kind === "revoke")
      expect(revokes).toHaveLength(1)
      expect(revokes[0]!.status).toBe(200)
      expect(revokes[0]!.headers["content-type"]).toBe("application/json")
      expect(revokes[0]!.body).toEqual({ token: fingerprint(tokens.refresh_token), token_type_hint: "refresh_token", client_id: "app_EMoamEEZ73f0CkXaXp7hrann" })
      expect(mock.engine.refreshTokenState(tokens.refresh_token)).toBe("revoked")
      const userinfo = await fetch(`${mock.url}/userinfo`, { headers: { authorization: `Bearer ${tokens.access_token}` } })
      expect(userinfo.status).toBe(401)
    } finally {
      await mock.close()
    }
  })

  it("revocation is best-effort for the real CLI: a 503 from the mock still logs out locally", async () => {
    const mock = await startMockIssuer({})
    try {
      await mock.control.setFaults("revoke", [{ status: 503, times: 5 }])
      const tokens = await mock.control.mintTokens({})
      const codexHome = existingCodexHome()
      writeChatgptAuth(codexHome, tokens)
      const run = await runCodexAsync(["logout"], { env: { CODEX_HOME: codexHome, CODEX_REVOKE_TOKEN_URL_OVERRIDE: `${mock.url}/oauth/revoke` } })
      expect(run.code, run.output).toBe(0)
      expect(existsSync(join(codexHome, "auth.json"))).toBe(false)
      const revokes = (await mock.requests()).filter((r) => r.kind === "revoke")
      expect(revokes.length).toBeGreaterThanOrEqual(1)
      expect(revokes.every((r) => r.fault === "status:503")).toBe(true)
      expect(mock.engine.refreshTokenState(tokens.refresh_token)).toBe("active")
    } finally {
      await mock.close()
    }
  })
})
