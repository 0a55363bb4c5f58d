/**
 * The `login status` program, shared by the effect/cli command and the fast path: what is
 * stored, where, and what it allows. Never refreshes, never touches the network. Fails with
 * `SilentExit(1)` when not logged in, as the Codex CLI exits 1, and `SilentExit(3)` when the
 * stored ChatGPT session has ended (its refresh token was rejected for good: sign in again).
 *
 * @since 0.1.0
 */
import { CredentialStore, ExitCode } from "@codex-auth/core"
import { Policy } from "@codex-auth/policy"
import { Effect, Layer } from "effect"
import { SilentExit } from "../Output.ts"
import { type AppContext, baseLayer } from "../Services.ts"
import * as StatusReport from "../StatusReport.ts"
import { stdout } from "./Stdout.ts"

export const statusProgram = (ctx: AppContext, json: boolean) =>
  Effect.gen(function*() {
    const store = yield* CredentialStore.CredentialStore
    const policy = yield* Policy.describe
    const doc = yield* store.load
    const now = Date.now()
    const report = StatusReport.build({ codexHome: ctx.codexHome.path, doc, store: yield* store.info, policy, now })
    yield* stdout(StatusReport.render(report, json, now))
    if (!report.logged_in) return yield* new SilentExit({ code: ExitCode.ExitCode.NotLoggedIn })
    if (report.tokens?.reauth_required != null) return yield* new SilentExit({ code: ExitCode.ExitCode.ReauthRequired })
  }).pipe(Effect.provide(Layer.fresh(baseLayer(ctx))))
