/**
 * Runs a test body against an in-process mock issuer (`@codex-auth/mock-server`) with the
 * oauth package's services wired to it: `OAuthConfig` pointing at the mock, an undici
 * `HttpClient`, and the real `RefreshTransport` for revocations.
 */
import { MockIssuer, type MockIssuerShape } from "@codex-auth/mock-server"
import type { MockConfig } from "@codex-auth/mock-server"
import { NodeHttpClient } from "@effect/platform-node"
import { Effect, Layer } from "effect"
import type { HttpClient } from "effect/http"
import type { RefreshTransport as Port } from "@codex-auth/core"
import { OAuthConfig } from "../../src/OAuthConfig.ts"
import * as RefreshTransport from "../../src/RefreshTransport.ts"

export const withMock = <A, E>(
  config: MockConfig.MockConfigInput,
  body: (mock: MockIssuerShape) => Effect.Effect<A, E, OAuthConfig | HttpClient.HttpClient | Port.RefreshTransport>,
  options: { readonly autoApprove?: boolean } = {}
) =>
  Effect.gen(function*() {
    const mock = yield* MockIssuer
    return yield* body(mock).pipe(
      Effect.provide(Layer.mergeAll(
        OAuthConfig.layerWith({ issuer: mock.url }),
        RefreshTransport.layerWith({ revokeTimeout: "3 seconds" })
      ).pipe(Layer.provideMerge(NodeHttpClient.layerUndici)))
    )
  }).pipe(Effect.provide(MockIssuer.layerTest({ allowAnyLoopbackPort: true, ...config }, options.autoApprove === undefined ? {} : { autoApprove: options.autoApprove })))

/** fetch without following redirects. */
export const fetchManual = (url: string) => Effect.promise(() => fetch(url, { redirect: "manual" }))
