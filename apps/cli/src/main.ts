/**
 * The `codex-auth` executable: composes the commands, runs them on Node, renders failures and
 * sets the exit code. Nothing else lives here.
 *
 * @since 0.1.0
 */
import { NodeServices } from "@effect/platform-node"
import { Effect, Exit } from "effect"
import { Command } from "effect/cli"
import { login } from "./commands/login.ts"
import { logout } from "./commands/logout.ts"
import { token } from "./commands/token.ts"
import { renderCause } from "./Output.ts"
import { root } from "./Root.ts"

declare const __CODEX_AUTH_VERSION__: string | undefined
const version = typeof __CODEX_AUTH_VERSION__ === "string" ? __CODEX_AUTH_VERSION__ : "0.1.0"

process.removeAllListeners("warning")
process.on("warning", (w) => {
  if (w.name === "ExperimentalWarning") return
  process.stderr.write(`warning: ${w.message}\n`)
})

const cli = root.pipe(Command.withSubcommands([login, logout, token]))

const program = Command.run(cli, { version, renderErrors: false }).pipe(Effect.provide(NodeServices.layer))

const controller = new AbortController()
let interrupted = false
const onSignal = () => {
  interrupted = true
  controller.abort()
}
process.once("SIGINT", onSignal)
process.once("SIGTERM", onSignal)

Effect.runPromiseExit(program, { signal: controller.signal }).then((exit) => {
  process.exitCode = Exit.isSuccess(exit) ? 0 : renderCause(exit.cause)
  if (interrupted) process.exitCode = 130
})
