/**
 * The refresh transport of the full CLI: `@codex-auth/oauth`'s `RefreshTransport` over the
 * TLS/proxy-aware `HttpClient` of `@codex-auth/tls` (`CODEX_CA_CERTIFICATE`, `SSL_CERT_FILE`,
 * `HTTPS_PROXY`, …), built lazily, on the first refresh or revoke: a command that finds a valid
 * token never reads the CA bundle or creates a dispatcher, nor evaluates the modules of that
 * stack (`import("./RefreshHttp.ts")`). A CA bundle or proxy problem then surfaces as the
 * refresh's `NetworkError` (exit code 6) with the TLS message and hint.
 *
 * A module of its own (re-exported by `AuthServices`) so that bundles that never refresh, such as
 * the CLI's fast path, do not include the HTTP stack: esbuild bundles the target of an `import()`
 * whenever the module holding it is bundled.
 *
 * @since 0.1.0
 */
import { Errors, RefreshTransport } from "@codex-auth/core"
import { Context, Effect, Layer } from "effect"

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
      Effect.promise(() => import("./RefreshHttp.ts")).pipe(
        Effect.flatMap((http) => Layer.buildWithScope(http.layer, scope)),
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
