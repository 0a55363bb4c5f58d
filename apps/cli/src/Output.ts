/**
 * Writing to the terminal, and turning failures into a message, a hint and an exit code.
 * Everything for people goes to stderr except what a command exists to print (status, token).
 *
 * @since 0.1.0
 */
import { Errors, ExitCode } from "@codex-auth/core"
import { Cause, Data, Effect, Layer, Logger, LogLevel } from "effect"

/** Prints on stderr, adding a final newline. (stdout: `programs/Stdout.ts`, one writer for all commands.) */
export const stderr = (text: string) => Effect.sync(() => void process.stderr.write(text.endsWith("\n") ? text : `${text}\n`))

/**
 * The CLI's logger: what the packages log at Warning or above (for example the AuthManager's
 * "the stored credentials changed while a refresh was in flight") is printed on stderr as
 * `warning: …` / `error: …`, never on stdout, where `token` and `status --json` print their
 * answer. Debug and Info messages are dropped.
 */
export const loggerLayer: Layer.Layer<never> = Logger.layer([
  Logger.make(({ logLevel, message }) => {
    if (!LogLevel.isGreaterThanOrEqualTo(logLevel, "Warn")) return
    const text = (Array.isArray(message) ? message : [message]).map(String).join(" ")
    process.stderr.write(`${LogLevel.isGreaterThanOrEqualTo(logLevel, "Error") ? "error" : "warning"}: ${text}\n`)
  })
])

/** Ends the run with `code` after the command already printed all it had to say. */
export class SilentExit extends Data.TaggedError("SilentExit")<{ readonly code: number }> {}

/**
 * effect/cli's parse errors, recognised by their type id so this module (on the fast path)
 * doesn't load effect/cli.
 */
interface CliErrorLike {
  readonly _tag: string
  readonly message: string
  readonly errors?: ReadonlyArray<{ readonly message: string }>
}
const isCliError = (u: unknown): u is CliErrorLike =>
  typeof u === "object" && u !== null && "~effect/cli/CliError" in u

/** The message, hint and exit code for any failure a command can end with. */
export const describeFailure = (error: unknown): { readonly message: string; readonly hint: string | undefined; readonly exitCode: number } => {
  if (Errors.isUserFacing(error)) return { message: error.userMessage, hint: error.hint, exitCode: error.exitCode }
  if (isCliError(error)) {
    return {
      message: error.message,
      hint: "Run `codex-auth --help` (or `codex-auth <command> --help`) for usage.",
      exitCode: ExitCode.ExitCode.Usage
    }
  }
  return {
    message: `unexpected error: ${error instanceof Error ? error.message : String(error)}`,
    hint: "This is a bug in codex-auth; please report it with the command you ran (never include tokens).",
    exitCode: ExitCode.ExitCode.Internal
  }
}

/** Renders a failed run on stderr and returns the exit code. */
export const renderCause = (cause: Cause.Cause<unknown>): number => {
  if (Cause.hasInterruptsOnly(cause)) {
    process.stderr.write("Cancelled.\n")
    return ExitCode.ExitCode.Interrupted
  }
  const error = Cause.squash(cause)
  if (error instanceof SilentExit) return error.code
  if (isCliError(error) && error._tag === "ShowHelp") {
    const errors = error.errors ?? []
    if (errors.length === 0) return ExitCode.ExitCode.Ok
    for (const e of errors) process.stderr.write(`error: ${e.message}\n`)
    return ExitCode.ExitCode.Usage
  }
  const { exitCode, hint, message } = describeFailure(error)
  process.stderr.write(`error: ${message}\n`)
  if (hint !== undefined) process.stderr.write(`hint: ${hint}\n`)
  if (process.env["CODEX_AUTH_DEBUG"] === "1" && error instanceof Error && error.stack) process.stderr.write(`${error.stack}\n`)
  return exitCode
}
