/**
 * The `AuthManager` for commands that need a valid token (`token`): the base layer (CODEX_HOME,
 * configuration, store, startup policy check — from `Services.ts`) plus the refresh transport
 * over the TLS/proxy-aware `HttpClient` of `@codex-auth/tls` (`CODEX_CA_CERTIFICATE`,
 * `SSL_CERT_FILE`, `HTTPS_PROXY`, …).
 *
 * The HTTP stack is built lazily, on the first refresh or revoke: a command that finds a valid
 * token never reads the CA bundle or creates a dispatcher. A CA bundle or proxy problem then
 * surfaces as the refresh's `NetworkError` (exit code 6) with the TLS message and hint.
 *
 * (Its modules are still imported statically: `@codex-auth/tls/Tls` imports the
 * `@effect/platform-node` barrel, which cannot be loaded through a dynamic `import()` from the
 * bundle's payloads. Once it imports `@effect/platform-node/NodeHttpClient` instead, switching the
 * two imports below to `import()` inside `get` saves ~80 ms of start-up on every `token` run.)
 *
 * `tokenProgram` has no effect/cli dependency, so the fast path can run it too.
 *
 * @since 0.1.0
 */
import { AuthManager, Errors, RefreshTransport } from "@codex-auth/core"
import * as HttpRefreshTransport from "@codex-auth/oauth/RefreshTransport"
import * as Tls from "@codex-auth/tls/Tls"
import { Context, Effect, Layer, Redacted } from "effect"
import { stdout } from "./Output.ts"
import { type AppContext, baseLayer } from "./Services.ts"

type TransportShape = RefreshTransport.RefreshTransportShape

const toNetworkError = (e: Errors.UserFacing & { readonly _tag: string }) =>
  new Errors.NetworkError({
    target: "the network configuration (CA bundle, proxy)",
    detail: e.userMessage,
    ...(e.hint !== undefined ? { suggestion: e.hint } : {})
  })

/** `RefreshTransport` whose HttpClient (TLS, proxy) is built on first use, in the layer's scope. */
export const lazyRefreshTransport: Layer.Layer<RefreshTransport.RefreshTransport> = Layer.effect(
  RefreshTransport.RefreshTransport,
  Effect.gen(function*() {
    const scope = yield* Effect.scope
    const get = yield* Effect.cached(
      Layer.buildWithScope(HttpRefreshTransport.layer.pipe(Layer.provide(Tls.layerHttpClient)), scope).pipe(
        Effect.map((context) => Context.get(context, RefreshTransport.RefreshTransport)),
        Effect.mapError(toNetworkError)
      )
    )
    return RefreshTransport.RefreshTransport.of({
      refresh: (request) => Effect.flatMap(get, (t: TransportShape) => t.refresh(request)),
      revoke: (request) => Effect.flatMap(get, (t: TransportShape) => t.revoke(request))
    })
  })
)

/**
 * `AuthManager` (and everything `baseLayer` provides) for a command. The policy was already
 * enforced by `baseLayer`, so the manager skips its own startup check; it keeps the reauth
 * marker in CODEX_HOME.
 */
export const authLayer = (ctx: AppContext) =>
  AuthManager.AuthManager.layerWith({ enforcePolicy: false, codexHome: ctx.codexHome.path }).pipe(
    Layer.provide(lazyRefreshTransport),
    Layer.provideMerge(baseLayer(ctx))
  )

/**
 * `codex-auth token`: prints the bearer token (refreshed first when due) and nothing else on
 * stdout. Shared by the effect/cli command and, once wired, the fast path.
 */
export const tokenProgram = (ctx: AppContext): Effect.Effect<void, unknown> =>
  Effect.gen(function*() {
    const manager = yield* AuthManager.AuthManager
    const bearer = yield* manager.accessToken
    yield* stdout(Redacted.value(bearer))
  }).pipe(Effect.provide(Layer.fresh(authLayer(ctx))))
