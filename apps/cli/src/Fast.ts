/**
 * The fast path for the commands scripts call in loops (`login status [--json]`; `token` once it
 * needs no refresh): the same programs as the effect/cli commands, started without loading the
 * argument parser and Node platform services. `main.ts` only sends argv here when it is one of
 * these exact shapes; anything else goes through the full CLI.
 *
 * @since 0.1.0
 */
import type { Effect } from "effect"
import { Option } from "effect"
import { statusProgram } from "./programs/Status.ts"
import type { FastArgs } from "./FastArgs.ts"
import { appContext } from "./Services.ts"

export const fastProgram = (args: FastArgs): Effect.Effect<void, unknown> =>
  statusProgram(appContext({ codexHome: Option.fromNullishOr(args.codexHome), store: Option.none(), config: [] }), args.json)
