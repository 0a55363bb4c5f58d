/**
 * `codex-auth login --paste` (the built CLI): the user signs in in a browser elsewhere and types
 * the final redirect URL back. Unusable pastes are explained and asked for again; a paste of
 * only `code=…&state=…` works; with ports 1455/1457 taken by other programs, paste-back still
 * works. The real Codex CLI reads what was stored. Holds the fixed-ports lock (it binds 1455).
 */
import { startMockIssuer } from "@codex-auth/mock-server"
import { createServer, type Server } from "node:net"
import { describe, expect, it } from "vitest"
import { withFixedPortsLock } from "../src/ports.ts"
import { existingCodexHome, readAuth, runCodexAsync } from "../src/RealCodex.ts"
import { authorizeUrlOf, startCli } from "./login-process.ts"

const occupy = (host: string, port: number) =>
  new Promise<Server>((resolve, reject) => {
    const s = createServer()
    s.once("error", reject)
    s.listen({ host, port }, () => resolve(s))
  })

/** Signs in at the mock (auto-approve) and returns the redirect the browser would land on, without following it. */
const redirectFor = async (url: URL) => {
  const r = await fetch(url, { redirect: "manual" })
  expect(r.status).toBe(302)
  return r.headers.get("location")!
}

describe("codex-auth login --paste", () => {
  it("explains a bad paste, accepts the redirect URL typed back, and the real Codex CLI reads the result", () =>
    withFixedPortsLock(async () => {
      const mock = await startMockIssuer({ autoApprove: true })
      try {
        const codexHome = existingCodexHome()
        const login = startCli(["--codex-home", codexHome, "login", "--paste", "--issuer", mock.url])
        const url = await authorizeUrlOf(login, mock.url)
        await login.waitFor(/Paste the redirect URL:/)
        expect(login.stderr()).toContain("open this URL in any browser")
        const redirect = await redirectFor(url)

        login.write("https://example.com/not-it\n")
        await login.waitFor(/not the sign-in redirect[\s\S]*tries left/)
        const forged = new URL(redirect)
        forged.searchParams.set("state", "another-attempt")
        login.write(`${forged}\n`)
        await login.waitFor(/different sign-in attempt/)
        login.write(`${redirect}\n`)
        const done = await login.exit
        expect(done.code, done.stderr).toBe(0)
        expect(done.stderr).toContain("Got the code. Signing in…")
        expect(done.stderr).toContain("Logged in using ChatGPT as user@example.com")
        expect(done.stderr).not.toContain(new URL(redirect).searchParams.get("code")!)
        expect(readAuth(codexHome).tokens.oauth_provenance.issuer).toBe(mock.url)
        const codex = await runCodexAsync(["login", "status"], { env: { CODEX_HOME: codexHome } })
        expect(codex.output).toContain("Logged in using ChatGPT")
      } finally {
        await mock.close()
      }
    }))

  it("works with both callback ports taken, from just `code=…&state=…`", () =>
    withFixedPortsLock(async () => {
      const mock = await startMockIssuer({ autoApprove: true })
      const held = [await occupy("127.0.0.1", 1455), await occupy("127.0.0.1", 1457)]
      try {
        const codexHome = existingCodexHome()
        const login = startCli(["--codex-home", codexHome, "login", "--paste", "--issuer", mock.url])
        const url = await authorizeUrlOf(login, mock.url)
        await login.waitFor(/Paste the redirect URL:/)
        expect(login.stderr()).toContain("Only paste-back will work")
        expect(url.searchParams.get("redirect_uri")).toBe("http://localhost:1455/auth/callback")
        const redirect = new URL(await redirectFor(url))
        login.write(`code=${redirect.searchParams.get("code")}&state=${redirect.searchParams.get("state")}\n`)
        const done = await login.exit
        expect(done.code, done.stderr).toBe(0)
        expect(readAuth(codexHome).auth_mode).toBe("chatgpt")
      } finally {
        await Promise.all(held.map((s) => new Promise<void>((r) => s.close(() => r()))))
        await mock.close()
      }
    }))

  it("stdin closed with nothing pasted and no listener: a clear failure", () =>
    withFixedPortsLock(async () => {
      const mock = await startMockIssuer({})
      const held = [await occupy("127.0.0.1", 1455), await occupy("127.0.0.1", 1457)]
      try {
        const login = startCli(["--codex-home", existingCodexHome(), "login", "--paste", "--issuer", mock.url])
        await login.waitFor(/Paste the redirect URL:/)
        login.child.stdin.end()
        const done = await login.exit
        expect(done.code).toBe(7)
        expect(done.stderr).toContain("stdin closed before a redirect URL was pasted")
      } finally {
        await Promise.all(held.map((s) => new Promise<void>((r) => s.close(() => r()))))
        await mock.close()
      }
    }))
})
