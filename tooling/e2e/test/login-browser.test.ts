/**
 * `codex-auth login --no-browser` (the built CLI) on the real ports 1455/1457, against the mock
 * issuer, with a plain HTTP client in the browser's place: the URL is printed, the callback
 * server answers on localhost over IPv4 and IPv6, ignores stray and forged requests, lands the
 * real callback, and what it stores is read by the real Codex CLI. Also: the `ssh -L` and WSL hints, a
 * second concurrent login, both ports taken, timeout, Ctrl-C, and a superseded login's refresh
 * token revoked. Everything here holds the fixed-ports lock.
 */
import { startMockIssuer } from "@codex-auth/mock-server"
import { existsSync, mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { createServer, type Server } from "node:net"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { runCli } from "../src/Cli.ts"
import { withFixedPortsLock } from "../src/ports.ts"
import { existingCodexHome, readAuth, runCodexAsync } from "../src/RealCodex.ts"
import { authorizeUrlOf, startCli } from "./login-process.ts"

const occupy = (host: string, port: number) =>
  new Promise<Server>((resolve, reject) => {
    const s = createServer()
    s.once("error", reject)
    s.listen({ host, port, ipv6Only: host === "::1" }, () => resolve(s))
  })
const release = (s: Server) => new Promise<void>((r) => s.close(() => r()))

describe("codex-auth login --no-browser (ports 1455/1457)", () => {
  it("prints the URL, ignores stray and forged requests, completes through the callback; the real Codex CLI reads the result", () =>
    withFixedPortsLock(async () => {
      const mock = await startMockIssuer({ autoApprove: true })
      try {
        const codexHome = existingCodexHome()
        const login = startCli(
          ["--codex-home", codexHome, "-c", "forced_chatgpt_workspace_id=\"11111111-1111-4111-8111-111111111111\"", "login", "--no-browser", "--issuer", mock.url],
          { SSH_CONNECTION: "203.0.113.9 52000 198.51.100.7 2222", USER: "dev" }
        )
        const url = await authorizeUrlOf(login, mock.url)
        await login.waitFor(/Waiting for the sign-in/)
        expect(url.searchParams.get("allowed_workspace_id")).toBe("11111111-1111-4111-8111-111111111111")
        expect(url.searchParams.get("redirect_uri")).toBe("http://localhost:1455/auth/callback")
        expect(url.searchParams.get("code_challenge_method")).toBe("S256")
        expect(url.searchParams.get("state")).toMatch(/^[A-Za-z0-9_-]{43}$/)
        expect(login.stderr()).toContain("ssh -L 1455:localhost:1455 -p 2222 dev@198.51.100.7")

        // The listener answers on both loopbacks, and nothing but this login's state gets anywhere.
        expect((await fetch("http://127.0.0.1:1455/")).status).toBe(404)
        expect((await fetch("http://[::1]:1455/cancel")).status).toBe(404)
        expect((await fetch("http://localhost:1455/auth/callback?code=forged&state=wrong")).status).toBe(400)
        expect((await fetch("http://localhost:1455/auth/callback?error=access_denied&state=wrong")).status).toBe(400)

        const toCallback = await fetch(url, { redirect: "manual" })
        expect(toCallback.status).toBe(302)
        const page = await fetch(toCallback.headers.get("location")!)
        const html = await page.text()
        expect(page.status).toBe(200)
        expect(html).toContain("Signed in to Codex")
        expect(page.headers.get("cache-control")).toContain("no-store")
        const done = await login.exit
        expect(done.code, done.stderr).toBe(0)
        expect(done.stderr).toContain("Logged in using ChatGPT as user@example.com")
        expect(done.stdout).toBe("")
        // The listener is gone with the process.
        await expect(fetch("http://127.0.0.1:1455/")).rejects.toThrow()

        const auth = readAuth(codexHome)
        expect(auth.OPENAI_API_KEY).toMatch(/^sk-mock-/)
        expect(auth.tokens.oauth_provenance.issuer).toBe(mock.url)
        const codex = await runCodexAsync(["login", "status"], { env: { CODEX_HOME: codexHome } })
        expect(codex.output).toContain("Logged in using ChatGPT")
        const status = JSON.parse((await runCli(["--codex-home", codexHome, "login", "status", "--json"])).stdout)
        expect(status.account.email).toBe("user@example.com")

        // A second sign-in replaces the first and revokes its refresh token.
        const first = auth.tokens.refresh_token as string
        const again = startCli(["--codex-home", codexHome, "login", "--no-browser", "--issuer", mock.url])
        const url2 = await authorizeUrlOf(again, mock.url)
        await fetch((await fetch(url2, { redirect: "manual" })).headers.get("location")!)
        const done2 = await again.exit
        expect(done2.code, done2.stderr).toBe(0)
        expect(done2.stderr).toContain("Revoked the refresh token of the session this login replaced.")
        expect(mock.engine.refreshTokenState(first)).toBe("revoked")
      } finally {
        await mock.close()
      }
    }))

  it("default mode opens the browser ($BROWSER) only once the callback listens; the browser's visit completes the login", () =>
    withFixedPortsLock(async () => {
      const mock = await startMockIssuer({ autoApprove: true })
      try {
        // A stand-in browser: follows the authorize URL to the callback, like a real one would.
        const fake = join(mkdtempSync(join(tmpdir(), "codex-auth-browser-")), "browser.mjs")
        writeFileSync(fake, [
          "const r = await fetch(process.argv[2], { redirect: 'manual' })",
          "const page = await fetch(r.headers.get('location'))",
          "process.exit(page.status === 200 ? 0 : 1)"
        ].join("\n"))
        const codexHome = existingCodexHome()
        const r = await runCli(["--codex-home", codexHome, "login", "--issuer", mock.url], { env: { BROWSER: `${process.execPath} ${fake}` } })
        expect(r.code, r.stderr).toBe(0)
        expect(r.stderr).toContain("Opening your browser…")
        expect(r.stderr).not.toContain("Could not open a browser")
        expect(r.stderr).toContain("Logged in using ChatGPT as user@example.com")
        expect(readAuth(codexHome).auth_mode).toBe("chatgpt")
      } finally {
        await mock.close()
      }
    }))

  it("a second login in the same CODEX_HOME is refused with the first one's pid; another home falls back to 1457", () =>
    withFixedPortsLock(async () => {
      const mock = await startMockIssuer({})
      try {
        const codexHome = existingCodexHome()
        const first = startCli(["--codex-home", codexHome, "login", "--no-browser", "--issuer", mock.url])
        await first.waitFor(/Waiting for the sign-in/)
        const second = await runCli(["--codex-home", codexHome, "login", "--no-browser", "--issuer", mock.url])
        expect(second.code).toBe(7)
        expect(second.stderr).toContain(`another login is in progress (pid ${first.child.pid})`)

        const other = startCli(["--codex-home", existingCodexHome(), "login", "--no-browser", "--issuer", mock.url])
        const url = await authorizeUrlOf(other, mock.url)
        expect(url.searchParams.get("redirect_uri")).toBe("http://localhost:1457/auth/callback")

        expect(first.stderr(), "no WSL hint outside WSL").not.toContain("This is WSL")
        first.child.kill("SIGINT")
        other.child.kill("SIGINT")
        const [a, b] = await Promise.all([first.exit, other.exit])
        expect([a.code, b.code]).toEqual([130, 130])
        expect(a.stderr).toContain("Cancelled.")
        expect(existsSync(join(codexHome, "auth.json"))).toBe(false)
      } finally {
        await mock.close()
      }
    }))

  it("under WSL (WSL_DISTRO_NAME set) the wait says what to do when Windows' localhost does not reach WSL", () =>
    withFixedPortsLock(async () => {
      const mock = await startMockIssuer({})
      try {
        const login = startCli(["--codex-home", existingCodexHome(), "login", "--no-browser", "--issuer", mock.url], { WSL_DISTRO_NAME: "Ubuntu" })
        try {
          await login.waitFor(/Waiting for the sign-in/)
          expect(login.stderr()).toContain("This is WSL: if the browser runs on Windows and the sign-in never arrives")
          expect(login.stderr()).toContain("`codex-auth login --paste` or `codex-auth login --device-auth`")
          expect(login.stderr()).not.toContain("On another machine?")
        } finally {
          // Always: a login left waiting would hold port 1455 for the tests after this one.
          login.child.kill("SIGINT")
        }
        expect((await login.exit).code).toBe(130)
      } finally {
        await mock.close()
      }
    }))

  it("both ports taken by another program: a clear message naming them (exit 7); --timeout ends a wait", () =>
    withFixedPortsLock(async () => {
      const mock = await startMockIssuer({})
      const held = [await occupy("127.0.0.1", 1455), await occupy("::1", 1457)]
      try {
        const r = await runCli(["--codex-home", existingCodexHome(), "login", "--no-browser", "--issuer", mock.url])
        expect(r.code).toBe(7)
        expect(r.stderr).toContain("the sign-in callback needs port 1455 or 1457 on localhost, and both are in use by another program")
        expect(r.stderr).toContain("--device-auth")
      } finally {
        await Promise.all(held.map(release))
      }
      try {
        const started = Date.now()
        const r = await runCli(["--codex-home", existingCodexHome(), "login", "--no-browser", "--timeout", "1s", "--issuer", mock.url])
        expect(r.code).toBe(7)
        expect(r.stderr).toContain("no sign-in completed within 1 second")
        expect(Date.now() - started).toBeLessThan(10_000)
      } finally {
        await mock.close()
      }
    }))
})
