/**
 * `codex-auth doctor` (built CLI) against the mock issuer over HTTPS: a broken CA setup is
 * explained on one screen with the variable, the path and the next step; a missing CA is
 * diagnosed with the CODEX_CA_CERTIFICATE advice; the route through a real tinyproxy is shown
 * with credentials masked; `--json` carries the same facts; secret values are never printed.
 */
import { existsSync, mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { type RunningMockIssuer, startMockIssuer } from "@codex-auth/mock-server"
import { startTinyproxy, type Tinyproxy } from "@codex-auth/tls/testing/Tinyproxy"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { cliPath, runCli, tempCodexHome } from "../src/Cli.ts"
import { withFixedPortsLock } from "../src/ports.ts"

let mock: RunningMockIssuer
let proxy: Tinyproxy
let dir: string
let caPath: string

beforeAll(async () => {
  if (!existsSync(cliPath)) throw new Error(`${cliPath} does not exist: build it first (pnpm turbo run build)`)
  mock = await startMockIssuer({ tls: true })
  dir = mkdtempSync(join(tmpdir(), "tls-doctor-e2e-"))
  caPath = join(dir, "mock-ca.pem")
  writeFileSync(caPath, mock.caPem!)
  proxy = await startTinyproxy({ connectPorts: [Number(new URL(mock.url).port)] })
}, 30_000)
afterAll(async () => {
  await Promise.all([mock?.close(), proxy?.close()])
})

const doctor = (args: ReadonlyArray<string>, env: Record<string, string>) =>
  runCli(["doctor", "--issuer", mock.url, ...args], { env: { CODEX_HOME: tempCodexHome(), DISPLAY: ":0", ...env } })

describe("codex-auth doctor", () => {
  it("explains a broken CA setup on one screen: variable, path, cause, next step; exit 6", async () => {
    const empty = join(dir, "empty.pem")
    writeFileSync(empty, "")
    const r = await doctor([], { CODEX_CA_CERTIFICATE: empty, SSL_CERT_FILE: caPath })
    expect(r.code, r.stderr).toBe(6)
    const lines = r.stdout.trimEnd().split("\n")
    expect(lines.length).toBeLessThanOrEqual(40)
    expect(r.stdout).toContain(`CA bundle     ${empty} (from CODEX_CA_CERTIFICATE): UNUSABLE (the file is empty)`)
    expect(r.stdout).toContain(`SSL_CERT_FILE=${caPath} ignored (CODEX_CA_CERTIFICATE wins)`)
    const problems = lines.slice(lines.findIndex((l) => l.startsWith("Problems (")))
    expect(problems[1]).toBe(`  ✗ The CA bundle ${empty} (from CODEX_CA_CERTIFICATE) cannot be used: the file is empty`)
    expect(problems[2]).toMatch(/^ {4}→ Point CODEX_CA_CERTIFICATE at a readable PEM file/)
  })

  it("without the CA, the issuer is unreachable and the advice is CODEX_CA_CERTIFICATE", async () => {
    const r = await doctor([], {})
    expect(r.code).toBe(6)
    expect(r.stdout).toContain("CA bundle     none (CODEX_CA_CERTIFICATE and SSL_CERT_FILE unset)")
    expect(r.stdout).toMatch(new RegExp(`Issuer +${mock.url.replace(/[.]/g, "\\.")} NOT reachable directly: the server's TLS certificate is not trusted`))
    expect(r.stdout).toContain("set CODEX_CA_CERTIFICATE=/path/to/root-ca.pem")
  })

  // Holds the fixed-ports lock: a login test holding 1455 and 1457 would make doctor report them.
  it("with the CA and a proxy: reachable through the (masked) proxy, no problems; --json has the same facts", () =>
    withFixedPortsLock(async () => {
      const proxyUrl = `http://alice:pr0xy-secret@127.0.0.1:${proxy.port}`
      const env = { CODEX_CA_CERTIFICATE: caPath, HTTPS_PROXY: proxyUrl, NO_PROXY: "example.com" }
      const before = proxy.requests().length
      const text = await doctor([], env)
      expect(text.code, text.stdout).toBe(0)
      expect(text.stdout).toContain(`CA bundle     ${caPath} (from CODEX_CA_CERTIFICATE): 1 certificate(s), added to`)
      expect(text.stdout).toContain(`Proxy         https → http://***@127.0.0.1:${proxy.port}/ (HTTPS_PROXY); NO_PROXY=example.com`)
      expect(text.stdout).toMatch(new RegExp(`reachable through http://\\*\\*\\*@127\\.0\\.0\\.1:${proxy.port}/ \\(HTTP \\d{3}, \\d+ ms\\); clock skew -?[01] s`))
      expect(proxy.requests().length).toBe(before + 1)

      const json = await doctor(["--json"], env)
      expect(json.code).toBe(0)
      const report = JSON.parse(json.stdout)
      expect(report.schema_version).toBe(1)
      expect(report.ok).toBe(true)
      expect(report.network.ca).toMatchObject({ status: "ok", variable: "CODEX_CA_CERTIFICATE", path: caPath, certificate_count: 1 })
      expect(report.network.ca.certificates[0].subject).toContain("codex-auth mock issuer CA")
      expect(report.network.proxy.issuer_route).toBe(`http://***@127.0.0.1:${proxy.port}/`)
      expect(report.network.issuer).toMatchObject({ url: mock.url, checked: true, reachable: true })
      expect(Math.abs(report.network.issuer.clock_skew_seconds)).toBeLessThanOrEqual(1)
      expect(report.store).toMatchObject({ backend: "file", requested: { value: "file", source: "default" } })
      expect(report.policy.effective.login_methods).toEqual(["chatgpt", "api"])
      for (const out of [text.stdout, text.stderr, json.stdout, json.stderr]) expect(out).not.toContain("pr0xy-secret")
    }))

  it("reports auth env overrides as set/unset, never their values", async () => {
    const r = await doctor(["--offline", "--json"], { CODEX_API_KEY: "sk-doctor-secret-1", CODEX_ACCESS_TOKEN: "at-doctor-secret-2" })
    const report = JSON.parse(r.stdout)
    const byName = Object.fromEntries(report.env_overrides.map((o: { name: string; set: boolean }) => [o.name, o.set]))
    expect(byName).toMatchObject({ CODEX_API_KEY: true, CODEX_ACCESS_TOKEN: true, OPENAI_API_KEY: false })
    expect(report.problems.some((p: { message: string }) => p.message.startsWith("CODEX_API_KEY is set"))).toBe(true)
    expect(report.network.issuer.checked).toBe(false)
    expect(report.network.ports.map((p: { port: number }) => p.port)).toEqual([1455, 1457])
    const text = await doctor(["--offline"], { CODEX_API_KEY: "sk-doctor-secret-1", CODEX_ACCESS_TOKEN: "at-doctor-secret-2" })
    expect(text.stdout).toContain("Env overrides CODEX_API_KEY, CODEX_ACCESS_TOKEN set")
    for (const out of [r.stdout, r.stderr, text.stdout, text.stderr]) expect(out).not.toContain("doctor-secret")
  })
})
