/**
 * The `codex-auth` executable. Hot, simple invocations (`login status`) take the fast path; the
 * rest loads the full effect/cli command tree. Both render failures the same way and set the
 * exit code. esbuild inlines both behind lazy initialisers, so only the path taken is evaluated.
 *
 * @since 0.1.0
 */
import { Effect, Exit } from "effect"
import { matchFast } from "./FastArgs.ts"
import { renderCause } from "./Output.ts"

declare const __CODEX_AUTH_VERSION__: string | undefined
const version = typeof __CODEX_AUTH_VERSION__ === "string" ? __CODEX_AUTH_VERSION__ : "0.1.0"

process.removeAllListeners("warning")
process.on("warning", (w) => {
  if (w.name === "ExperimentalWarning") return
  process.stderr.write(`warning: ${w.message}\n`)
})

const controller = new AbortController()
let interrupted = false
const onSignal = () => {
  interrupted = true
  controller.abort()
}
process.once("SIGINT", onSignal)
process.once("SIGTERM", onSignal)

const fast = matchFast(process.argv.slice(2))
const load: Promise<Effect.Effect<void, unknown>> = fast !== undefined
  ? import("./Fast.ts").then((m) => m.fastProgram(fast))
  : import("./Cli.ts").then((m) => m.program(version))

load
  .then((program) => Effect.runPromiseExit(program, { signal: controller.signal }))
  .then((exit) => {
    process.exitCode = Exit.isSuccess(exit) ? 0 : renderCause(exit.cause)
    if (interrupted) process.exitCode = 130
  })
