/**
 * `codex-auth login status [--json]`: what is stored, where, and what it allows. Never refreshes,
 * never touches the network. Exit 1 when not logged in, as the Codex CLI.
 *
 * @since 0.1.0
 */
import { CredentialStore, ExitCode } from "@codex-auth/core"
import { Policy } from "@codex-auth/policy"
import { Effect, Layer } from "effect"
import { Command, Flag } from "effect/cli"
import { SilentExit, stdout } from "../Output.ts"
import { root } from "../Root.ts"
import { appContext, baseLayer } from "../Services.ts"
import * as StatusReport from "../StatusReport.ts"

export const status = Command.make(
  "status",
  {
    json: Flag.Boolean("json").pipe(Flag.withDescription("Print the status as JSON (schema_version 1, see README)"), Flag.withDefault(false))
  },
  Effect.fn("status")(function*({ json }) {
    const ctx = appContext(yield* root)
    yield* Effect.gen(function*() {
      const store = yield* CredentialStore.CredentialStore
      const policy = yield* Policy.describe
      const doc = yield* store.load
      const now = Date.now()
      const report = StatusReport.build({ codexHome: ctx.codexHome.path, doc, store: yield* store.info, policy, now })
      yield* stdout(json ? JSON.stringify(report, null, 2) : StatusReport.renderText(report, now))
      if (!report.logged_in) return yield* new SilentExit({ code: ExitCode.ExitCode.NotLoggedIn })
    }).pipe(Effect.provide(Layer.fresh(baseLayer(ctx))))
  })
).pipe(Command.withDescription("Show how you are signed in (mode, account, plan, token expiry, store); exit 1 when not logged in"))
