/**
 * The refresh transport over the TLS/proxy-aware `HttpClient` (`@codex-auth/oauth`'s
 * `RefreshTransport` on `@codex-auth/tls`'s client). Kept in a module of its own so that
 * `AuthServices` can `import()` it when the first refresh or revoke is sent: `token` runs that
 * find a valid token never load the HTTP stack.
 *
 * @since 0.1.0
 */
import * as HttpRefreshTransport from "@codex-auth/oauth/RefreshTransport"
import * as Tls from "@codex-auth/tls/Tls"
import { Layer } from "effect"

export const layer = HttpRefreshTransport.layer.pipe(Layer.provide(Tls.layerHttpClient))
