/**
 * An in-memory `CredentialStore` for tests and embedders that keep credentials elsewhere.
 *
 * @since 0.1.0
 */
import type { AuthDotJson } from "@codex-auth/core"
import { CredentialStore } from "@codex-auth/core"
import { Effect, Layer, Option, Semaphore } from "effect"
import { withLockKey } from "./FileStore.ts"

export const make = (initial?: AuthDotJson.AuthDocument) =>
  Effect.gen(function*() {
    let current = Option.fromNullishOr(initial)
    let version = 0
    const lock = yield* Semaphore.make(1)
    const withLock = <A, E, R>(self: Effect.Effect<A, E, R>) => withLockKey(lock, lock.withPermits(1), self)
    // One process: waiters queue on the semaphore and re-read once they have it.
    const refresh = yield* Semaphore.make(1)
    const withRefreshLock = <A, E, R>(self: Effect.Effect<A, E, R>) => withLockKey(refresh, refresh.withPermits(1), self)
    return CredentialStore.CredentialStore.of({
      info: Effect.succeed({ mode: "ephemeral", backend: "ephemeral", location: "memory", fallbackReason: undefined }),
      load: Effect.sync(() => current),
      save: (doc) =>
        withLock(Effect.sync(() => {
          current = Option.some(doc)
          version++
        })),
      probeWrite: Effect.void,
      remove: withLock(Effect.sync(() => {
        const had = Option.isSome(current)
        current = Option.none()
        version++
        return { removed: had ? ["memory"] : [], absent: had ? [] : ["memory"], failed: [] }
      })),
      withLock,
      withRefreshLock,
      fingerprint: Effect.sync(() => String(version))
    })
  })

export const layer = (initial?: AuthDotJson.AuthDocument): Layer.Layer<CredentialStore.CredentialStore> =>
  Layer.effect(CredentialStore.CredentialStore, make(initial))
