import { assert, describe, it, layer } from "@effect/vitest"
import { Context, Effect, Layer } from "effect"
import { FetchHttpClient, HttpClient, HttpClientRequest } from "effect/http"
import { MockIssuer } from "../src/index.ts"

const TestLayer = Layer.merge(MockIssuer.layerTest({ device: { intervalSeconds: 1 } }), FetchHttpClient.layer)

describe("MockIssuer service", () => {
  layer(TestLayer, { excludeTestServices: true })("layerTest", (it) => {
    it.effect("serves on an ephemeral 127.0.0.1 port; url has no trailing slash", () =>
      Effect.gen(function*() {
        const issuer = yield* MockIssuer
        assert.match(issuer.url, /^http:\/\/127\.0\.0\.1:\d+$/)
        const client = yield* HttpClient.HttpClient
        const res = yield* client.get(`${issuer.url}/.well-known/openid-configuration`)
        assert.strictEqual(res.status, 200)
        const body = (yield* res.json) as { issuer: string; jwks_uri: string }
        assert.strictEqual(body.issuer, issuer.url)
        assert.strictEqual(body.jwks_uri, `${issuer.url}/.well-known/jwks.json`)
      }))

    it.effect("control operations are Effects; the recorder sees the refresh", () =>
      Effect.gen(function*() {
        const issuer = yield* MockIssuer
        const tokens = yield* issuer.control.mintTokens({ email: "team@example.com" })
        const client = yield* HttpClient.HttpClient
        const res = yield* client.execute(
          HttpClientRequest.post(`${issuer.url}/oauth/token`).pipe(
            HttpClientRequest.bodyJsonUnsafe({ client_id: "app_EMoamEEZ73f0CkXaXp7hrann", grant_type: "refresh_token", refresh_token: tokens.refresh_token })
          )
        )
        assert.strictEqual(res.status, 200)
        const recorded = (yield* issuer.requests).filter((r) => r.kind === "refresh_token")
        assert.strictEqual(recorded.length, 1)
        assert.strictEqual(recorded[0]!.status, 200)
      }))

    it.effect("control failures are MockControlError with the HTTP status", () =>
      Effect.gen(function*() {
        const issuer = yield* MockIssuer
        const error = yield* Effect.flip(issuer.control.approveDevice("NOPE-NOPE"))
        assert.strictEqual(error._tag, "MockControlError")
        assert.strictEqual(error.status, 404)
        assert.strictEqual(error.code, "unknown_user_code")
        const noAccount = yield* Effect.flip(issuer.control.mintTokens({ email: "ghost@example.com" }))
        assert.strictEqual(noAccount.code, "unknown_account")
      }))
  })

  it.live("a fixed port already in use fails with MockServerStartError naming the address", () =>
    Effect.gen(function*() {
      const first = yield* MockIssuer
      const port = Number(new URL(first.url).port)
      const error = yield* Effect.flip(Effect.scoped(Layer.build(MockIssuer.layer({ port, host: "127.0.0.1" }))))
      assert.strictEqual(error._tag, "MockServerStartError")
      assert.include(error.message, `127.0.0.1:${port}`)
      assert.include(error.message, "EADDRINUSE")
    }).pipe(Effect.provide(MockIssuer.layerTest())))

  it.live("closing the scope stops the server", () =>
    Effect.gen(function*() {
      const url = yield* Effect.scoped(Effect.map(Layer.build(MockIssuer.layerTest()), (ctx) => Context.get(ctx, MockIssuer).url))
      const error = yield* Effect.promise(() => fetch(`${url}/.well-known/jwks.json`).then(() => "connected", (e: Error & { cause?: { code?: string } }) => e.cause?.code))
      assert.strictEqual(error, "ECONNREFUSED")
    }))
})
