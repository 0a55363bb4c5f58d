/**
 * OAuth for codex-auth: sign-in flows (browser PKCE, device code), token refresh and revocation
 * (the core `RefreshTransport` port), and an authenticated `HttpClient` middleware.
 *
 * @since 0.1.0
 */
export * as AuthenticatedClient from "./AuthenticatedClient.ts"
export * as Authorize from "./Authorize.ts"
export * as Browser from "./Browser.ts"
export * as BrowserLogin from "./BrowserLogin.ts"
export * as Callback from "./Callback.ts"
export * as DeviceCode from "./DeviceCode.ts"
export * as LoginError from "./LoginError.ts"
export * as Logout from "./Logout.ts"
export * as LoopbackServer from "./LoopbackServer.ts"
export * as OAuthConfig from "./OAuthConfig.ts"
export * as Pages from "./Pages.ts"
export * as Persist from "./Persist.ts"
export * as Pkce from "./Pkce.ts"
export * as RefreshTransport from "./RefreshTransport.ts"
export * as SignInServices from "./SignInServices.ts"
export * as TokenEndpoint from "./TokenEndpoint.ts"
