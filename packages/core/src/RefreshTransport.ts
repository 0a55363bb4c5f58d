/**
 * The wire side of token refresh and revocation as a port, so core stays free of HTTP.
 * `@codex-auth/oauth` implements it against `{issuer}/oauth/token` and `{issuer}/oauth/revoke`.
 *
 * @since 0.1.0
 */
import { Context, type Effect, type Redacted } from "effect"
import type { NetworkError, ReauthRequired } from "./Errors.ts"

export const DEFAULT_ISSUER = "https://auth.openai.com"
export const DEFAULT_CLIENT_ID = "app_EMoamEEZ73f0CkXaXp7hrann"

/** Replaces the whole revocation URL, as in the Codex CLI (read by the transport, and by logout's report). */
export const REVOKE_URL_OVERRIDE_ENV = "CODEX_REVOKE_TOKEN_URL_OVERRIDE"

/** Where a revocation for `issuer` is sent: the override URL when set, else `{issuer}/oauth/revoke`. */
export const revokeUrl = (issuer: string, override: string | undefined): string =>
  override ?? `${issuer.replace(/\/+$/, "")}/oauth/revoke`

export type RefreshReason = "proactive_expiry" | "stale_last_refresh" | "unauthorized"

export interface RefreshRequest {
  readonly refreshToken: Redacted.Redacted<string>
  readonly issuer: string
  readonly clientId: string
  readonly reason: RefreshReason
}

/** What the issuer returned; absent fields keep their stored value. */
export interface RefreshedTokens {
  readonly idToken: Redacted.Redacted<string> | undefined
  readonly accessToken: Redacted.Redacted<string> | undefined
  readonly refreshToken: Redacted.Redacted<string> | undefined
}

export interface RevokeRequest {
  readonly token: Redacted.Redacted<string>
  readonly tokenTypeHint: "refresh_token" | "access_token"
  readonly issuer: string
  readonly clientId: string
}

export interface RefreshTransportShape {
  /**
   * Exactly one POST, never retried (refresh tokens rotate: a replay revokes the grant).
   * Permanent rejections fail with `ReauthRequired`; anything else with `NetworkError`.
   */
  readonly refresh: (request: RefreshRequest) => Effect.Effect<RefreshedTokens, ReauthRequired | NetworkError>
  /** RFC 7009 revocation, best-effort, short timeout. */
  readonly revoke: (request: RevokeRequest) => Effect.Effect<void, NetworkError>
}

export class RefreshTransport extends Context.Service<RefreshTransport, RefreshTransportShape>()(
  "@codex-auth/core/RefreshTransport"
) {}
