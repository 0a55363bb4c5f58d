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
import type { Cause, Types } from "effect"
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

/**
 * The base of every error below: a `Data.TaggedError` with its exit code, `hint` (the
 * `suggestion` field, unless the class says otherwise) and `message` (the `userMessage` the class
 * writes). Each class declares its fields and `userMessage`; `implements UserFacing` makes the
 * compiler insist on it.
 */
const UserFacingError = <Tag extends string>(tag: Tag, exitCode: ExitCode) => {
  abstract class Base extends Data.TaggedError(tag)<{ readonly suggestion?: string | undefined }> {
    abstract readonly userMessage: string
    readonly exitCode: ExitCode = exitCode
    get hint(): string | undefined {
      return this.suggestion
    }
    override get message(): string {
      return this.userMessage
    }
  }
  return Base as unknown as abstract new<A extends Record<string, unknown> = Record<never, never>>(
    args: Types.VoidIfEmpty<{ readonly [P in keyof A as P extends "_tag" ? never : P]: A[P] }>
  ) => Cause.YieldableError & { readonly _tag: Tag } & Readonly<A> & Omit<UserFacing, "userMessage">
}

export class NotLoggedIn extends UserFacingError("NotLoggedIn", ExitCode.NotLoggedIn)<{
  /** Optional context, e.g. which store was checked. */
  readonly detail?: string
}> implements UserFacing {
  get userMessage() {
    return this.detail === undefined ? "Not logged in" : `Not logged in (${this.detail})`
  }
  override get hint() {
    return "Run `codex-auth login` (ChatGPT) or `printenv OPENAI_API_KEY | codex-auth login --with-api-key`."
  }
}

export class UsageError extends UserFacingError("UsageError", ExitCode.Usage)<{
  readonly detail: string
  readonly suggestion?: string
}> implements UserFacing {
  get userMessage() {
    return this.detail
  }
}

/** What a store was doing when it failed. */
export type StorageOperation = "read" | "write" | "delete" | "lock" | "permissions"

export class StorageError extends UserFacingError("StorageError", ExitCode.Storage)<{
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
}

/** auth.json (or the keyring secret) exists but is not a Codex credential document. */
export class CorruptCredentials extends UserFacingError("CorruptCredentials", ExitCode.Storage)<{
  readonly location: string
  readonly detail: string
  /** The next step, when it is more specific than "move the file aside and sign in again". */
  readonly suggestion?: string
}> implements UserFacing {
  get userMessage() {
    return `Stored credentials at ${this.location} are unreadable: ${this.detail}. The file was left untouched.`
  }
  override get hint() {
    return this.suggestion ?? "Inspect or move the file aside, then sign in again with `codex-auth login`."
  }
}

/** The refresh token is dead for good: the user must sign in again. */
export class ReauthRequired extends UserFacingError("ReauthRequired", ExitCode.ReauthRequired)<{
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
  override get hint() {
    return "Sign in again with `codex-auth login`."
  }
}

export class PolicyViolation extends UserFacingError("PolicyViolation", ExitCode.PolicyViolation)<{
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
  override get hint() {
    return this.loggedOut
      ? "Sign in again with a method and workspace the policy allows, or ask your administrator."
      : "Use a method and workspace the policy allows, or ask your administrator."
  }
}

export class ConfigError extends UserFacingError("ConfigError", ExitCode.Config)<{
  readonly file: string
  readonly line?: number
  readonly key?: string
  readonly detail: string
}> implements UserFacing {
  get userMessage() {
    const where = `${this.file}${this.line !== undefined ? `:${this.line}` : ""}`
    return `Invalid configuration in ${where}${this.key !== undefined ? ` (key ${this.key})` : ""}: ${this.detail}`
  }
  override get hint() {
    return "Fix or remove the value; codex-auth never falls back to a default for an invalid setting."
  }
}

export class NetworkError extends UserFacingError("NetworkError", ExitCode.Network)<{
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
}

export class TlsConfigError extends UserFacingError("TlsConfigError", ExitCode.Network)<{
  /** `CODEX_CA_CERTIFICATE` or `SSL_CERT_FILE`. */
  readonly variable: string
  readonly path: string
  readonly detail: string
}> implements UserFacing {
  get userMessage() {
    return `The CA bundle ${this.path} (from ${this.variable}) cannot be used: ${this.detail}`
  }
  override get hint() {
    return `Point ${this.variable} at a readable PEM file with at least one CERTIFICATE block, or unset it. Run \`codex-auth doctor\` for details.`
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

export class LoginFailed extends UserFacingError("LoginFailed", ExitCode.LoginFailed)<{
  /** Stable machine code (see {@link LOGIN_FAILURE_CODES}). */
  readonly code: LoginFailureCode
  readonly detail: string
  readonly suggestion?: string
}> implements UserFacing {
  get userMessage() {
    return `Sign-in failed: ${this.detail}`
  }
}
