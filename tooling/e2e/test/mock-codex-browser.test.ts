/**
 * Fidelity: the real Codex CLI's browser login (PKCE, loopback callback on 127.0.0.1:1455)
 * completes against the mock when a client follows the authorize URL the CLI hands out.
 *
 * In 0.169 `codex login` always prints an auth.openai.com URL for the browser flow (its
 * `--experimental_issuer` only reaches the device flow), so the browser flow is driven through
 * `codex app-server`, whose `account/login/start {type: "chatgpt"}` honours
 * `CODEX_APP_SERVER_LOGIN_ISSUER` and runs the same login server. Port 1455 is shared with other
 * tests: everything here holds the fixed-ports lock.
 *
 * After persisting the tokens, the app-server asks the ChatGPT backend (not the issuer) for
 * workspace routing (`GET /backend-api/wham/accounts/check`); offline that step fails and the
 * `account/login/completed` notification says "workspace routing discovery failed". The OAuth
 * part is asserted on its own: the code exchange and API-key exchange at the mock, the persisted
 * auth.json, and `codex login status`.
 */
import { startMockIssuer } from "@codex-auth/mock-server"
import { describe, expect, it } from "vitest"
import { withFixedPortsLock } from "../src/ports.ts"
import { existingCodexHome, readAuth, runCodexAsync, startAppServer } from "../src/RealCodex.ts"

const form = (url: string, fields: Record<string, string>) =>
  fetch(url, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: new URLSearchParams(fields), redirect: "manual" })

const sessionOf = (html: string) => /name="session" value="([^"]+)"/.exec(html)![1]!

describe("real Codex CLI: browser login against the mock", () => {
  it("a client follows the CLI's authorize URL, picks an account and workspace; the CLI exchanges the code and is logged in", () =>
    withFixedPortsLock(async () => {
      const mock = await startMockIssuer({})
      const codexHome = existingCodexHome()
      const server = await startAppServer({ env: { CODEX_HOME: codexHome, CODEX_APP_SERVER_LOGIN_ISSUER: mock.url } })
      try {
        const start = await server.request("account/login/start", { type: "chatgpt" })
        expect(start.authUrl.startsWith(`${mock.url}/oauth/authorize?`)).toBe(true)
        const q = new URL(start.authUrl).searchParams
        expect(q.get("redirect_uri")).toMatch(/^http:\/\/(127\.0\.0\.1|localhost):145[57]\/auth\/callback$/)
        expect(q.get("code_challenge_method")).toBe("S256")
        expect(q.get("scope")!.split(" ")).toEqual(expect.arrayContaining(["openid", "profile", "email", "offline_access"]))

        const accountPage = await fetch(start.authUrl)
        expect(accountPage.status).toBe(200)
        const session = sessionOf(await accountPage.text())
        const workspacePage = await form(`${mock.url}/signin/account`, { session, action: "continue", account: "team@example.com" })
        expect(await workspacePage.text()).toContain("Acme Engineering")
        const toCallback = await form(`${mock.url}/signin/workspace`, { session, action: "continue", workspace: "22222222-2222-4222-8222-222222222222" })
        expect(toCallback.status).toBe(302)
        const callback = new URL(toCallback.headers.get("location")!)
        expect(`${callback.origin}${callback.pathname}`).toBe(q.get("redirect_uri"))
        expect(callback.searchParams.get("state")).toBe(q.get("state"))

        const atCli = await fetch(callback, { redirect: "manual" })
        expect(atCli.status).toBe(302)
        const success = await fetch(new URL(atCli.headers.get("location")!, callback))
        expect(success.status).toBe(200)
        const completed = await server.notification("account/login/completed", (p) => p.loginId === start.loginId)
        if (!completed.success) expect(completed.error).toBe("workspace routing discovery failed")

        const requests = await mock.requests()
        const exchange = requests.find((r) => r.kind === "authorization_code")!
        expect(exchange.status).toBe(200)
        expect(exchange.body).toMatchObject({ grant_type: "authorization_code", redirect_uri: q.get("redirect_uri"), client_id: "app_EMoamEEZ73f0CkXaXp7hrann" })
        expect((exchange.body as { code_verifier: string }).code_verifier).toMatch(/^redacted:[0-9a-f]{4}$/)
        const apiKey = requests.find((r) => r.kind === "token_exchange")!
        expect(apiKey.status).toBe(200)
        expect(apiKey.body).toMatchObject({ requested_token: "openai-api-key", subject_token_type: "urn:ietf:params:oauth:token-type:id_token" })
      } finally {
        await server.close()
        await mock.close()
      }
      const auth = readAuth(codexHome)
      expect(auth.auth_mode).toBe("chatgpt")
      expect(auth.tokens.account_id).toBe("22222222-2222-4222-8222-222222222222")
      expect(auth.OPENAI_API_KEY).toMatch(/^sk-mock-/)
      const status = await runCodexAsync(["login", "status"], { env: { CODEX_HOME: codexHome } })
      expect(status.output).toContain("Logged in using ChatGPT")
    }))

  it("an account without Codex: the mock redirects access_denied / missing_codex_entitlement and the CLI's login fails", () =>
    withFixedPortsLock(async () => {
      const mock = await startMockIssuer({ config: { accounts: [{ email: "nocodex@example.com", codexEntitlement: false }] } })
      const codexHome = existingCodexHome()
      const server = await startAppServer({ env: { CODEX_HOME: codexHome, CODEX_APP_SERVER_LOGIN_ISSUER: mock.url } })
      try {
        const start = await server.request("account/login/start", { type: "chatgpt" })
        const session = sessionOf(await (await fetch(start.authUrl)).text())
        const denied = await form(`${mock.url}/signin/account`, { session, action: "continue", account: "nocodex@example.com" })
        const callback = new URL(denied.headers.get("location")!)
        expect(callback.searchParams.get("error")).toBe("access_denied")
        const page = await fetch(callback, { redirect: "manual" })
        expect(await page.text()).toMatch(/Codex/)
        const completed = await server.notification("account/login/completed", (p) => p.loginId === start.loginId)
        expect(completed.success).toBe(false)
        expect(completed.error).toMatch(/Codex is not enabled|missing_codex_entitlement/)
      } finally {
        await server.close()
        await mock.close()
      }
      expect(() => readAuth(codexHome)).toThrow()
    }))
})
