/**
 * `codex-auth-device-login-worker`: a headless device-code sign-in for IDEs, desktop apps and
 * remote supervisors. JSON lines on stdout (see `Protocol.ts`, docs/device-login-worker.md),
 * human diagnostics on stderr, `cancel` on stdin (or SIGINT/SIGTERM) to stop. The exit code is
 * the core `ExitCode` of the outcome (0 stored, 7 sign-in failed, 130 cancelled, …); the last
 * stdout line is always `stored` or `failed`.
 *
 * @since 0.1.0
 */
import { ExitCode, SafeText } from "@codex-auth/core"
import { Effect, Exit, type Layer, Logger, LogLevel, Result } from "effect"
import { parseArgs, USAGE } from "./Args.ts"
import { encode, parseCommand, type WorkerEvent } from "./Protocol.ts"
import { MAX_LINE_BYTES, readLines } from "./StdinLines.ts"
import { failureEvent, program } from "./Worker.ts"

declare const __CODEX_AUTH_VERSION__: string | undefined
const version = typeof __CODEX_AUTH_VERSION__ === "string" ? __CODEX_AUTH_VERSION__ : "0.1.0"

const emit = (event: WorkerEvent) => void process.stdout.write(encode(event))
/** One line on stderr; what it quotes from outside (issuer texts, paths) is escaped (`SafeText.escape`). */
const diag = (text: string) => void process.stderr.write(`${SafeText.escape(text)}\n`)

/** What the packages log at Warning or above goes to stderr as `warning: …`; stdout carries only protocol events. */
const loggerLayer: Layer.Layer<never> = Logger.layer([
  Logger.make(({ logLevel, message }) => {
    if (!LogLevel.isGreaterThanOrEqualTo(logLevel, "Warn")) return
    const text = (Array.isArray(message) ? message : [message]).map(String).join(" ")
    diag(`${LogLevel.isGreaterThanOrEqualTo(logLevel, "Error") ? "error" : "warning"}: ${text}`)
  })
])

process.removeAllListeners("warning")
process.on("warning", (w) => {
  if (w.name !== "ExperimentalWarning") diag(`warning: ${w.message}`)
})
// A consumer that stops reading must not crash the worker with EPIPE mid-write.
process.stdout.on("error", () => {})

const parsed = parseArgs(process.argv.slice(2))
if (Result.isFailure(parsed)) {
  const e = parsed.failure
  emit({ type: "failed", reason: "usage", message: e.userMessage, hint: e.hint ?? null, exit_code: e.exitCode })
  diag(`error: ${e.userMessage}`)
  process.exitCode = ExitCode.ExitCode.Usage
} else if (parsed.success.help) {
  process.stdout.write(USAGE)
} else if (parsed.success.version) {
  process.stdout.write(`${version}\n`)
} else {
  const controller = new AbortController()
  const cancel = (why: string) => {
    if (controller.signal.aborted) return
    diag(`cancelling (${why})`)
    controller.abort()
  }
  process.once("SIGINT", () => cancel("SIGINT"))
  process.once("SIGTERM", () => cancel("SIGTERM"))
  // stdin: "cancel" stops the sign-in; end of input is ignored (a supervisor may close it).
  // Lines above 64 KiB are dropped unbuffered: memory stays bounded whatever is written.
  const stopReading = readLines(process.stdin, {
    onLine: (line) => {
      if (parseCommand(line) === "cancel") cancel("cancel on stdin")
      else if (line.trim().length > 0) diag(`ignored unknown command on stdin (only "cancel" is understood)`)
    },
    onOverlong: (bytes) =>
      diag(`warning: ignored a stdin line of ${bytes} bytes (longer than ${MAX_LINE_BYTES / 1024} KiB; only "cancel" is understood)`)
  })
  Effect.runPromiseExit(Effect.provide(program(parsed.success, emit), loggerLayer), { signal: controller.signal }).then((exit) => {
    if (Exit.isSuccess(exit)) {
      process.exitCode = ExitCode.ExitCode.Ok
    } else {
      const failed = failureEvent(exit.cause)
      emit(failed)
      diag(`error: ${failed.message}`)
      if (failed.hint !== null) diag(`hint: ${failed.hint}`)
      process.exitCode = failed.exit_code
    }
    stopReading()
    process.stdin.destroy()
  })
}
