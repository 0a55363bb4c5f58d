/**
 * A faithful local stand-in for auth.openai.com: browser sign-in with PKCE, Codex's device-code
 * protocol, refresh-token rotation with reuse detection, token exchange for an API key,
 * revocation, discovery and JWKS, with fault injection, a request recorder and a control API.
 *
 * @since 0.1.0
 */
export * as Control from "./Control.ts"
export * as Faults from "./Faults.ts"
export * as HttpApp from "./HttpApp.ts"
export * as Issuer from "./Issuer.ts"
export * as MockConfig from "./MockConfig.ts"
export * as Pages from "./Pages.ts"
export * as Redaction from "./Redaction.ts"
export * as Signer from "./Signer.ts"
export { type DeviceChoice, make, MockControlError, MockIssuer, type MockIssuerControl, type MockIssuerOptions, type MockIssuerShape, MockServerStartError } from "./MockIssuer.ts"
export { type MockIssuerControlAsync, type RunningMockIssuer, startMockIssuer } from "./PromiseApi.ts"
export { fingerprint } from "./Redaction.ts"
export type { DeviceSummary, PendingAuthorization, RecordedRequest, RequestKind, TokenSet } from "./Issuer.ts"
export type { FaultEndpoint, FaultRule } from "./Faults.ts"
