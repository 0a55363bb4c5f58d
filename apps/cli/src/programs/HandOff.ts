/**
 * How the fast path runs `token` when the access token must be refreshed: it does not. The HTTP
 * stack (oauth's refresh transport, TLS, proxy, undici) is bundled only with the full CLI, so the
 * fast path gives the `AuthManager` a refresh transport that stops the run with a `HandOff`
 * defect the moment a refresh POST would be sent, and `main.ts` then runs the same command
 * through the full CLI.
 *
 * Nothing has happened yet at that point that a second run would notice: the AuthManager has only
 * read the store (and, under the refresh lock, re-read it; that lock is handed to the full CLI); it writes the store, the reauth marker
 * or its backoff state only after the transport answered, and a defect is not an answer (it
 * propagates past `Effect.result`, releasing the lock). Nothing was printed on stdout. The
 * configuration and policy checks ran (and passed, or the run failed with their error instead).
 *
 * @since 0.1.0
 */
import { RefreshTransport } from "@codex-auth/core"
import * as CodexHome from "@codex-auth/storage/CodexHome"
import * as LockFile from "@codex-auth/storage/LockFile"
import { Cause, Effect, Layer } from "effect"

/** The defect that ends a fast-path run which needs the network. */
export class HandOff extends Error {
  constructor() {
    super("this run needs the full codex-auth CLI (a token refresh)")
    this.name = "HandOff"
  }
}

/**
 * A `RefreshTransport` whose every call ends the run with `HandOff`. A refresh is asked for under
 * codex-auth's refresh lock of `codexHome`: it is kept (parked) for the full CLI, which takes it
 * over in this process instead of acquiring it a second time.
 */
export const handOffTransport = (codexHome: string): Layer.Layer<RefreshTransport.RefreshTransport> =>
  Layer.succeed(
    RefreshTransport.RefreshTransport,
    RefreshTransport.RefreshTransport.of({
      refresh: () => Effect.suspend(() => {
        LockFile.keepOnRelease(CodexHome.refreshLockPath(codexHome))
        return Effect.die(new HandOff())
      }),
      revoke: () => Effect.die(new HandOff())
    })
  )

/** Whether a run ended because of `HandOff`. */
export const isHandOff = (cause: Cause.Cause<unknown>): boolean =>
  cause.reasons.some((r) => Cause.isDieReason(r) && r.defect instanceof HandOff)
