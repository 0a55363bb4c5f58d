/**
 * Tagged errors that reach users. Each carries a one-line message (what happened, naming the file,
 * variable or rule involved), an optional hint (the next step) and an exit code. Messages never
 * contain secrets: callers pass file paths, variable names and error codes, never token values.
 *
 * They are `Data.TaggedError`s rather than `Schema.TaggedError`s on purpose: this module is on
 * the CLI's startup path, and `Data` costs a fraction of `Schema` to load.
 *
 * @since 0.1.0
 */
import { Data } from "effect"
import type { StoreMode } from "./CredentialStore.ts"
import { ExitCode } from "./ExitCode.ts"

/** Implemented by every error meant for a person. */
export interface UserFacing {
  readonly userMessage: string
  readonly hint: string | undefined
  readonly exitCode: ExitCode
}

export const isUserFacing = (u: unknown): u is UserFacing =>
  typeof u === "object" && u !== null && "userMessage" in u && "exitCode" in u

export class NotLoggedIn extends Data.TaggedError("NotLoggedIn")<{
  /** Optional context, e.g. which store was checked. */
  readonly detail?: string
}> implements UserFacing {
  get userMessage() {
    return this.detail === undefined ? "Not logged in" : `Not logged in (${this.detail})`
  }
  get hint() {
    return "Run `codex-auth login` (ChatGPT) or `printenv OPENAI_API_KEY | codex-auth login --with-api-key`."
  }
  readonly exitCode = ExitCode.NotLoggedIn
  override get message() {
    return this.userMessage
  }
}

export class UsageError extends Data.TaggedError("UsageError")<{
  readonly detail: string
  readonly suggestion?: string
}> implements UserFacing {
  get userMessage() {
    return this.detail
  }
  get hint() {
    return this.suggestion
  }
  readonly exitCode = ExitCode.Usage
  override get message() {
    return this.detail
  }
}

/** What a store was doing when it failed. */
export type StorageOperation = "read" | "write" | "delete" | "lock" | "permissions"

export class StorageError extends Data.TaggedError("StorageError")<{
  readonly backend: StoreMode
  readonly operation: StorageOperation
  /** File path or keyring entry description; never a secret. */
  readonly location: string
  readonly detail: string
  readonly suggestion?: string
}> implements UserFacing {
  get userMessage() {
    return `Could not ${this.operation} credentials (${this.backend}: ${this.location}): ${this.detail}`
  }
  get hint() {
    return this.suggestion
  }
  readonly exitCode = ExitCode.Storage
  override get message() {
    return this.userMessage
  }
}

/** auth.json (or the keyring secret) exists but is not a Codex credential document. */
export class CorruptCredentials extends Data.TaggedError("CorruptCredentials")<{
  readonly location: string
  readonly detail: string
  /** The next step, when it is more specific than "move the file aside and sign in again". */
  readonly suggestion?: string
}> implements UserFacing {
  get userMessage() {
    return `Stored credentials at ${this.location} are unreadable: ${this.detail}. The file was left untouched.`
  }
  get hint() {
    return this.suggestion ?? "Inspect or move the file aside, then sign in again with `codex-auth login`."
  }
  readonly exitCode = ExitCode.Storage
  override get message() {
    return this.userMessage
  }
}

/** The refresh token is dead for good: the user must sign in again. */
export class ReauthRequired extends Data.TaggedError("ReauthRequired")<{
  /** Issuer error code, e.g. `refresh_token_reused`, or `http_401`. */
  readonly reason: string
}> implements UserFacing {
  get userMessage() {
    const why: Record<string, string> = {
      refresh_token_expired: "your refresh token has expired",
      refresh_token_reused: "your refresh token was already used (the session was revoked by the issuer)",
      refresh_token_invalidated: "your refresh token was revoked",
      http_401: "the issuer rejected your refresh token"
    }
    return `Your ChatGPT session has ended: ${why[this.reason] ?? this.reason}.`
  }
  get hint() {
    return "Sign in again with `codex-auth login`."
  }
  readonly exitCode = ExitCode.ReauthRequired
  override get message() {
    return this.userMessage
  }
}

export class PolicyViolation extends Data.TaggedError("PolicyViolation")<{
  /** e.g. `forced_login_method`, `forced_chatgpt_workspace_id`. */
  readonly rule: string
  /** The file (or `-c` override) the rule came from. */
  readonly source: string
  readonly detail: string
  readonly loggedOut: boolean
}> implements UserFacing {
  get userMessage() {
    return `${this.detail} (${this.rule}, set in ${this.source})${this.loggedOut ? "; stored credentials were logged out" : ""}.`
  }
  get hint() {
    return this.loggedOut
      ? "Sign in again with a method and workspace the policy allows, or ask your administrator."
      : "Use a method and workspace the policy allows, or ask your administrator."
  }
  readonly exitCode = ExitCode.PolicyViolation
  override get message() {
    return this.userMessage
  }
}

export class ConfigError extends Data.TaggedError("ConfigError")<{
  readonly file: string
  readonly line?: number
  readonly key?: string
  readonly detail: string
}> implements UserFacing {
  get userMessage() {
    const where = `${this.file}${this.line !== undefined ? `:${this.line}` : ""}`
    return `Invalid configuration in ${where}${this.key !== undefined ? ` (key ${this.key})` : ""}: ${this.detail}`
  }
  get hint() {
    return "Fix or remove the value; codex-auth never falls back to a default for an invalid setting."
  }
  readonly exitCode = ExitCode.Config
  override get message() {
    return this.userMessage
  }
}

export class NetworkError extends Data.TaggedError("NetworkError")<{
  /** What we were talking to, e.g. `POST https://auth.openai.com/oauth/token` (never with secrets). */
  readonly target: string
  readonly detail: string
  readonly suggestion?: string
  /** Retrying cannot help (e.g. an untrusted certificate): retry loops stop at once. */
  readonly permanent?: boolean
}> implements UserFacing {
  get userMessage() {
    return `Network error talking to ${this.target}: ${this.detail}`
  }
  get hint() {
    return this.suggestion
  }
  readonly exitCode = ExitCode.Network
  override get message() {
    return this.userMessage
  }
}

export class TlsConfigError extends Data.TaggedError("TlsConfigError")<{
  /** `CODEX_CA_CERTIFICATE` or `SSL_CERT_FILE`. */
  readonly variable: string
  readonly path: string
  readonly detail: string
}> implements UserFacing {
  get userMessage() {
    return `The CA bundle ${this.path} (from ${this.variable}) cannot be used: ${this.detail}`
  }
  get hint() {
    return `Point ${this.variable} at a readable PEM file with at least one CERTIFICATE block, or unset it. Run \`codex-auth doctor\` for details.`
  }
  readonly exitCode = ExitCode.Network
  override get message() {
    return this.userMessage
  }
}

/**
 * Every `LoginFailed.code`: stable machine codes (the device-login worker's `failed.reason`, the
 * CLI's `--json` failures). The messages and next steps for each live in `@codex-auth/oauth`'s
 * `LoginError`.
 */
export const LOGIN_FAILURE_CODES = [
  "access_denied",
  "missing_codex_entitlement",
  "workspace_not_allowed",
  "oauth_error",
  "timeout",
  "port_in_use",
  "port_denied",
  "login_in_progress",
  "paste_invalid",
  "no_input",
  "invalid_grant",
  "invalid_client",
  "invalid_token_response",
  "token_endpoint_error",
  "device_auth_disabled",
  "device_code_expired",
  "device_auth_failed"
] as const
export type LoginFailureCode = (typeof LOGIN_FAILURE_CODES)[number]

export class LoginFailed extends Data.TaggedError("LoginFailed")<{
  /** Stable machine code (see {@link LOGIN_FAILURE_CODES}). */
  readonly code: LoginFailureCode
  readonly detail: string
  readonly suggestion?: string
}> implements UserFacing {
  get userMessage() {
    return `Sign-in failed: ${this.detail}`
  }
  get hint() {
    return this.suggestion
  }
  readonly exitCode = ExitCode.LoginFailed
  override get message() {
    return this.userMessage
  }
}
