/**
 * Runs a command's program to the end and turns its exit into the process exit code, rendering a
 * failure on stderr. Shared by the fast path and the full command tree, so both end the same way.
 *
 * @since 0.1.0
 */
import { Effect, Exit } from "effect"
import { loggerLayer, renderCause } from "../Output.ts"

/** Runs `program`; resolves with 0, or with the exit code of the failure it rendered on stderr. */
export const toExitCode = (program: Effect.Effect<void, unknown>, signal: AbortSignal): Promise<number> =>
  Effect.runPromiseExit(Effect.provide(program, loggerLayer), { signal }).then((exit) => (Exit.isSuccess(exit) ? 0 : renderCause(exit.cause)))
