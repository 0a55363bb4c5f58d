/**
 * The fast path for the commands scripts call in loops (`login status [--json]`, `token`): the
 * same programs as the effect/cli commands, started without loading the argument parser and the
 * Node platform services. `main.ts` only sends argv here when it is one of these exact shapes
 * (see `FastArgs`); anything else goes through the full CLI. In the bundle this module is the
 * `fast` payload (see `Payloads.ts`).
 *
 * A `token` run that has to refresh is handed over to the full CLI (see `programs/HandOff.ts`):
 * the HTTP stack is not part of this payload.
 *
 * @since 0.1.0
 */
import { Effect, Exit, Option } from "effect"
import type { FastArgs } from "./FastArgs.ts"
import { loggerLayer, renderCause } from "./Output.ts"
import { handOffTransport, isHandOff } from "./programs/HandOff.ts"
import { statusProgram } from "./programs/Status.ts"
import { tokenProgram } from "./programs/Token.ts"
import { appContext } from "./Services.ts"

/** The program for a recognised argv. */
export const fastProgram = (args: FastArgs): Effect.Effect<void, unknown> => {
  // The flags the full CLI would have parsed for this argv: only --codex-home can be present.
  const ctx = appContext({ codexHome: Option.fromNullishOr(args.codexHome), store: Option.none(), config: [] })
  return args.command === "status" ? statusProgram(ctx, args.json) : tokenProgram(ctx, handOffTransport(ctx.codexHome.path))
}

/**
 * Runs the program for `args`; resolves with the exit code (failures already rendered on
 * stderr), or with `undefined` when the run must be repeated by the full CLI.
 */
export const run = (args: FastArgs, signal: AbortSignal): Promise<number | undefined> =>
  Effect.runPromiseExit(Effect.provide(fastProgram(args), loggerLayer), { signal }).then((exit) =>
    Exit.isSuccess(exit) ? 0 : isHandOff(exit.cause) ? undefined : renderCause(exit.cause)
  )
