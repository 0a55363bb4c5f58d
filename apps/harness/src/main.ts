/**
 * The `codex-auth-harness` executable: runs the command, renders failures (message, hint,
 * exit code) and stops cleanly on SIGINT/SIGTERM (exit 0: stopping a server on request is not
 * a failure).
 *
 * @since 0.1.0
 */
import { Errors, ExitCode, SafeText } from "@codex-auth/core"
import { NodeServices } from "@effect/platform-node"
import { Cause, Effect, Exit } from "effect"
import { CliError, Command } from "effect/cli"
import { root } from "./Commands.ts"

const program = Command.run(root, { version: "0.1.0", renderErrors: false }).pipe(Effect.provide(NodeServices.layer))

const controller = new AbortController()
let stopping = false
const onSignal = () => {
  stopping = true
  controller.abort()
}
process.once("SIGINT", onSignal)
process.once("SIGTERM", onSignal)

const exitCodeOf = (cause: Cause.Cause<unknown>): number => {
  if (Cause.hasInterruptsOnly(cause)) return stopping ? ExitCode.ExitCode.Ok : ExitCode.ExitCode.Interrupted
  const error = Cause.squash(cause)
  if (CliError.isCliError(error)) {
    if (error._tag === "ShowHelp" && error.errors.length === 0) return ExitCode.ExitCode.Ok
    const messages = error._tag === "ShowHelp" ? error.errors.map((e) => e.message) : [error.message]
    for (const message of messages) process.stderr.write(`error: ${SafeText.escape(message)}\n`)
    process.stderr.write("hint: Run `codex-auth-harness <command> --help` for usage.\n")
    return ExitCode.ExitCode.Usage
  }
  if (Errors.isUserFacing(error)) {
    process.stderr.write(`error: ${SafeText.escape(error.userMessage)}\n${error.hint === undefined ? "" : `hint: ${SafeText.escape(error.hint)}\n`}`)
    return error.exitCode
  }
  process.stderr.write(`error: unexpected failure: ${SafeText.escape(error instanceof Error ? error.message : String(error))}\n`)
  return ExitCode.ExitCode.Internal
}

Effect.runPromiseExit(program, { signal: controller.signal }).then((exit) => {
  process.exitCode = Exit.isSuccess(exit) ? 0 : exitCodeOf(exit.cause)
  if (stopping && process.exitCode === 0) process.stdout.write("Stopped.\n")
})
