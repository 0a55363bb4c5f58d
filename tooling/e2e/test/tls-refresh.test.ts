/**
 * `codex-auth token` (refresh through the AuthManager, built CLI) against the mock issuer over
 * HTTPS with its private CA: the CA variables (CODEX_CA_CERTIFICATE, SSL_CERT_FILE fallback,
 * precedence) and a real tinyproxy CONNECT proxy (HTTPS_PROXY, NO_PROXY), end to end.
 */
import { existsSync, mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { type RunningMockIssuer, startMockIssuer } from "@codex-auth/mock-server"
import { generateDevCertificates } from "@codex-auth/tls/DevCertificates"
import { startTinyproxy, type Tinyproxy } from "@codex-auth/tls/testing/Tinyproxy"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { cliPath, runCli } from "../src/Cli.ts"
import { existingCodexHome, readAuth, writeChatgptAuth } from "../src/RealCodex.ts"

let mock: RunningMockIssuer
let proxy: Tinyproxy
let caPath: string
let wrongCaPath: string

beforeAll(async () => {
  if (!existsSync(cliPath)) throw new Error(`${cliPath} does not exist: build it first (pnpm turbo run build)`)
  mock = await startMockIssuer({ tls: true })
  const dir = mkdtempSync(join(tmpdir(), "tls-refresh-e2e-"))
  caPath = join(dir, "mock-ca.pem")
  writeFileSync(caPath, mock.caPem!)
  wrongCaPath = join(dir, "unrelated-ca.pem")
  writeFileSync(wrongCaPath, (await generateDevCertificates({ commonName: "unrelated CA" })).caCertPem)
  proxy = await startTinyproxy({ connectPorts: [Number(new URL(mock.url).port)] })
}, 30_000)
afterAll(async () => {
  await Promise.all([mock?.close(), proxy?.close()])
})

/** A CODEX_HOME with mock-minted tokens whose access token expired; refresh goes to the HTTPS mock. */
const expiredSession = async (extra: Record<string, string>) => {
  const tokens = await mock.control.mintTokens({ accessTokenTtlSeconds: -120 })
  const codexHome = existingCodexHome()
  writeChatgptAuth(codexHome, tokens, new Date(Date.now() - 3600_000))
  return { tokens, codexHome, env: { CODEX_HOME: codexHome, CODEX_REFRESH_TOKEN_URL_OVERRIDE: `${mock.url}/oauth/token`, ...extra } }
}

const refreshed = async (extra: Record<string, string>) => {
  const { tokens, codexHome, env } = await expiredSession(extra)
  const run = await runCli(["token"], { env })
  return { run, tokens, codexHome }
}

const mockPort = () => new URL(mock.url).port
const connects = () => proxy.requests().filter((r) => r.startsWith(`CONNECT 127.0.0.1:${mockPort()} `)).length

describe("refresh over HTTPS with a private CA (built CLI)", () => {
  it("succeeds with CODEX_CA_CERTIFICATE", async () => {
    const { run, tokens, codexHome } = await refreshed({ CODEX_CA_CERTIFICATE: caPath })
    expect(run.code, run.stderr).toBe(0)
    expect(run.stdout.trim()).not.toBe(tokens.access_token)
    expect(readAuth(codexHome).tokens.access_token).toBe(run.stdout.trim())
  })

  it("fails without the CA: exit 6, a certificate error, tokens kept", async () => {
    const { run, tokens, codexHome } = await refreshed({})
    expect(run.code, run.stderr).toBe(6)
    expect(run.stdout).toBe("")
    expect(run.stderr).toMatch(/UNABLE_TO_VERIFY_LEAF_SIGNATURE|not trusted/)
    expect(readAuth(codexHome).tokens.refresh_token).toBe(tokens.refresh_token)
  })

  it("falls back to SSL_CERT_FILE (and treats an empty CODEX_CA_CERTIFICATE as unset)", async () => {
    expect((await refreshed({ SSL_CERT_FILE: caPath })).run.code).toBe(0)
    expect((await refreshed({ CODEX_CA_CERTIFICATE: "", SSL_CERT_FILE: caPath })).run.code).toBe(0)
  })

  it("CODEX_CA_CERTIFICATE wins over SSL_CERT_FILE: the shadowed file is neither required nor validated", async () => {
    expect((await refreshed({ CODEX_CA_CERTIFICATE: caPath, SSL_CERT_FILE: wrongCaPath })).run.code).toBe(0)
    expect((await refreshed({ CODEX_CA_CERTIFICATE: caPath, SSL_CERT_FILE: "/nonexistent/ca.pem" })).run.code).toBe(0)
    // (CODEX_CA_CERTIFICATE=wrong with SSL_CERT_FILE=right still connects on Linux: OpenSSL reads
    // SSL_CERT_FILE as the system store location, and system roots are always trusted. docs/tls.md.)
  })

  it("a broken CA bundle is named with its variable and path, before any request", async () => {
    const empty = join(mkdtempSync(join(tmpdir(), "tls-refresh-empty-")), "empty.pem")
    writeFileSync(empty, "")
    await mock.control.clearRequests()
    const { run } = await refreshed({ CODEX_CA_CERTIFICATE: empty, SSL_CERT_FILE: caPath })
    expect(run.code).toBe(6)
    expect(run.stderr).toContain(`${empty} (from CODEX_CA_CERTIFICATE) cannot be used: the file is empty`)
    expect((await mock.requests()).filter((r) => r.kind === "refresh_token")).toHaveLength(0)
  })
})

describe("refresh through a real proxy (tinyproxy) with the private CA", () => {
  it("HTTPS_PROXY: the refresh is tunnelled with CONNECT and the CA verifies the issuer inside", async () => {
    const before = connects()
    const { run } = await refreshed({ HTTPS_PROXY: proxy.url, CODEX_CA_CERTIFICATE: caPath })
    expect(run.code, run.stderr).toBe(0)
    expect(connects()).toBe(before + 1)
  })

  it("lower-case https_proxy with credentials in the URL: works, and the password never shows", async () => {
    const before = connects()
    const { run } = await refreshed({ https_proxy: `http://u:pr0xy-pass@127.0.0.1:${proxy.port}`, CODEX_CA_CERTIFICATE: caPath })
    expect(run.code, run.stderr).toBe(0)
    expect(connects()).toBe(before + 1)
    expect(run.stderr).not.toContain("pr0xy-pass")
  })

  it("NO_PROXY bypasses the proxy", async () => {
    const before = proxy.requests().length
    const { run } = await refreshed({ HTTPS_PROXY: proxy.url, NO_PROXY: "localhost,127.0.0.1", CODEX_CA_CERTIFICATE: caPath })
    expect(run.code, run.stderr).toBe(0)
    expect(proxy.requests().length).toBe(before)
  })
})
