/**
 * The full `codex-auth` command tree on effect/cli. In the bundle this module is the `full`
 * payload (see `Payloads.ts`).
 *
 * @since 0.1.0
 */
import { NodeServices } from "@effect/platform-node"
import { Effect, Layer } from "effect"
import { CliOutput, Command } from "effect/cli"
import { doctor } from "./commands/doctor.ts"
import { login } from "./commands/login.ts"
import { logout } from "./commands/logout.ts"
import { token } from "./commands/token.ts"
import { toExitCode } from "./programs/Run.ts"
import { root } from "./Root.ts"

export const cli = root.pipe(Command.withSubcommands([login, logout, token, doctor]))

/**
 * effect/cli's output: the help (for `--help`, and for `codex-auth` alone) and the version on
 * stdout; an invalid invocation prints nothing here — `Output.renderCause` writes its `error:`
 * lines and a `hint:` on stderr (never the whole help, never a secret-shaped argument).
 */
export const presenterLayer = CliOutput.layerPresenter({
  present: (event) => (event._tag === "InvalidInvocation" ? Effect.void : CliOutput.defaultPresenter.present(event))
})

export const program = (version: string) =>
  Command.run(cli, { version }).pipe(Effect.provide(Layer.mergeAll(NodeServices.layer, presenterLayer)))

/** Parses `process.argv` and runs the command; resolves with the exit code (failures already rendered on stderr). */
export const run = (version: string, signal: AbortSignal): Promise<number> => toExitCode(program(version), signal)
