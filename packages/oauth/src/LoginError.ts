/**
 * The sign-in failures every flow can end with, as core `LoginFailed` errors with a stable
 * machine `code` and a fixed user message and next step. Flows, the CLI and the device-login
 * worker all build their failures here, so the same situation always reads the same way (and
 * the worker's `failed.reason` is the same `code`).
 *
 * Issuer-supplied text (`error_description`) is shown only after {@link sanitize}: control
 * characters escaped (core's `SafeText.escape`) and length bounded, so a hostile issuer or a
 * forged callback cannot paint the terminal.
 *
 * @since 0.1.0
 */
import { Errors, SafeText } from "@codex-auth/core"

/** Every `LoginFailed.code` (core's one list; `login_in_progress` comes from storage's login lock). */
export const LoginFailureCodes = Errors.LOGIN_FAILURE_CODES
export type LoginFailureCode = Errors.LoginFailureCode

/**
 * Escapes control and bidi characters (`\x1b`, `\u202e`: core's `SafeText.escape`), collapses
 * whitespace and bounds issuer-supplied text before it reaches a terminal or page.
 */
export const sanitize = (text: string | null | undefined, max = 200): string | undefined => {
  if (text === null || text === undefined) return undefined
  const clean = SafeText.escape(text.replace(/[ \t]+/g, " ").trim()).replace(/\s+/g, " ")
  if (clean.length === 0) return undefined
  return clean.length > max ? `${clean.slice(0, max)}…` : clean
}

const make = (code: LoginFailureCode, detail: string, suggestion?: string) =>
  new Errors.LoginFailed(suggestion === undefined ? { code, detail } : { code, detail, suggestion })

const OTHER_METHODS = "Other ways to sign in: `codex-auth login --paste` (any browser, paste the final URL back), `codex-auth login --device-auth` (device code), or an API key: `printenv OPENAI_API_KEY | codex-auth login --with-api-key`."

export const accessDenied = (description?: string) =>
  make(
    "access_denied",
    `the sign-in was denied or cancelled in the browser${description !== undefined ? ` (${description})` : ""}.`,
    "Run `codex-auth login` again and approve the request."
  )

export const missingCodexEntitlement = () =>
  make(
    "missing_codex_entitlement",
    "this ChatGPT account or workspace does not have access to Codex.",
    "Ask your workspace admin to enable Codex for you, sign in with another account or workspace, or use an API key: `printenv OPENAI_API_KEY | codex-auth login --with-api-key`."
  )

export const workspaceNotAllowed = (description?: string) =>
  make(
    "workspace_not_allowed",
    `the workspace you picked is not allowed by your administrator's policy${description !== undefined ? ` (${description})` : ""}.`,
    "Sign in again and choose an allowed workspace (`codex-auth login status --json` shows the policy)."
  )

/** An `error` returned on the redirect other than the ones above. */
export const oauthError = (error: string, description?: string) =>
  make(
    "oauth_error",
    `the issuer returned the error \`${sanitize(error, 60) ?? "unknown"}\`${description !== undefined ? `: ${description}` : ""}.`,
    "Run `codex-auth login` again; if it keeps failing, try `codex-auth login --device-auth`."
  )

/** Maps the `error` / `error_description` of a redirect (or of a failed poll) to a failure. */
export const fromAuthorizationError = (error: string, rawDescription: string | null | undefined) => {
  const description = sanitize(rawDescription)
  const haystack = `${error} ${rawDescription ?? ""}`
  if (haystack.includes("missing_codex_entitlement")) return missingCodexEntitlement()
  if (haystack.includes("workspace_not_allowed")) return workspaceNotAllowed(description)
  if (error === "access_denied") return accessDenied(description)
  return oauthError(error, description)
}

export const timeout = (millis: number, remoteHint: boolean) =>
  make(
    "timeout",
    `no sign-in completed within ${formatDuration(millis)}.`,
    remoteHint
      ? "Run `codex-auth login` again. On a remote machine, use `codex-auth login --paste` or `codex-auth login --device-auth`, or forward the port with `ssh -L`."
      : "Run `codex-auth login` again (`--timeout` sets a longer limit)."
  )

/** `10 minutes`, `90 seconds`, `300 ms`. */
export const formatDuration = (millis: number): string => {
  const plural = (n: number, unit: string) => `${n} ${unit}${n === 1 ? "" : "s"}`
  if (millis >= 60_000 && millis % 60_000 === 0) return plural(millis / 60_000, "minute")
  if (millis >= 1000) return plural(Math.round(millis / 1000), "second")
  return `${Math.max(0, Math.round(millis))} ms`
}

export const portInUse = (ports: ReadonlyArray<number>) =>
  make(
    "port_in_use",
    `the sign-in callback needs port ${ports.join(" or ")} on localhost, and ${ports.length === 2 ? "both are" : ports.length > 2 ? "all are" : "it is"} in use by another program.`,
    `Close the program holding ${ports.length > 1 ? "them" : "it"} (\`ss -ltnp 'sport = :${ports[0]}'\` shows which; IDEs and other Codex logins are common), then try again. The issuer only accepts these ports. ${OTHER_METHODS}`
  )

export const portDenied = (ports: ReadonlyArray<number>, detail: string) =>
  make(
    "port_denied",
    `the system refused to let codex-auth listen on localhost port ${ports.join(" or ")} (${detail}).`,
    `On Windows these ports can fall inside an excluded port range (\`netsh interface ipv4 show excludedportrange protocol=tcp\`); a firewall or sandbox can also forbid listening. ${OTHER_METHODS}`
  )

export const pasteInvalid = (attempts: number) =>
  make(
    "paste_invalid",
    `none of the ${attempts} pasted values was the sign-in redirect for this login.`,
    "Run `codex-auth login --paste` again and paste the whole address from the browser's address bar after signing in (it starts with http://localhost:1455/auth/callback?code=)."
  )

export const noInput = () =>
  make(
    "no_input",
    "stdin closed before a redirect URL was pasted.",
    "Run `codex-auth login --paste` in a terminal, or use `codex-auth login --device-auth`."
  )

export const invalidGrant = (description?: string) =>
  make(
    "invalid_grant",
    `the issuer refused the authorization code${description !== undefined ? ` (${description})` : ""}.`,
    "Codes are single-use and expire within about a minute: run `codex-auth login` again."
  )

export const invalidClient = (clientId: string) =>
  make(
    "invalid_client",
    `the issuer does not know the client id ${clientId}.`,
    "Remove any --client-id override (the default is Codex's public client)."
  )

/**
 * A token response holding a token that is not opaque printable text (control characters or
 * whitespace): a malformed answer (exit 6). Nothing from it is stored.
 */
export const malformedTokenResponse = (target: string, what: string) =>
  new Errors.NetworkError({
    target,
    detail: `the issuer's token response is malformed: ${what}; nothing was stored`,
    suggestion: "codex-auth never stores or prints a token with control characters or whitespace. Check that --issuer (or CODEX_AUTH_ISSUER) points at your real issuer, then run `codex-auth login` again.",
    permanent: true
  })

export const invalidTokenResponse = (what: string) =>
  make(
    "invalid_token_response",
    `the issuer's token response is not usable: ${what}.`,
    "Run `codex-auth login` again; if it persists, check the issuer URL (--issuer / CODEX_AUTH_ISSUER)."
  )

export const tokenEndpointError = (status: number, code: string | undefined) =>
  make(
    "token_endpoint_error",
    `the issuer answered HTTP ${status}${code !== undefined ? ` (${sanitize(code, 60)})` : ""} to the code exchange.`,
    "Run `codex-auth login` again."
  )

export const deviceAuthDisabled = () =>
  make(
    "device_auth_disabled",
    "device-code sign-in is not enabled for this account or workspace.",
    `Enable it in ChatGPT's security settings (or ask your workspace admin), or sign in another way: \`codex-auth login\` (browser), \`codex-auth login --paste\` (any browser, paste the final URL back), or an API key: \`printenv OPENAI_API_KEY | codex-auth login --with-api-key\`.`
  )

export const deviceCodeExpired = (millis?: number) =>
  make(
    "device_code_expired",
    `the device code expired before it was approved${millis === undefined ? "" : ` (after ${formatDuration(millis)})`}.`,
    "Run `codex-auth login --device-auth` again and enter the new code promptly."
  )

export const deviceAuthFailed = (status: number, code: string | undefined) =>
  make(
    "device_auth_failed",
    `the issuer rejected the device sign-in (HTTP ${status}${code !== undefined ? `, ${sanitize(code, 60)}` : ""}).`,
    "Run `codex-auth login --device-auth` again."
  )
