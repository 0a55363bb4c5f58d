import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as https from "node:https"
import { createServer, type Server } from "node:net"
import type { AddressInfo } from "node:net"
import { afterAll, beforeAll } from "vitest"
import { detectSession, diagnoseNetwork, probePort } from "../src/Diagnose.ts"
import type { DevCertificates } from "../src/DevCertificates.ts"
import { startTinyproxy, type Tinyproxy } from "../src/testing/Tinyproxy.ts"
import { devCerts, tempDir } from "./support/fixtures.ts"
import { startHttpsServer, type TestServer } from "./support/servers.ts"

const tmp = tempDir()
let certs: DevCertificates
let issuer: TestServer
let skewed: https.Server
let skewedOrigin: string
let proxy: Tinyproxy
let caPath: string
let linuxProc: string

beforeAll(async () => {
  certs = await devCerts()
  issuer = await startHttpsServer(certs)
  skewed = https.createServer({ cert: certs.serverCertPem, key: certs.serverKeyPem }, (_req, res) => {
    res.sendDate = false
    res.writeHead(200, { date: new Date(Date.now() + 10 * 60_000).toUTCString() })
    res.end()
  })
  await new Promise<void>((resolve) => skewed.listen(0, "127.0.0.1", () => resolve()))
  skewedOrigin = `https://127.0.0.1:${(skewed.address() as AddressInfo).port}`
  proxy = await startTinyproxy({ connectPorts: [issuer.port] })
  caPath = tmp.file("ca.pem", certs.caCertPem)
  linuxProc = tmp.file("proc-version", "Linux version 6.1.0-13-amd64 (debian-kernel@lists.debian.org)\n")
})
afterAll(async () => {
  await Promise.all([issuer.close(), proxy.close(), new Promise<void>((r) => skewed.close(() => r()))])
  tmp.cleanup()
})

const base = () => ({ ports: [] as Array<number>, procVersionPath: linuxProc, timeout: "3 seconds" as const })

describe("diagnoseNetwork", () => {
  it.effect("explains a broken CA setup: variable, path, what is wrong, what to do", () =>
    Effect.gen(function*() {
      const empty = tmp.file("empty.pem", "")
      const d = yield* diagnoseNetwork({ ...base(), issuer: issuer.origin, env: { CODEX_CA_CERTIFICATE: empty, SSL_CERT_FILE: caPath, DISPLAY: ":0" } })
      assert.strictEqual(d.ca.status, "error")
      assert.strictEqual(d.ca.variable, "CODEX_CA_CERTIFICATE")
      assert.strictEqual(d.ca.path, empty)
      assert.strictEqual(d.ca.error, "the file is empty")
      assert.deepStrictEqual(d.ca.shadowed, [{ variable: "SSL_CERT_FILE", path: caPath }])
      const first = d.problems[0]
      assert.strictEqual(first?.area, "ca")
      assert.strictEqual(first?.severity, "error")
      assert.include(first?.message, `${empty} (from CODEX_CA_CERTIFICATE) cannot be used: the file is empty`)
      assert.include(first?.next, "CODEX_CA_CERTIFICATE")
      assert.isTrue(d.problems.some((p) => p.severity === "info" && p.message.startsWith(`SSL_CERT_FILE=${caPath} is ignored`)))
      assert.isFalse(d.issuer.checked)
      assert.deepStrictEqual(JSON.parse(JSON.stringify(d)), d)
    }))

  it.effect("with the right CA the issuer is reachable directly, with no clock skew and no problems", () =>
    Effect.gen(function*() {
      const d = yield* diagnoseNetwork({ ...base(), issuer: issuer.origin, env: { CODEX_CA_CERTIFICATE: caPath, DISPLAY: ":0" } })
      assert.strictEqual(d.ca.status, "ok")
      assert.strictEqual(d.ca.certificateCount, 1)
      assert.deepStrictEqual(d.ca.certificates[0]?.subject, "CN=codex-auth test CA, O=codex-auth development")
      assert.isAbove(d.ca.baseRootCount, 100)
      assert.strictEqual(d.proxy.status, "none")
      assert.strictEqual(d.proxy.issuerRoute, "direct")
      assert.isTrue(d.issuer.reachable)
      assert.strictEqual(d.issuer.status, 200)
      assert.isAtMost(Math.abs(d.issuer.clockSkewSeconds ?? 99), 2)
      assert.deepStrictEqual(d.problems, [])
    }))

  it.effect("without the CA the issuer problem suggests CODEX_CA_CERTIFICATE", () =>
    Effect.gen(function*() {
      const d = yield* diagnoseNetwork({ ...base(), issuer: issuer.origin, env: { DISPLAY: ":0" } })
      assert.strictEqual(d.ca.status, "none")
      assert.isFalse(d.issuer.reachable)
      const problem = d.problems.find((p) => p.area === "issuer")
      assert.include(problem?.message, "not trusted")
      assert.include(problem?.next, "CODEX_CA_CERTIFICATE=")
    }))

  it.effect("reports the proxy route (masked) and reaches the issuer through it", () =>
    Effect.gen(function*() {
      const before = proxy.requests().length
      const proxyUrl = `http://user:pa55@127.0.0.1:${proxy.port}`
      const d = yield* diagnoseNetwork({ ...base(), issuer: issuer.origin, env: { HTTPS_PROXY: proxyUrl, SSL_CERT_FILE: caPath, NO_PROXY: "example.com", DISPLAY: ":0" } })
      assert.strictEqual(d.proxy.issuerRoute, `http://***@127.0.0.1:${proxy.port}/`)
      assert.deepStrictEqual(d.proxy.https, { variable: "HTTPS_PROXY", url: `http://***@127.0.0.1:${proxy.port}/` })
      assert.deepStrictEqual(d.proxy.noProxy, { variable: "NO_PROXY", value: "example.com" })
      assert.isTrue(d.issuer.reachable)
      assert.strictEqual(proxy.requests().length, before + 1)
      assert.notInclude(JSON.stringify(d), "pa55")
    }))

  it.effect("flags a proxy variable it cannot use and a skewed clock", () =>
    Effect.gen(function*() {
      const bad = yield* diagnoseNetwork({ ...base(), offline: true, env: { https_proxy: "socks5://p:1080" } })
      assert.strictEqual(bad.proxy.status, "error")
      assert.strictEqual(bad.problems[0]?.area, "proxy")
      const d = yield* diagnoseNetwork({ ...base(), issuer: skewedOrigin, env: { CODEX_CA_CERTIFICATE: caPath, DISPLAY: ":0" } })
      assert.isAtLeast(d.issuer.clockSkewSeconds ?? 0, 590)
      const clock = d.problems.find((p) => p.area === "clock")
      assert.match(clock?.message ?? "", /clock is (59\d|6\d\d) s behind the issuer's/)
    }))

  it.effect("checks the login ports", () =>
    Effect.gen(function*() {
      const holder: Server = createServer()
      yield* Effect.promise(() => new Promise<void>((r) => holder.listen(0, "127.0.0.1", () => r())))
      const busy = (holder.address() as AddressInfo).port
      const free = yield* Effect.promise(async () => {
        const s = createServer()
        await new Promise<void>((r) => s.listen(0, "127.0.0.1", () => r()))
        const p = (s.address() as AddressInfo).port
        await new Promise<void>((r) => s.close(() => r()))
        return p
      })
      const one = yield* diagnoseNetwork({ ...base(), offline: true, ports: [busy, free], env: { DISPLAY: ":0" } })
      assert.deepStrictEqual(one.ports.map((p) => p.status), ["in-use", "free"])
      assert.strictEqual(one.problems.find((p) => p.area === "ports")?.severity, "info")
      const both = yield* diagnoseNetwork({ ...base(), offline: true, ports: [busy], env: { DISPLAY: ":0" } })
      assert.strictEqual(both.problems[0]?.severity, "error")
      assert.include(both.problems[0]?.next, "--device-auth")
      holder.close()
      assert.strictEqual((yield* Effect.promise(() => probePort(free))).status, "free")
    }))
})

describe("detectSession", () => {
  it("detects SSH, a missing display and WSL", async () => {
    const wslProc = tmp.file("proc-wsl", "Linux version 5.15.153.1-microsoft-standard-WSL2\n")
    const ssh = await detectSession({ SSH_CONNECTION: "10.0.0.1 5555 10.0.0.2 22", DISPLAY: ":0" }, linuxProc)
    assert.isTrue(ssh.ssh)
    assert.isTrue(ssh.headless)
    assert.isFalse(ssh.wsl)
    const desktop = await detectSession({ WAYLAND_DISPLAY: "wayland-0" }, linuxProc)
    assert.strictEqual(desktop.display, "wayland-0")
    assert.isFalse(desktop.ssh)
    if (process.platform === "linux") {
      assert.isFalse(desktop.headless)
      assert.isTrue((await detectSession({}, linuxProc)).headless)
      const wsl = await detectSession({}, wslProc)
      assert.isTrue(wsl.wsl)
      assert.isFalse(wsl.headless)
    }
  })
})
