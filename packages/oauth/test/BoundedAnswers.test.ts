/**
 * Every endpoint reads its answer through the 1 MiB cap: refresh, revoke, the code exchange, the
 * API-key exchange, the device user code and the device poll, each against its own loopback
 * server that answers with an endless chunked 200 or a 200 MB `Content-Length`. Each fails at
 * once with a `NetworkError` naming the cap (the device flow without retrying or polling on).
 */
import { RefreshTransport as Port } from "@codex-auth/core"
import { assert, describe, it } from "@effect/vitest"
import { NodeHttpClient } from "@effect/platform-node"
import { ConfigProvider, Effect, Layer, Redacted, Result } from "effect"
import type { HttpClient } from "effect/http"
import { createServer, type ServerResponse } from "node:http"
import type { AddressInfo } from "node:net"
import * as DeviceCode from "../src/DeviceCode.ts"
import { OAuthConfig } from "../src/OAuthConfig.ts"
import * as RefreshTransport from "../src/RefreshTransport.ts"
import * as TokenEndpoint from "../src/TokenEndpoint.ts"

type Mode = "endless" | "declared"
const chunk = Buffer.alloc(64 * 1024, " ")

const hostile = (mode: Mode) => (res: ServerResponse) => {
  res.writeHead(200, { "content-type": "application/json", ...(mode === "declared" ? { "content-length": String(200 * 1024 * 1024) } : {}) })
  res.write("{\"access_token\":\"")
  const pump = () => {
    while (!res.destroyed && res.write(chunk)) {
      // until the socket buffer is full
    }
    if (!res.destroyed) res.once("drain", pump)
  }
  pump()
}

/** A loopback server answering every request in `mode`; records the paths asked for. */
const hostileServer = (mode: Mode) =>
  Effect.acquireRelease(
    Effect.promise(async () => {
      const requests: Array<string> = []
      const server = createServer((req, res) => {
        req.resume()
        requests.push(req.url ?? "")
        hostile(mode)(res)
      })
      await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()))
      return { server, requests, base: `http://127.0.0.1:${(server.address() as AddressInfo).port}` }
    }),
    ({ server }) =>
      Effect.promise(() =>
        new Promise<void>((r) => {
          server.closeAllConnections()
          server.close(() => r())
        })
      )
  )

const services = (base: string) =>
  Layer.mergeAll(OAuthConfig.layerWith({ issuer: base }), RefreshTransport.layer).pipe(
    Layer.provideMerge(NodeHttpClient.layerUndici),
    Layer.provide(ConfigProvider.layer(ConfigProvider.fromUnknown({})))
  )

const fast: DeviceCode.DeviceFlowOptions = { minInterval: "50 millis", backoffInitial: "50 millis", backoffMax: "200 millis", maxWait: "20 seconds" }

type Failing = Effect.Effect<unknown, { readonly _tag: string; readonly userMessage: string; readonly hint: string | undefined }, Port.RefreshTransport | OAuthConfig | HttpClient.HttpClient>

const cases: ReadonlyArray<readonly [string, string, (base: string) => Failing]> = [
  ["refresh", "/oauth/token", (base) =>
    Effect.gen(function*() {
      const t = yield* Port.RefreshTransport
      return yield* t.refresh({ refreshToken: Redacted.make("rt_secret"), issuer: base, clientId: Port.DEFAULT_CLIENT_ID, reason: "proactive_expiry" })
    })],
  ["revoke", "/oauth/revoke", (base) =>
    Effect.gen(function*() {
      const t = yield* Port.RefreshTransport
      return yield* t.revoke({ token: Redacted.make("rt_secret"), tokenTypeHint: "refresh_token", issuer: base, clientId: Port.DEFAULT_CLIENT_ID })
    })],
  ["code exchange", "/oauth/token", (base) =>
    Effect.gen(function*() {
      const config = yield* OAuthConfig
      return yield* TokenEndpoint.exchangeCode(config, { code: Redacted.make("c"), codeVerifier: Redacted.make("v"), redirectUri: `${base}/cb` })
    })],
  ["device user code", "/api/accounts/deviceauth/usercode", () => DeviceCode.requestDeviceCode(fast)],
  ["device poll", "/api/accounts/deviceauth/token", (base) =>
    DeviceCode.pollUntilApproved({
      deviceAuthId: Redacted.make("dev"),
      userCode: "ABCD-EFGH",
      intervalMs: 50,
      verificationUrl: `${base}/codex/device`,
      expiresAt: new Date(Date.now() + 60_000)
    }, {}, fast)]
]

describe("answers above 1 MiB", () => {
  for (const mode of ["endless", "declared"] as const) {
    for (const [name, path, run] of cases) {
      it.live(`${name}: ${mode === "endless" ? "an endless chunked 200" : "a 200 MB Content-Length"} fails at once, naming the cap, after one request`, () =>
        Effect.gen(function*() {
          const { base, requests } = yield* hostileServer(mode)
          const started = Date.now()
          const error = yield* Effect.flip(run(base).pipe(Effect.provide(services(base))))
          assert.strictEqual(error._tag, "NetworkError")
          assert.include(error.userMessage, "the issuer's answer exceeded 1 MiB")
          assert.include(error.userMessage, path)
          assert.include(error.hint, "issuer URL")
          assert.notInclude(error.userMessage, "rt_secret")
          assert.isBelow(Date.now() - started, 5000)
          assert.deepStrictEqual(requests, [path])
        }).pipe(Effect.scoped))
    }
  }

  it.live("the API-key exchange gives up (best-effort) with the cap as its reason", () =>
    Effect.gen(function*() {
      const { base } = yield* hostileServer("endless")
      const result = yield* Effect.gen(function*() {
        const config = yield* OAuthConfig
        return yield* TokenEndpoint.exchangeForApiKey(config, Redacted.make("a.b.c"))
      }).pipe(Effect.provide(services(base)))
      assert.isTrue(Result.isFailure(result))
      if (Result.isFailure(result)) assert.include(result.failure, "exceeded 1 MiB")
    }).pipe(Effect.scoped))
})
