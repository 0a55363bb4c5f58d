import { assert, describe, it } from "@effect/vitest"
import { Effect, Redacted } from "effect"
import { HttpClient } from "effect/http"
import * as http from "node:http"
import * as https from "node:https"
import { type AddressInfo, connect as netConnect } from "node:net"
import { afterAll, beforeAll } from "vitest"
import type { DevCertificates } from "../src/DevCertificates.ts"
import { bypassesProxy, maskProxyUrl, proxyFor, readProxySettings } from "../src/Proxy.ts"
import { startTinyproxy, type Tinyproxy } from "../src/testing/Tinyproxy.ts"
import * as Tls from "../src/Tls.ts"
import { devCerts, tempDir } from "./support/fixtures.ts"
import { startHttpsServer, type TestServer } from "./support/servers.ts"

describe("readProxySettings", () => {
  it("reads either case (lower-case first), treats empty as unset, and lets https fall back to the HTTP proxy", () => {
    const a = readProxySettings({ HTTPS_PROXY: "http://upper:1", https_proxy: "http://lower:2", HTTP_PROXY: "", NO_PROXY: "localhost" })
    assert.ok(!(a instanceof Error))
    if (a instanceof Error) return
    assert.strictEqual(a.https?.variable, "https_proxy")
    assert.strictEqual(a.https?.display, "http://lower:2/")
    assert.strictEqual(a.http, undefined)
    assert.deepStrictEqual(a.noProxy, { variable: "NO_PROXY", value: "localhost" })
    const b = readProxySettings({ HTTP_PROXY: "proxy.corp:3128" })
    assert.ok(!(b instanceof Error))
    if (b instanceof Error) return
    assert.strictEqual(b.http?.display, "http://proxy.corp:3128/")
    assert.strictEqual(b.https, b.http)
    const none = readProxySettings({})
    assert.deepStrictEqual(none, { http: undefined, https: undefined, noProxy: undefined })
  })

  it("keeps credentials out of everything printable", () => {
    const s = readProxySettings({ HTTPS_PROXY: "http://alice:s3cret@proxy:8080" })
    assert.ok(!(s instanceof Error))
    if (s instanceof Error) return
    assert.strictEqual(s.https?.display, "http://***@proxy:8080/")
    assert.strictEqual(Redacted.value(s.https!.url), "http://alice:s3cret@proxy:8080/")
    assert.notInclude(JSON.stringify(s), "s3cret")
    assert.notInclude(String(s.https?.url), "s3cret")
    assert.strictEqual(maskProxyUrl("alice:s3cret@proxy:8080"), "***@proxy:8080")
    const bad = readProxySettings({ https_proxy: "socks5://bob:hunter2@proxy:1080" })
    assert.ok(bad instanceof Error)
    if (!(bad instanceof Error)) return
    assert.strictEqual(bad._tag, "ProxyConfigError")
    assert.include(bad.userMessage, "https_proxy=socks5://***@proxy:1080")
    assert.include(bad.userMessage, "socks5 scheme is not supported")
    assert.notInclude(bad.userMessage + bad.hint, "hunter2")
  })

  it("matches NO_PROXY like undici", () => {
    const s = readProxySettings({ HTTPS_PROXY: "http://p:1", NO_PROXY: ".corp.example, localhost:8443, [::1], *.svc" })
    assert.ok(!(s instanceof Error))
    if (s instanceof Error) return
    assert.isTrue(bypassesProxy(s, "https://corp.example/"))
    assert.isTrue(bypassesProxy(s, "https://auth.corp.example/x"))
    assert.isTrue(bypassesProxy(s, "https://localhost:8443/"))
    assert.isFalse(bypassesProxy(s, "https://localhost/"))
    assert.isTrue(bypassesProxy(s, "https://[::1]:9/"))
    assert.isTrue(bypassesProxy(s, "https://a.svc/"))
    assert.isFalse(bypassesProxy(s, "https://svc/"))
    assert.strictEqual(proxyFor(s, "https://auth.openai.com/")?.display, "http://p:1/")
    assert.strictEqual(proxyFor(s, "wss://auth.openai.com/")?.display, "http://p:1/")
  })
})

describe("through a real tinyproxy", () => {
  const tmp = tempDir()
  let certs: DevCertificates
  let server: TestServer
  let plain: http.Server
  let plainPort: number
  let proxy: Tinyproxy
  let authProxy: Tinyproxy
  let caPath: string

  beforeAll(async () => {
    certs = await devCerts()
    server = await startHttpsServer(certs)
    plain = http.createServer((req, res) => res.end(`plain ${req.url}`))
    await new Promise<void>((resolve) => plain.listen(0, "127.0.0.1", () => resolve()))
    plainPort = (plain.address() as AddressInfo).port
    caPath = tmp.file("ca.pem", certs.caCertPem)
    ;[proxy, authProxy] = await Promise.all([
      startTinyproxy({ connectPorts: [server.port] }),
      startTinyproxy({ connectPorts: [server.port], basicAuth: { user: "alice", password: "s3cret" } })
    ])
  })
  afterAll(async () => {
    await Promise.all([proxy?.close(), authProxy?.close(), server?.close()])
    plain?.close()
    tmp.cleanup()
  })

  const get = (env: Record<string, string>, url: string) =>
    Effect.gen(function*() {
      const client = yield* HttpClient.HttpClient
      const response = yield* client.get(url)
      return { status: response.status, body: yield* response.text }
    }).pipe(Effect.provide(Tls.layerHttpClientWith(env)))

  const connects = (p: Tinyproxy) => p.requests().filter((r) => r.startsWith(`CONNECT 127.0.0.1:${server.port} `)).length

  it.effect("HTTPS_PROXY tunnels with CONNECT and the custom CA verifies the origin inside the tunnel", () =>
    Effect.gen(function*() {
      const before = connects(proxy)
      const ok = yield* get({ HTTPS_PROXY: proxy.url, CODEX_CA_CERTIFICATE: caPath }, `${server.origin}/via-proxy`)
      assert.deepStrictEqual(ok, { status: 200, body: "hello /via-proxy" })
      assert.strictEqual(connects(proxy), before + 1)
      // Same proxy, no CA: the tunnel is made, and the origin's certificate is rejected.
      const error = yield* Effect.flip(get({ HTTPS_PROXY: proxy.url }, `${server.origin}/no-ca`))
      assert.strictEqual(connects(proxy), before + 2)
      assert.strictEqual(Tls.describeNetworkFailure(error, { ca: undefined }).code, "UNABLE_TO_VERIFY_LEAF_SIGNATURE")
    }))

  it.effect("lower-case https_proxy and the HTTP_PROXY fallback are honoured", () =>
    Effect.gen(function*() {
      const before = connects(proxy)
      assert.strictEqual((yield* get({ https_proxy: proxy.url, SSL_CERT_FILE: caPath }, `${server.origin}/lower`)).status, 200)
      assert.strictEqual((yield* get({ HTTP_PROXY: proxy.url, SSL_CERT_FILE: caPath }, `${server.origin}/fallback`)).status, 200)
      assert.strictEqual(connects(proxy), before + 2)
    }))

  it.effect("NO_PROXY (either case) bypasses the proxy", () =>
    Effect.gen(function*() {
      const before = proxy.requests().length
      const hits = server.hits()
      for (const env of [{ NO_PROXY: "127.0.0.1" }, { no_proxy: `example.com, 127.0.0.1:${server.port}` }]) {
        const ok = yield* get({ HTTPS_PROXY: proxy.url, CODEX_CA_CERTIFICATE: caPath, ...env }, `${server.origin}/direct`)
        assert.strictEqual(ok.status, 200)
      }
      assert.strictEqual(server.hits(), hits + 2)
      assert.strictEqual(proxy.requests().length, before)
    }))

  it.effect("plain http:// goes through HTTP_PROXY as an absolute-form request", () =>
    Effect.gen(function*() {
      const ok = yield* get({ HTTP_PROXY: proxy.url }, `http://127.0.0.1:${plainPort}/p`)
      assert.deepStrictEqual(ok, { status: 200, body: "plain /p" })
      assert.include(proxy.requests(), `GET http://127.0.0.1:${plainPort}/p HTTP/1.1`)
    }))

  it.effect("proxy credentials from the URL are sent; without them the 407 is explained, with no secret shown", () =>
    Effect.gen(function*() {
      const withAuth = `http://alice:s3cret@127.0.0.1:${authProxy.port}`
      assert.strictEqual((yield* get({ HTTPS_PROXY: withAuth, CODEX_CA_CERTIFICATE: caPath }, `${server.origin}/auth`)).status, 200)
      const error = yield* Effect.flip(get({ HTTPS_PROXY: authProxy.url, CODEX_CA_CERTIFICATE: caPath }, `${server.origin}/auth`))
      const failure = Tls.describeNetworkFailure(error, { ca: undefined })
      assert.match(failure.detail, /407/)
      assert.include(failure.suggestion, "HTTPS_PROXY")
      const wrong = yield* Effect.flip(get({ HTTPS_PROXY: `http://alice:wrong-pass@127.0.0.1:${authProxy.port}`, CODEX_CA_CERTIFICATE: caPath }, `${server.origin}/auth`))
      const explained = Tls.toNetworkError("GET /auth", wrong, { ca: undefined })
      assert.notInclude(`${explained.userMessage} ${explained.hint}`, "wrong-pass")
    }))

  it.effect("WebSockets use the same proxy and CA", () =>
    Effect.gen(function*() {
      const before = connects(proxy)
      const env = { HTTPS_PROXY: proxy.url, CODEX_CA_CERTIFICATE: caPath }
      const reply = yield* Effect.gen(function*() {
        const socket = yield* Tls.openWebSocket(`wss://127.0.0.1:${server.port}/ws`)
        return yield* Effect.callback<string>((resume) => {
          socket.addEventListener("message", (event) => resume(Effect.succeed(String(event.data))), { once: true })
          socket.send("through the tunnel")
        })
      }).pipe(Effect.scoped, Effect.provide(Tls.layerDispatcherWith(env)))
      assert.strictEqual(reply, "echo through the tunnel")
      assert.strictEqual(connects(proxy), before + 1)
    }))

  it.effect("an https:// proxy is verified with the same trust store (CONNECT over TLS to the proxy)", () =>
    Effect.gen(function*() {
      // A real CONNECT proxy speaking TLS itself, with a certificate from the private CA.
      let tunnels = 0
      const tlsProxy = https.createServer({ cert: certs.serverCertPem, key: certs.serverKeyPem })
      tlsProxy.on("connect", (req: http.IncomingMessage, client: import("node:stream").Duplex, head: Buffer) => {
        tunnels++
        const [host, port] = (req.url ?? "").split(":")
        const upstream = netConnect(Number(port), host ?? "127.0.0.1", () => {
          client.write("HTTP/1.1 200 Connection Established\r\n\r\n")
          upstream.write(head)
          upstream.pipe(client)
          client.pipe(upstream)
        })
        upstream.on("error", () => client.destroy())
        client.on("error", () => upstream.destroy())
      })
      yield* Effect.promise(() => new Promise<void>((resolve) => tlsProxy.listen(0, "127.0.0.1", () => resolve())))
      const proxyUrl = `https://localhost:${(tlsProxy.address() as AddressInfo).port}`
      try {
        const ok = yield* get({ HTTPS_PROXY: proxyUrl, CODEX_CA_CERTIFICATE: caPath }, `${server.origin}/tls-proxy`)
        assert.deepStrictEqual(ok, { status: 200, body: "hello /tls-proxy" })
        assert.strictEqual(tunnels, 1)
        const error = yield* Effect.flip(get({ HTTPS_PROXY: proxyUrl }, `${server.origin}/tls-proxy`))
        assert.strictEqual(tunnels, 1) // refused at the proxy's own certificate, before any CONNECT
        assert.strictEqual(Tls.describeNetworkFailure(error, { ca: undefined }).code, "UNABLE_TO_VERIFY_LEAF_SIGNATURE")
      } finally {
        tlsProxy.closeAllConnections()
        yield* Effect.promise(() => new Promise<void>((resolve) => tlsProxy.close(() => resolve())))
      }
    }))
})
