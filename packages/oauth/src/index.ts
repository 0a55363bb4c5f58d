/**
 * OAuth for codex-auth: sign-in flows (browser PKCE, device code), token refresh and revocation
 * (the core `RefreshTransport` port), and an authenticated `HttpClient` middleware.
 *
 * @since 0.1.0
 */
export * as AuthenticatedClient from "./AuthenticatedClient.ts"
export * as RefreshTransport from "./RefreshTransport.ts"
