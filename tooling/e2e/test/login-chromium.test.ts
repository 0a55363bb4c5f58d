/**
 * The whole browser sign-in with a real browser: the built `codex-auth login --no-browser`
 * prints the URL, headless Chromium opens it, picks the account and workspace on the mock
 * issuer's pages, the redirect lands on codex-auth's loopback callback (localhost:1455), which
 * renders the outcome itself (no token in any URL); then `login status --json` shows the account
 * and the real Codex CLI reads the credentials. Screenshots go to `<repo>/test-artifacts/`.
 */
import { startMockIssuer } from "@codex-auth/mock-server"
import { existsSync } from "node:fs"
import { describe, expect, it } from "vitest"
import { screenshot, withChromium } from "../src/Chromium.ts"
import { runCli } from "../src/Cli.ts"
import { withFixedPortsLock } from "../src/ports.ts"
import { existingCodexHome, readAuth, runCodexAsync } from "../src/RealCodex.ts"
import { authorizeUrlOf, startCli } from "./login-process.ts"

describe("browser sign-in in headless Chromium", () => {
  it("Chromium follows the printed URL, signs in on the mock pages, lands on the callback; status shows the account", () =>
    withFixedPortsLock(async () => {
      const mock = await startMockIssuer({})
      try {
        const codexHome = existingCodexHome()
        const login = startCli(["--codex-home", codexHome, "login", "--no-browser", "--issuer", mock.url])
        const url = await authorizeUrlOf(login, mock.url)
        const visited: Array<string> = []
        await withChromium(async (page) => {
          page.on("framenavigated", (frame) => {
            if (frame === page.mainFrame()) visited.push(frame.url())
          })
          await page.goto(url.toString())
          await page.getByLabel(/team@example\.com/).check()
          await screenshot(page, "login-chromium-1-account")
          await page.getByRole("button", { name: "Continue" }).click()
          await page.getByLabel(/Acme Research/).check()
          await screenshot(page, "login-chromium-2-workspace")
          await page.getByRole("button", { name: "Continue" }).click()
          await page.waitForURL((u) => u.origin === "http://localhost:1455")
          await expect(page.getByRole("heading", { name: "Signed in to Codex" }).isVisible()).resolves.toBe(true)
          expect(await page.textContent("main")).toContain("team@example.com")
          expect(existsSync(await screenshot(page, "login-chromium-3-signed-in"))).toBe(true)
          expect(new URL(page.url()).pathname).toBe("/auth/callback")
        })
        const done = await login.exit
        expect(done.code, done.stderr).toBe(0)
        // No token ever travelled in a URL the browser visited.
        const auth = readAuth(codexHome)
        for (const u of visited) {
          for (const secret of [auth.tokens.id_token, auth.tokens.access_token, auth.tokens.refresh_token, auth.OPENAI_API_KEY]) {
            expect(u).not.toContain(secret)
          }
        }
        const status = await runCli(["--codex-home", codexHome, "login", "status", "--json"])
        expect(status.code).toBe(0)
        expect(JSON.parse(status.stdout).account).toMatchObject({ email: "team@example.com", account_id: "33333333-3333-4333-8333-333333333333", plan: "enterprise" })
        const codex = await runCodexAsync(["login", "status"], { env: { CODEX_HOME: codexHome } })
        expect(codex.output).toContain("Logged in using ChatGPT")
      } finally {
        await mock.close()
      }
    }))
})
