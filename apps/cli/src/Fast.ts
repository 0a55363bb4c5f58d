/**
 * The fast path for the commands scripts call in loops (`login status [--json]`, `token`): the
 * same programs as the effect/cli commands, started without loading the argument parser and the
 * Node platform services. `main.ts` only sends argv here when it is one of these exact shapes
 * (see `FastArgs`); anything else goes through the full CLI. In the bundle this module is the
 * `fast` payload (see `Payloads.ts`).
 *
 * @since 0.1.0
 */
import type { Effect } from "effect"
import { Option } from "effect"
import type { FastArgs } from "./FastArgs.ts"
import { toExitCode } from "./programs/Run.ts"
import { statusProgram } from "./programs/Status.ts"
import { appContext } from "./Services.ts"

/** The program for a recognised argv. */
export const fastProgram = (args: FastArgs): Effect.Effect<void, unknown> =>
  statusProgram(appContext({ codexHome: Option.fromNullishOr(args.codexHome), store: Option.none(), config: [] }), args.json)

/** Runs the program for `args`; resolves with the exit code (failures already rendered on stderr). */
export const run = (args: FastArgs, signal: AbortSignal): Promise<number> => toExitCode(fastProgram(args), signal)
