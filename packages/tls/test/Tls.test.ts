import { assert, describe, it } from "@effect/vitest"
import { NodeHttpClient } from "@effect/platform-node"
import { Effect, Layer } from "effect"
import { HttpClient } from "effect/http"
import * as https from "node:https"
import { afterAll, beforeAll } from "vitest"
import { generateDevCertificates, type DevCertificates } from "../src/DevCertificates.ts"
import * as Tls from "../src/Tls.ts"
import { devCerts, tempDir } from "./support/fixtures.ts"
import { startHttpsServer, type TestServer } from "./support/servers.ts"

const tmp = tempDir()
let certs: DevCertificates
let server: TestServer
let caPath: string
let wrongCaPath: string

beforeAll(async () => {
  certs = await devCerts()
  server = await startHttpsServer(certs)
  caPath = tmp.file("ca.pem", certs.caCertPem)
  wrongCaPath = tmp.file("wrong-ca.pem", (await generateDevCertificates({ commonName: "unrelated CA" })).caCertPem)
})
afterAll(async () => {
  await server.close()
  tmp.cleanup()
})

/** GET through the HttpClient built from `env` only (never process.env). */
const get = (env: Record<string, string>, path = "/ping") =>
  Effect.gen(function*() {
    const client = yield* HttpClient.HttpClient
    const response = yield* client.get(`${server.origin}${path}`)
    return { status: response.status, body: yield* response.text }
  }).pipe(Effect.provide(Tls.layerHttpClientWith(env)))

describe("Tls.layerHttpClient over HTTPS with a private CA", () => {
  it.effect("fails without the CA, and the explanation suggests CODEX_CA_CERTIFICATE", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(get({}))
      assert.strictEqual(error._tag, "HttpClientError")
      const failure = Tls.describeNetworkFailure(error, { ca: undefined })
      assert.strictEqual(failure.code, "UNABLE_TO_VERIFY_LEAF_SIGNATURE")
      assert.match(failure.detail, /not trusted/)
      assert.include(failure.suggestion, "CODEX_CA_CERTIFICATE=")
      assert.isTrue(failure.permanent)
      assert.isTrue(Tls.isPermanentNetworkFailure(error))
      const networkError = Tls.toNetworkError("GET https://127.0.0.1/ping", error, { ca: undefined })
      assert.strictEqual(networkError.exitCode, 6)
      assert.include(networkError.hint, "CODEX_CA_CERTIFICATE")
    }))

  it.effect("succeeds with CODEX_CA_CERTIFICATE", () =>
    Effect.gen(function*() {
      assert.deepStrictEqual(yield* get({ CODEX_CA_CERTIFICATE: caPath }, "/a"), { status: 200, body: "hello /a" })
    }))

  it.effect("falls back to SSL_CERT_FILE, also when CODEX_CA_CERTIFICATE is empty", () =>
    Effect.gen(function*() {
      assert.strictEqual((yield* get({ SSL_CERT_FILE: caPath })).status, 200)
      assert.strictEqual((yield* get({ CODEX_CA_CERTIFICATE: "", SSL_CERT_FILE: caPath })).status, 200)
    }))

  it.effect("CODEX_CA_CERTIFICATE wins when both are set", () =>
    Effect.gen(function*() {
      assert.strictEqual((yield* get({ CODEX_CA_CERTIFICATE: caPath, SSL_CERT_FILE: wrongCaPath })).status, 200)
      const error = yield* Effect.flip(get({ CODEX_CA_CERTIFICATE: wrongCaPath, SSL_CERT_FILE: caPath }))
      const failure = Tls.describeNetworkFailure(error, { ca: { variable: "CODEX_CA_CERTIFICATE", path: wrongCaPath, shadowed: [] } })
      assert.match(failure.detail, /not trusted/)
      assert.include(failure.suggestion, `${wrongCaPath} (from CODEX_CA_CERTIFICATE)`)
    }))

  it.effect("a broken bundle fails the layer with TlsConfigError before any request", () =>
    Effect.gen(function*() {
      const hitsBefore = server.hits()
      const error = yield* Effect.flip(get({ CODEX_CA_CERTIFICATE: tmp.file("empty.pem", "") }))
      assert.strictEqual(error._tag, "TlsConfigError")
      if (error._tag === "TlsConfigError") {
        assert.strictEqual(error.variable, "CODEX_CA_CERTIFICATE")
        assert.match(error.userMessage, /empty\.pem \(from CODEX_CA_CERTIFICATE\) cannot be used: the file is empty/)
      }
      assert.strictEqual(server.hits(), hitsBefore)
    }))

  it.effect("the layer also provides the Dispatcher it uses, and nodeTlsOptions trust the same roots", () =>
    Effect.gen(function*() {
      const dispatcher = yield* NodeHttpClient.Dispatcher.pipe(Effect.provide(Layer.fresh(Tls.layerDispatcherWith({ SSL_CERT_FILE: caPath }))))
      assert.isFunction(dispatcher.dispatch)
      const settings = yield* Tls.loadNetworkSettings({ SSL_CERT_FILE: caPath })
      const body = yield* Effect.promise(() =>
        new Promise<string>((resolve, reject) => {
          https.get(`${server.origin}/node`, Tls.nodeTlsOptions(settings), (res) => {
            let text = ""
            res.on("data", (c: Buffer) => (text += c.toString()))
            res.on("end", () => resolve(text))
          }).on("error", reject)
        })
      )
      assert.strictEqual(body, "hello /node")
      assert.deepStrictEqual(Tls.describeNetworkSettings(settings).ca?.subjects, ["CN=codex-auth test CA, O=codex-auth development"])
    }))
})

describe("describeNetworkFailure", () => {
  it.effect("a certificate for another host is explained as such", () =>
    Effect.gen(function*() {
      const other = yield* Effect.promise(() => generateDevCertificates({ hosts: ["codex.test"] }))
      const mismatch = yield* Effect.promise(() => startHttpsServer(other))
      try {
        const path = tmp.file("other-ca.pem", other.caCertPem)
        const error = yield* Effect.flip(
          Effect.gen(function*() {
            const client = yield* HttpClient.HttpClient
            return yield* client.get(`${mismatch.origin}/`)
          }).pipe(Effect.provide(Tls.layerHttpClientWith({ CODEX_CA_CERTIFICATE: path })))
        )
        const failure = Tls.describeNetworkFailure(error, { ca: undefined })
        assert.strictEqual(failure.code, "ERR_TLS_CERT_ALTNAME_INVALID")
        assert.match(failure.detail, /does not name this host/)
      } finally {
        yield* Effect.promise(() => mismatch.close())
      }
    }))

  it("walks Effect and undici error graphs, and leaves unknown errors readable", () => {
    const refused = Tls.describeNetworkFailure({ reason: { cause: { message: "fetch failed", cause: { code: "ECONNREFUSED", message: "connect ECONNREFUSED 127.0.0.1:9" } } } }, { ca: undefined })
    assert.strictEqual(refused.code, "ECONNREFUSED")
    assert.include(refused.detail, "ECONNREFUSED")
    assert.include(refused.suggestion, "proxy")
    assert.isFalse(refused.permanent)
    const plain = Tls.describeNetworkFailure(new Error("boom"), { ca: undefined })
    assert.strictEqual(plain.detail, "boom")
    assert.include(plain.suggestion, "then try again", "an unknown failure still gets a next step")
  })
})

describe("Tls.openWebSocket over WSS with a private CA", () => {
  const exchange = (env: Record<string, string>) =>
    Effect.gen(function*() {
      const settings = yield* Tls.loadNetworkSettings(env)
      const socket = yield* Tls.openWebSocket(`wss://127.0.0.1:${server.port}/socket`, { ca: settings.ca })
      return yield* Effect.callback<string>((resume) => {
        socket.addEventListener("message", (event) => resume(Effect.succeed(String(event.data))), { once: true })
        socket.send("hi")
      })
    }).pipe(Effect.scoped, Effect.provide(Tls.layerDispatcherWith(env)))

  it.effect("fails without the CA, with the CODEX_CA_CERTIFICATE hint", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(exchange({}))
      assert.strictEqual(error._tag, "NetworkError")
      if (error._tag === "NetworkError") {
        assert.include(error.userMessage, "WebSocket wss://127.0.0.1")
        assert.include(error.hint, "CODEX_CA_CERTIFICATE")
      }
    }))

  it.effect("connects and exchanges messages with the CA", () =>
    Effect.gen(function*() {
      assert.strictEqual(yield* exchange({ CODEX_CA_CERTIFICATE: caPath }), "echo hi")
    }))
})
