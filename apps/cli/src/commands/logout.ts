/**
 * `codex-auth logout`: removes the credentials from every store (file and keyring), so the
 * session ends for every client sharing this CODEX_HOME.
 *
 * @since 0.1.0
 */
import { CredentialStore } from "@codex-auth/core"
import { Effect, Layer } from "effect"
import { Command, Flag } from "effect/cli"
import { stderr } from "../Output.ts"
import { root } from "../Root.ts"
import { appContext, baseLayer } from "../Services.ts"

export const logout = Command.make(
  "logout",
  {
    localOnly: Flag.Boolean("local-only").pipe(
      Flag.withDescription("Only remove local credentials; do not ask the issuer to revoke the tokens")
,
      Flag.withDefault(false)
    )
  },
  Effect.fn("logout")(function*() {
    const ctx = appContext(yield* root)
    yield* Effect.gen(function*() {
      const store = yield* CredentialStore.CredentialStore
      const report = yield* store.remove
      for (const f of report.failed) yield* stderr(`warning: could not remove ${f.location}: ${f.detail}`)
      yield* stderr(report.removed.length > 0 ? `Logged out (removed ${report.removed.join(", ")})` : "Not logged in; nothing to remove")
    }).pipe(Effect.provide(Layer.fresh(baseLayer(ctx, { enforcePolicy: false }))))
  })
).pipe(Command.withDescription("Sign out: revoke the tokens (best-effort) and remove credentials from every store"))
