/**
 * Which issuer and client the sign-in flows talk to, and the headers they send.
 *
 * The issuer comes from `--issuer` (or Codex's spelling `--experimental_issuer`), else the
 * `CODEX_AUTH_ISSUER` environment variable, else `https://auth.openai.com`; the client id from
 * `--client-id` (`--experimental_client-id`), else `CODEX_AUTH_CLIENT_ID`, else Codex's public
 * client. An issuer must be `https://`, or `http://` on a loopback address (a local test issuer
 * such as the mock); anything else is refused before a request is sent, so a typo can never send
 * an authorization code to a stranger in clear text.
 *
 * @since 0.1.0
 */
import { Errors, RefreshTransport } from "@codex-auth/core"
import { Context, Effect, Layer, Result } from "effect"

export const ISSUER_ENV = "CODEX_AUTH_ISSUER"
export const CLIENT_ID_ENV = "CODEX_AUTH_CLIENT_ID"
/** The `originator` value the Codex CLI sends (authorize URL and token requests). */
export const DEFAULT_ORIGINATOR = "codex_cli_rs"

const VERSION = "0.1.0"

export interface OAuthClientConfig {
  /** Issuer base URL without a trailing slash, e.g. `https://auth.openai.com`. */
  readonly issuer: string
  readonly clientId: string
  readonly originator: string
  readonly userAgent: string
}

export const defaultUserAgent = (): string =>
  `codex-auth/${VERSION} (${process.platform}; ${process.arch}) node/${process.versions.node}`

const defaults = (): OAuthClientConfig => ({
  issuer: RefreshTransport.DEFAULT_ISSUER,
  clientId: RefreshTransport.DEFAULT_CLIENT_ID,
  originator: DEFAULT_ORIGINATOR,
  userAgent: defaultUserAgent()
})

export class OAuthConfig extends Context.Service<OAuthConfig, OAuthClientConfig>()("@codex-auth/oauth/OAuthConfig") {
  /** The production issuer and Codex's public client. */
  static readonly layer = Layer.succeed(OAuthConfig, OAuthConfig.of(defaults()))
  /** A fixed configuration (tests, library users). */
  static readonly layerWith = (config: Partial<OAuthClientConfig> & { readonly issuer: string }) =>
    Layer.succeed(OAuthConfig, OAuthConfig.of({ ...defaults(), ...config, issuer: config.issuer.replace(/\/+$/, "") }))
}

const LOOPBACK_HOSTS = new Set(["localhost", "127.0.0.1", "[::1]"])

/**
 * Checks an issuer URL and normalises it (no trailing slash). `source` names where it came from
 * (`--issuer`, `CODEX_AUTH_ISSUER`) for the message.
 */
export const validateIssuer = (value: string, source: string): Result.Result<string, Errors.UsageError> => {
  const fail = (why: string) =>
    Result.fail(
      new Errors.UsageError({
        detail: `the issuer URL from ${source} cannot be used: ${why}`,
        suggestion: `Give an https:// URL (http:// only for a loopback test issuer), or unset ${source} to use ${RefreshTransport.DEFAULT_ISSUER}.`
      })
    )
  let url: URL
  try {
    url = new URL(value.trim())
  } catch {
    return fail("it is not a URL")
  }
  if (url.username !== "" || url.password !== "") return fail("it must not contain a user name or password")
  if (url.search !== "" || url.hash !== "") return fail("it must not have a query or fragment")
  if (url.protocol === "http:") {
    if (!LOOPBACK_HOSTS.has(url.hostname)) return fail("plain http:// is only allowed for localhost, 127.0.0.1 or [::1]")
  } else if (url.protocol !== "https:") {
    return fail(`the scheme ${url.protocol} is not supported`)
  }
  return Result.succeed(`${url.protocol}//${url.host}${url.pathname}`.replace(/\/+$/, ""))
}

export interface ResolveOptions {
  /** `--issuer` / `--experimental_issuer`, when given. */
  readonly issuer?: string | undefined
  /** `--client-id` / `--experimental_client-id`, when given. */
  readonly clientId?: string | undefined
  readonly env?: Readonly<Record<string, string | undefined>>
}

const nonEmpty = (s: string | undefined) => (s !== undefined && s.trim().length > 0 ? s.trim() : undefined)

/** Resolves flags, then environment, then defaults. */
export const resolve = (options: ResolveOptions = {}): Effect.Effect<OAuthClientConfig, Errors.UsageError> =>
  Effect.gen(function*() {
    const env = options.env ?? process.env
    const base = defaults()
    const flagIssuer = nonEmpty(options.issuer)
    const envIssuer = nonEmpty(env[ISSUER_ENV])
    const issuer = flagIssuer !== undefined
      ? yield* Effect.fromResult(validateIssuer(flagIssuer, "--issuer"))
      : envIssuer !== undefined
      ? yield* Effect.fromResult(validateIssuer(envIssuer, ISSUER_ENV))
      : base.issuer
    const clientId = nonEmpty(options.clientId) ?? nonEmpty(env[CLIENT_ID_ENV]) ?? base.clientId
    if (!/^[\x21-\x7e]{1,200}$/.test(clientId)) {
      return yield* new Errors.UsageError({ detail: "the client id must be printable ASCII without spaces", suggestion: `Remove --client-id / ${CLIENT_ID_ENV} to use Codex's public client.` })
    }
    return { ...base, issuer, clientId }
  })

/** {@link resolve} as a layer. */
export const layerResolved = (options: ResolveOptions = {}): Layer.Layer<OAuthConfig, Errors.UsageError> =>
  Layer.effect(OAuthConfig, Effect.map(resolve(options), (c) => OAuthConfig.of(c)))
