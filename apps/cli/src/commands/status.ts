/**
 * `codex-auth login status [--json]`.
 *
 * @since 0.1.0
 */
import { Effect } from "effect"
import { Command } from "effect/cli"
import { statusProgram } from "../programs/Status.ts"
import { root, switchFlag } from "../Root.ts"
import { appContext } from "../Services.ts"

export const status = Command.make(
  "status",
  {
    json: switchFlag("json", "Print the status as JSON (schema_version 1, see README)")
  },
  Effect.fn("status")(function*({ json }) {
    return yield* statusProgram(appContext(yield* root), json)
  })
).pipe(Command.withDescription("Show how you are signed in (mode, account, plan, token expiry, store); exit 1 when not logged in"))
