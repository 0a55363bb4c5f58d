/**
 * The `codex-auth` executable. Hot, simple invocations (`login status`, `token`) take the fast
 * path; the rest starts the full effect/cli command tree. Both run the same programs, render
 * failures the same way and set the exit code.
 *
 * In the bundle, the two are payloads embedded after this small entry (see `Payloads.ts`), so a
 * run parses only the one it executes; from the TypeScript sources they are plain dynamic imports.
 * This module runs on every start: it must not import anything but `FastArgs` and `Payloads`.
 *
 * @since 0.1.0
 */
import { type FastArgs, matchFast } from "./FastArgs.ts"
import * as Payloads from "./Payloads.ts"

declare const __CODEX_AUTH_VERSION__: string | undefined
declare const __CODEX_AUTH_PAYLOADS__: string | undefined
const version = typeof __CODEX_AUTH_VERSION__ === "string" ? __CODEX_AUTH_VERSION__ : "0.1.0"

interface FastModule {
  readonly run: (args: FastArgs, signal: AbortSignal) => Promise<number>
}
interface FullModule {
  readonly run: (version: string, signal: AbortSignal) => Promise<number>
}

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

type Started = { readonly run: (signal: AbortSignal) => Promise<number>; readonly finish: () => void }

const fast = matchFast(process.argv.slice(2))
const noop = () => {}

// `typeof __CODEX_AUTH_PAYLOADS__` is a build-time constant: the bundle keeps only the first branch.
const start = (): Promise<Started> =>
  typeof __CODEX_AUTH_PAYLOADS__ === "string"
    ? Promise.resolve().then(() => {
      if (fast !== undefined) {
        const p = Payloads.start<FastModule>("fast", fast.command)
        return { run: (signal) => p.exports.run(fast, signal), finish: p.finish }
      }
      const p = Payloads.start<FullModule>("full", "full")
      return { run: (signal) => p.exports.run(version, signal), finish: p.finish }
    })
    : fast !== undefined
    ? import("./Fast.ts").then((m) => ({ run: (signal) => m.run(fast, signal), finish: noop }))
    : import("./Cli.ts").then((m) => ({ run: (signal) => m.run(version, signal), finish: noop }))

start()
  .then((p) =>
    p.run(controller.signal).then((code) => {
      process.exitCode = interrupted ? 130 : code
      p.finish()
    })
  )
  .catch((e: unknown) => {
    // Only reached when a program could not be started (programs render their own failures).
    process.stderr.write(`error: unexpected error: ${e instanceof Error ? e.message : String(e)}\n`)
    process.stderr.write("hint: This is a bug in codex-auth; please report it with the command you ran (never include tokens).\n")
    if (process.env["CODEX_AUTH_DEBUG"] === "1" && e instanceof Error && e.stack) process.stderr.write(`${e.stack}\n`)
    process.exitCode = 70 // ExitCode.Internal (core is not loaded here)
  })
