/**
 * TLS and network settings for codex-auth: private CA bundles (`CODEX_CA_CERTIFICATE`,
 * `SSL_CERT_FILE`), HTTP(S) proxies, development certificates and network diagnosis.
 *
 * @since 0.1.0
 */
export * as BoundedBody from "./BoundedBody.ts"
export * as CaBundle from "./CaBundle.ts"
export * as DevCertificates from "./DevCertificates.ts"
export * as Proxy from "./Proxy.ts"
export * as Tls from "./Tls.ts"
export * as Diagnose from "./Diagnose.ts"
