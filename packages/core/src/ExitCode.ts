/**
 * Process exit codes shared by every codex-auth program (CLI, worker, harness scenarios).
 *
 * `1` means "not logged in", as the Codex CLI uses it; every other failure class has its own code
 * so that scripts can branch without parsing text.
 *
 * @since 0.1.0
 */
export const ExitCode = {
  Ok: 0,
  NotLoggedIn: 1,
  Usage: 2,
  ReauthRequired: 3,
  PolicyViolation: 4,
  Storage: 5,
  Network: 6,
  LoginFailed: 7,
  Config: 8,
  Runtime: 9,
  Internal: 70,
  Interrupted: 130
} as const

export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode]

export const exitCodeTable: ReadonlyArray<readonly [ExitCode, string, string]> = [
  [ExitCode.Ok, "ok", "The command did what was asked."],
  [ExitCode.NotLoggedIn, "not_logged_in", "No credentials are stored (same meaning as the Codex CLI)."],
  [ExitCode.Usage, "usage", "Bad flags or input (e.g. an API key on a TTY, unknown option)."],
  [ExitCode.ReauthRequired, "reauth_required", "The refresh token was rejected for good: sign in again."],
  [ExitCode.PolicyViolation, "policy_violation", "Managed or user policy forbids the method or workspace; credentials were logged out."],
  [ExitCode.Storage, "storage", "auth.json or the keyring could not be read or written."],
  [ExitCode.Network, "network", "Network, TLS, proxy or issuer error (including a CA bundle problem)."],
  [ExitCode.LoginFailed, "login_failed", "The sign-in flow failed: denied, timed out, port in use, device code expired."],
  [ExitCode.Config, "config", "config.toml or managed configuration is malformed or holds an invalid value."],
  [ExitCode.Runtime, "runtime", "The Node.js running codex-auth is too old (needs 22.19 or newer)."],
  [ExitCode.Internal, "internal", "A bug: please report it."],
  [ExitCode.Interrupted, "interrupted", "Cancelled by Ctrl-C or SIGTERM."]
]
