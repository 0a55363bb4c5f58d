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
