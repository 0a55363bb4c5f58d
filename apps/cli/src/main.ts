/**
 * The `codex-auth` executable. Hot, simple invocations (`login status`, `token`) take the lean
 * path (`Lean.ts`: the healthy case, without the effect runtime), which may decline; then the fast
 * path (`Fast.ts`: the same effect programs as the commands, without the argument parser), which
 * may hand a refresh over; the rest starts the full effect/cli command tree. All of them run the
 * same code, render failures the same way and set the exit code.
 *
 * In the bundle, the three are payloads embedded after this small entry (see `Payloads.ts`), so a
 * run parses only the ones it executes; from the TypeScript sources they are plain dynamic imports.
 * This module runs on every start: it must not import anything but `FastArgs` and `Payloads`.
 *
 * @since 0.1.0
 */
import { type FastArgs, matchFast } from "./FastArgs.ts"
import * as Payloads from "./Payloads.ts"

Payloads.mark("entry")

// Effect 4 and @effect/platform-node need Node >= 22.19: say so plainly rather than fail later
// with an internal error.
const [major = 0, minor = 0] = process.versions.node.split(".").map(Number)
if (major < 22 || (major === 22 && minor < 19)) {
  process.stderr.write(
    `error: codex-auth needs Node.js 22.19 or newer; this is ${process.version}.\n` +
      "hint: Install Node 24 from https://nodejs.org or with your version manager (nvm install 24), then run the command again (in a clone of the repository, `source scripts/env.sh` fetches it).\n"
  )
  process.exit(9)
}

declare const __CODEX_AUTH_VERSION__: string | undefined
declare const __CODEX_AUTH_PAYLOADS__: string | undefined
const version = typeof __CODEX_AUTH_VERSION__ === "string" ? __CODEX_AUTH_VERSION__ : "0.1.0"

type LeanResult = number | undefined | "full"
interface LeanModule {
  /**
   * Returns the exit code, `undefined` (nothing printed) to have the fast path run the command, or
   * `"full"` to have the full CLI run it (a refresh, with the refresh lock handed over).
   */
  readonly run: (args: FastArgs) => LeanResult | Promise<LeanResult>
}
interface FastModule {
  /** Resolves with the exit code, or `undefined` to have the full CLI run the command instead. */
  readonly run: (args: FastArgs, signal: AbortSignal) => Promise<number | undefined>
}
interface FullModule {
  readonly run: (version: string, signal: AbortSignal) => Promise<number>
}

// Whether anything used process.stdin, process.stdout or process.stderr: streams, whose writes may
// still be pending when the program has ended (pipes are asynchronous on macOS, for example).
let streamsUsed = false
for (const name of ["stdin", "stdout", "stderr"] as const) {
  const d = Object.getOwnPropertyDescriptor(process, name)
  const get = d?.get
  if (d !== undefined && get !== undefined && d.configurable === true) {
    Object.defineProperty(process, name, {
      ...d,
      get() {
        streamsUsed = true
        return get.call(process)
      }
    })
  }
}

process.removeAllListeners("warning")
process.on("warning", (w) => {
  if (w.name === "ExperimentalWarning") return
  process.stderr.write(`warning: ${w.message}\n`)
})

// The first SIGINT/SIGTERM interrupts the program. A refresh POST already sent is not abandoned:
// the AuthManager waits for its answer and saves it (its time-out bounds that), then the run ends
// with 130; this bounds it again at 10 s. A second signal ends the process at once (the handlers
// are `once`, so it meets Node's default action). The lean path sends nothing: it ends at once.
const controller = new AbortController()
let interrupted = false
let inLean = false
const FINISH_SENT_MS = 10_000
const onSignal = () => {
  interrupted = true
  if (inLean) process.exit(130)
  controller.abort()
  setTimeout(() => process.exit(130), FINISH_SENT_MS).unref()
}
process.once("SIGINT", onSignal)
process.once("SIGTERM", onSignal)

type Started = { readonly run: (signal: AbortSignal) => Promise<LeanResult>; readonly finish: () => void }

const fast = matchFast(process.argv.slice(2))
const noop = () => {}

// `typeof __CODEX_AUTH_PAYLOADS__` is a build-time constant: the bundle keeps only the first branch.
const startLean = (args: FastArgs): Promise<Started> =>
  typeof __CODEX_AUTH_PAYLOADS__ === "string"
    ? Promise.resolve().then(() => {
      const p = Payloads.start<LeanModule>("lean", args.command)
      return { run: () => Promise.resolve(p.exports.run(args)), finish: p.finish }
    })
    : import("./Lean.ts").then((m) => ({ run: () => Promise.resolve(m.run(args)), finish: noop }))

const startFast = (args: FastArgs): Promise<Started> =>
  typeof __CODEX_AUTH_PAYLOADS__ === "string"
    ? Promise.resolve().then(() => {
      const p = Payloads.start<FastModule>("fast", args.command)
      return { run: (signal) => p.exports.run(args, signal), finish: p.finish }
    })
    : import("./Fast.ts").then((m) => ({ run: (signal) => m.run(args, signal), finish: noop }))

const startFull = (): Promise<Started> =>
  typeof __CODEX_AUTH_PAYLOADS__ === "string"
    ? Promise.resolve().then(() => {
      const p = Payloads.start<FullModule>("full", "full")
      return { run: (signal) => p.exports.run(version, signal), finish: p.finish }
    })
    : import("./Cli.ts").then((m) => ({ run: (signal) => m.run(version, signal), finish: noop }))

/** Runs a started program and then writes its code cache (the first time). */
const runStarted = async (started: Promise<Started>): Promise<LeanResult> => {
  const p = await started
  const code = await p.run(controller.signal)
  Payloads.mark("run")
  p.finish()
  return code
}

/**
 * For the fast argv shapes: the lean path, then (when it declines) the fast path; the full CLI
 * otherwise, or when the lean or the fast path hands over (a refresh).
 */
const main = async (): Promise<number> => {
  if (fast !== undefined) {
    inLean = true
    const lean = await runStarted(startLean(fast)).finally(() => (inLean = false))
    if (typeof lean === "number") return lean
    if (lean === undefined) {
      const code = await runStarted(startFast(fast))
      if (typeof code === "number") return code
    }
  }
  const code = await runStarted(startFull())
  return typeof code === "number" ? code : 70
}

main()
  .then((code) => {
    process.exitCode = interrupted ? 130 : code
    // The fast path prints with synchronous writes to file descriptor 1: when no stream was used
    // (checked after the callbacks already queued, such as a warning's), nothing is pending, so
    // exit now instead of tearing the heap down (1.5 to 3 ms).
    setImmediate(() => {
      if (!streamsUsed) process.exit()
    })
  })
  .catch((e: unknown) => {
    // Only reached when a program could not be started (programs render their own failures).
    process.stderr.write(`error: unexpected error: ${e instanceof Error ? e.message : String(e)}\n`)
    process.stderr.write("hint: This is a bug in codex-auth; please report it with the command you ran (never include tokens).\n")
    if (process.env["CODEX_AUTH_DEBUG"] === "1" && e instanceof Error && e.stack) process.stderr.write(`${e.stack}\n`)
    process.exitCode = 70 // ExitCode.Internal (core is not loaded here)
  })
