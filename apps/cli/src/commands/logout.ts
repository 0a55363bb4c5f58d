/**
 * `codex-auth logout`: removes the credentials from every store (file and keyring), so the
 * session ends for every client sharing this CODEX_HOME, and revokes the session at the issuer
 * (RFC 7009) best-effort with a 5-second limit: the refresh token (it ends the whole grant),
 * else the access token, at the issuer the tokens came from (`oauth_provenance`). The report
 * says honestly what was revoked and what was not. `--local-only` never contacts the issuer.
 *
 * The local purge never depends on the network: a broken CA bundle or proxy setting, an
 * unreachable issuer or an error answer only turn into a warning. Exit code 0 unless no store
 * could be purged at all (then the storage error, exit 5).
 *
 * @since 0.1.0
 */
import { RefreshTransport as Port, SafeText } from "@codex-auth/core"
import * as Logout from "@codex-auth/oauth/Logout"
import * as OAuthConfig from "@codex-auth/oauth/OAuthConfig"
import { Effect, Layer, Result } from "effect"
import { Command } from "effect/cli"
import { lazyRefreshTransport } from "../AuthServices.ts"
import { stderr } from "../Output.ts"
import { root, switchFlag } from "../Root.ts"
import { appContext, baseLayer } from "../Services.ts"

/** What logout says about the issuer; `where` is the revoke URL actually contacted (`CODEX_REVOKE_TOKEN_URL_OVERRIDE` included). */
const revocationText = (report: Logout.LogoutReport): string | undefined => {
  const r = report.revocation
  const where = report.revokeUrl ?? report.issuer ?? "the issuer"
  switch (r._tag) {
    case "Revoked":
      return `Revoked the ${r.tokenType === "refresh_token" ? "refresh token" : "access token"} at ${where}: the session has ended on the server too.`
    case "Failed":
      return `warning: could not revoke the session at ${where} (${r.detail}). The credentials were removed from this machine, but the ${r.tokenType === "refresh_token" ? "refresh token" : "access token"} stays valid at the issuer until it expires.`
    case "Skipped":
      switch (r.reason) {
        case "local_only":
          return report.mode === "chatgpt" ? "Did not contact the issuer (--local-only): the session stays valid there until it expires." : undefined
        case "api_key":
          return "API keys are not revoked by logout; delete the key in the OpenAI dashboard if it should stop working."
        case "unusable_issuer":
          return `warning: did not revoke the session: ${r.detail ?? "the stored issuer is not usable"}.`
        case "nothing_stored":
          return undefined
        case "not_removed":
          return report.mode === "chatgpt" ? "Did not revoke the session at the issuer, since the credentials could not be removed from this machine." : undefined
      }
  }
}

export const logout = Command.make(
  "logout",
  {
    localOnly: switchFlag("local-only", "Only remove local credentials; do not ask the issuer to revoke the tokens")
  },
  Effect.fn("logout")(function*({ localOnly }) {
    const ctx = appContext(yield* root)
    const resolved = yield* Effect.result(OAuthConfig.resolve({}))
    if (Result.isFailure(resolved)) yield* stderr(SafeText.escape(`warning: ${resolved.failure.userMessage}; using ${Port.DEFAULT_ISSUER} for tokens that do not record their issuer.`))
    const fallback = Result.isSuccess(resolved)
      ? { issuer: resolved.success.issuer, clientId: resolved.success.clientId }
      : { issuer: Port.DEFAULT_ISSUER, clientId: Port.DEFAULT_CLIENT_ID }
    yield* Effect.gen(function*() {
      const report = yield* Logout.logout({ localOnly, fallback, revokeTimeout: "5 seconds" })
      const revocation = revocationText(report)
      if (revocation !== undefined) yield* stderr(SafeText.escape(revocation))
      for (const f of report.failed) yield* stderr(SafeText.escape(`warning: could not remove ${f.location}: ${f.detail}`))
      if (report.removeError !== undefined) return yield* report.removeError
      yield* stderr(
        report.removed.length > 0
          ? SafeText.escape(`Logged out (removed ${report.removed.join(", ")}).`)
          : report.mode === "unreadable"
          ? "Logged out (the stored credentials were unreadable and have been removed)."
          : "Not logged in; nothing to remove."
      )
    }).pipe(Effect.provide(Layer.fresh(Layer.merge(baseLayer(ctx, { enforcePolicy: false }), lazyRefreshTransport))))
  })
).pipe(Command.withDescription("Sign out: revoke the session at the issuer (best-effort) and remove credentials from every store"))
