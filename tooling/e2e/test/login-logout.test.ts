/**
 * `codex-auth logout` (the built CLI) after a sign-in at the mock issuer: it revokes the refresh
 * token at the issuer the tokens came from (recorded by the mock, the grant dead), purges the
 * store, and says so; the real Codex CLI then reports "Not logged in". A failing issuer only
 * produces an honest warning (exit 0, still purged) naming the revoke URL actually contacted;
 * `--local-only` sends nothing; `CODEX_REVOKE_TOKEN_URL_OVERRIDE` is honoured as in Codex.
 */
import { startMockIssuer } from "@codex-auth/mock-server"
import { existsSync, rmSync } from "node:fs"
import { dirname, join } from "node:path"
import { describe, expect, it } from "vitest"
import { runCli } from "../src/Cli.ts"
import { existingCodexHome, readAuth, runCodexAsync } from "../src/RealCodex.ts"

const deviceLogin = async (issuer: string, codexHome: string) => {
  const r = await runCli(["--codex-home", codexHome, "login", "--device-auth", "--issuer", issuer])
  expect(r.code, r.stderr).toBe(0)
  return readAuth(codexHome).tokens as { refresh_token: string; access_token: string }
}

describe("codex-auth logout", () => {
  it("revokes the refresh token (recorded by the issuer), purges, and the real Codex CLI is logged out", async () => {
    const mock = await startMockIssuer({ autoApprove: true, config: { device: { intervalSeconds: 0 } } })
    try {
      const codexHome = existingCodexHome()
      const tokens = await deviceLogin(mock.url, codexHome)
      await mock.control.clearRequests()
      const r = await runCli(["--codex-home", codexHome, "logout"])
      expect(r.code, r.stderr).toBe(0)
      expect(r.stderr).toContain(`Revoked the refresh token at ${mock.url}/oauth/revoke: the session has ended on the server too.`)
      expect(r.stderr).toContain(`Logged out (removed ${join(codexHome, "auth.json")}).`)
      const revokes = (await mock.requests()).filter((x) => x.kind === "revoke")
      expect(revokes).toHaveLength(1)
      expect(revokes[0]!.status).toBe(200)
      expect(revokes[0]!.body).toMatchObject({ token_type_hint: "refresh_token", client_id: "app_EMoamEEZ73f0CkXaXp7hrann" })
      expect(mock.engine.refreshTokenState(tokens.refresh_token)).toBe("revoked")
      expect(existsSync(join(codexHome, "auth.json"))).toBe(false)
      const codex = await runCodexAsync(["login", "status"], { env: { CODEX_HOME: codexHome } })
      expect(codex.output).toContain("Not logged in")

      const again = await runCli(["--codex-home", codexHome, "logout"])
      expect(again.code).toBe(0)
      expect(again.stderr).toContain("Not logged in; nothing to remove.")
    } finally {
      await mock.close()
    }
  })

  it("a failing issuer is reported honestly and the credentials are still removed; --local-only contacts nobody", async () => {
    const mock = await startMockIssuer({ autoApprove: true, config: { device: { intervalSeconds: 0 } } })
    try {
      const codexHome = existingCodexHome()
      const tokens = await deviceLogin(mock.url, codexHome)
      await mock.control.setFaults("revoke", [{ status: 503 }])
      const r = await runCli(["--codex-home", codexHome, "logout"])
      expect(r.code, r.stderr).toBe(0)
      expect(r.stderr).toMatch(/warning: could not revoke the session at .* \(the issuer answered HTTP 503 to the revocation request\)\. The credentials were removed from this machine, but the refresh token stays valid at the issuer until it expires\./)
      expect(existsSync(join(codexHome, "auth.json"))).toBe(false)
      expect(mock.engine.refreshTokenState(tokens.refresh_token)).toBe("active")

      const home2 = existingCodexHome()
      await deviceLogin(mock.url, home2)
      await mock.control.clearRequests()
      const local = await runCli(["--codex-home", home2, "logout", "--local-only"])
      expect(local.code).toBe(0)
      expect(local.stderr).toContain("Did not contact the issuer (--local-only)")
      expect((await mock.requests()).length).toBe(0)
      expect(existsSync(join(home2, "auth.json"))).toBe(false)
    } finally {
      await mock.close()
    }
  })

  it("honours CODEX_REVOKE_TOKEN_URL_OVERRIDE, and an unreachable issuer costs at most the short timeout", async () => {
    const mock = await startMockIssuer({ autoApprove: true, config: { device: { intervalSeconds: 0 } } })
    try {
      const codexHome = existingCodexHome()
      const tokens = await deviceLogin(mock.url, codexHome)
      await mock.control.setFaults("revoke", [{ latencyMs: 6_000 }])
      const started = Date.now()
      const r = await runCli(["--codex-home", codexHome, "logout"], { env: { CODEX_REVOKE_TOKEN_URL_OVERRIDE: `${mock.url}/oauth/revoke` } })
      expect(r.code, r.stderr).toBe(0)
      expect(Date.now() - started).toBeLessThan(6_000)
      expect(r.stderr).toMatch(/could not revoke the session .*no answer within 5 s/)
      expect(existsSync(join(codexHome, "auth.json"))).toBe(false)
      expect(mock.engine.refreshTokenState(tokens.refresh_token)).toBe("active")
    } finally {
      await mock.control.clearFaults()
      await mock.close()
    }
  })

  it("the warning names the revoke URL actually contacted (CODEX_REVOKE_TOKEN_URL_OVERRIDE), not the issuer the tokens came from", async () => {
    const mock = await startMockIssuer({ autoApprove: true, config: { device: { intervalSeconds: 0 } } })
    try {
      const codexHome = existingCodexHome()
      await deviceLogin(mock.url, codexHome)
      await mock.control.clearRequests()
      // Port 9 on loopback: nothing listens, the connection is refused at once.
      const r = await runCli(["--codex-home", codexHome, "logout"], { env: { CODEX_REVOKE_TOKEN_URL_OVERRIDE: "http://127.0.0.1:9/custom/revoke?tenant=SECRETQUERY" } })
      expect(r.code, r.stderr).toBe(0)
      expect(r.stderr).toContain("warning: could not revoke the session at http://127.0.0.1:9/custom/revoke (")
      expect(r.stderr).not.toContain(mock.url)
      expect(r.stderr).not.toContain("SECRETQUERY")
      expect((await mock.requests()).filter((x) => x.kind === "revoke")).toHaveLength(0)
      expect(existsSync(join(codexHome, "auth.json"))).toBe(false)
      rmSync(dirname(codexHome), { recursive: true, force: true })
    } finally {
      await mock.close()
    }
  })
})
