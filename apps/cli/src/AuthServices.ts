/**
 * The `AuthManager` for commands that need a valid token (`token`): the base layer (CODEX_HOME,
 * configuration, store, startup policy check — from `Services.ts`) plus a refresh transport:
 * `lazyRefreshTransport` (see `LazyRefreshTransport.ts`: the TLS/proxy-aware HTTP stack, built and
 * loaded on the first refresh or revoke), or on the fast path `HandOff.handOffTransport`.
 *
 * The `token` program itself is `programs/Token.ts`, shared by the command and the fast path.
 *
 * @since 0.1.0
 */
import { AuthManager, type RefreshTransport } from "@codex-auth/core"
import { Layer } from "effect"
import { type AppContext, baseLayer } from "./Services.ts"

export { lazyRefreshTransport } from "./LazyRefreshTransport.ts"

/**
 * `AuthManager` (and everything `baseLayer` provides) for a command. The policy was already
 * enforced by `baseLayer`, so the manager skips its own startup check; it keeps the reauth
 * marker in CODEX_HOME. `transport` is `lazyRefreshTransport`, except on the fast path, which
 * hands a run that must refresh over to the full CLI (see `programs/HandOff.ts`).
 */
export const authLayer = (ctx: AppContext, transport: Layer.Layer<RefreshTransport.RefreshTransport>) =>
  AuthManager.AuthManager.layerWith({ enforcePolicy: false, codexHome: ctx.codexHome.path }).pipe(
    Layer.provide(transport),
    Layer.provideMerge(baseLayer(ctx))
  )
