/**
 * Every sign-in flow of the built CLI against the mock issuer over HTTPS with its private CA, and
 * through a real proxy (Debian tinyproxy, CONNECT): device code, browser (--no-browser on the
 * fixed ports, with the token exchange for an API key), refresh (`token`) and revoke (`logout`).
 * Without the CA the sign-in fails with exit 6 and the CODEX_CA_CERTIFICATE advice.
 */
import { existsSync, mkdtempSync, writeFileSync } from "node:fs"
import * as https from "node:https"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { type RunningMockIssuer, startMockIssuer } from "@codex-auth/mock-server"
import { startTinyproxy, type Tinyproxy } from "@codex-auth/tls/testing/Tinyproxy"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { cliPath, runCli } from "../src/Cli.ts"
import { withFixedPortsLock } from "../src/ports.ts"
import { existingCodexHome, readAuth } from "../src/RealCodex.ts"
import { authorizeUrlOf, startCli } from "./login-process.ts"

let mock: RunningMockIssuer
let proxy: Tinyproxy
let caPath: string

beforeAll(async () => {
  if (!existsSync(cliPath)) throw new Error(`${cliPath} does not exist: build it first (pnpm turbo run build)`)
  mock = await startMockIssuer({ tls: true, autoApprove: true, config: { device: { intervalSeconds: 0 } } })
  caPath = join(mkdtempSync(join(tmpdir(), "tls-flows-e2e-")), "mock-ca.pem")
  writeFileSync(caPath, mock.caPem!)
  proxy = await startTinyproxy({ connectPorts: [Number(new URL(mock.url).port)] })
}, 30_000)
afterAll(async () => {
  await Promise.all([mock?.close(), proxy?.close()])
})

const connects = () => proxy.requests().filter((r) => r.startsWith(`CONNECT 127.0.0.1:${new URL(mock.url).port} `)).length
const viaProxy = () => ({ HTTPS_PROXY: proxy.url, CODEX_CA_CERTIFICATE: caPath })
const kinds = async () => (await mock.requests()).map((r) => `${r.kind}:${r.status}`)

const deviceLogin = (codexHome: string, env: Record<string, string>) =>
  runCli(["--codex-home", codexHome, "login", "--device-auth", "--issuer", mock.url], { env })

/** GET over HTTPS trusting only the mock's CA (the test plays the browser); no redirect following. */
const browserGet = (url: URL) =>
  new Promise<{ status: number; location: string | undefined }>((resolve, reject) => {
    https.get(url, { ca: mock.caPem! }, (res) => {
      res.resume()
      resolve({ status: res.statusCode ?? 0, location: res.headers.location })
    }).on("error", reject)
  })

describe("device-code sign-in over HTTPS", () => {
  it("fails without the CA: exit 6, the certificate is named as the cause, CODEX_CA_CERTIFICATE suggested, nothing stored", async () => {
    const codexHome = existingCodexHome()
    const r = await deviceLogin(codexHome, {})
    expect(r.code, r.stderr).toBe(6)
    expect(r.stderr).toContain("not trusted")
    expect(r.stderr).toContain("CODEX_CA_CERTIFICATE=")
    expect(existsSync(join(codexHome, "auth.json"))).toBe(false)
  })

  it("succeeds with CODEX_CA_CERTIFICATE, and with the SSL_CERT_FILE fallback", async () => {
    for (const env of [{ CODEX_CA_CERTIFICATE: caPath }, { SSL_CERT_FILE: caPath }]) {
      const codexHome = existingCodexHome()
      const r = await deviceLogin(codexHome, env)
      expect(r.code, r.stderr).toBe(0)
      expect(r.stderr).toContain("Logged in using ChatGPT")
      expect(readAuth(codexHome).tokens.oauth_provenance.issuer).toBe(mock.url)
    }
  })

  it("goes through HTTPS_PROXY with the CA: usercode, polling and code exchange all tunnelled", async () => {
    const codexHome = existingCodexHome()
    await mock.control.clearRequests()
    const before = connects()
    const r = await deviceLogin(codexHome, viaProxy())
    expect(r.code, r.stderr).toBe(0)
    expect(await kinds()).toEqual(expect.arrayContaining(["usercode:200", "devicetoken:200", "authorization_code:200"]))
    expect(connects()).toBeGreaterThan(before)
  })
})

describe("refresh and revoke over HTTPS, through the proxy", () => {
  it("token refreshes through the proxy; logout revokes through it; both with the CA", async () => {
    const codexHome = existingCodexHome()
    expect((await deviceLogin(codexHome, viaProxy())).code).toBe(0)
    const auth = readAuth(codexHome)
    auth.tokens.access_token = (await mock.control.mintTokens({ accessTokenTtlSeconds: -60 })).access_token
    writeFileSync(join(codexHome, "auth.json"), JSON.stringify(auth), { mode: 0o600 })

    await mock.control.clearRequests()
    const before = connects()
    const token = await runCli(["--codex-home", codexHome, "token"], { env: viaProxy() })
    expect(token.code, token.stderr).toBe(0)
    expect(await kinds()).toContain("refresh_token:200")

    const logout = await runCli(["--codex-home", codexHome, "logout"], { env: viaProxy() })
    expect(logout.code, logout.stderr).toBe(0)
    expect(logout.stderr).toContain(`Revoked the refresh token at ${mock.url}`)
    expect(await kinds()).toContain("revoke:200")
    expect(connects()).toBeGreaterThanOrEqual(before + 2)
  })

  it("logout without the CA still removes the credentials and says why the revocation failed", async () => {
    const codexHome = existingCodexHome()
    expect((await deviceLogin(codexHome, { CODEX_CA_CERTIFICATE: caPath })).code).toBe(0)
    const tokens = readAuth(codexHome).tokens
    const r = await runCli(["--codex-home", codexHome, "logout"])
    expect(r.code, r.stderr).toBe(0)
    expect(r.stderr).toMatch(/could not revoke/)
    expect(r.stderr).toMatch(/not trusted|UNABLE_TO_VERIFY_LEAF_SIGNATURE/)
    expect(existsSync(join(codexHome, "auth.json"))).toBe(false)
    expect(mock.engine.refreshTokenState(tokens.refresh_token)).toBe("active")
  })
})

describe("browser sign-in over HTTPS (fixed ports)", () => {
  it("code exchange and API-key token exchange go through the proxy with the CA", () =>
    withFixedPortsLock(async () => {
      const codexHome = existingCodexHome()
      await mock.control.clearRequests()
      const before = connects()
      const login = startCli(["--codex-home", codexHome, "login", "--no-browser", "--issuer", mock.url], viaProxy())
      const url = await authorizeUrlOf(login, mock.url)
      await login.waitFor(/Waiting for the sign-in/)
      const authorize = await browserGet(url)
      expect(authorize.status).toBe(302)
      const page = await fetch(authorize.location!)
      expect(page.status).toBe(200)
      const done = await login.exit
      expect(done.code, done.stderr).toBe(0)
      expect(done.stderr).toContain("Logged in using ChatGPT")
      expect(readAuth(codexHome).OPENAI_API_KEY).toMatch(/^sk-mock-/)
      expect(await kinds()).toEqual(expect.arrayContaining(["authorization_code:200", "token_exchange:200"]))
      expect(connects()).toBeGreaterThan(before)
    }))
})
