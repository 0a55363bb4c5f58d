/**
 * `LockFile` for Effect: an exclusive advisory lock on a file (`flock(2)` / `LockFileEx`, taken
 * in-process), held for the lifetime of a scope, waited for with short sleeps between try-locks.
 * While it waits, an optional `whileWaiting` effect runs between attempts and can end the wait
 * with a value instead (a refresh waiter that sees another process's fresh token stops waiting).
 *
 * @since 0.1.0
 */
import { Effect, Option, type Scope } from "effect"
import * as LockFile from "./LockFile.ts"
import { LockUnavailable } from "./NativeLock.ts"

export { LockUnavailable }

export interface LockOptions {
  /** Give up after this long (ms). */
  readonly timeoutMs: number
  /** Mode of the lock file when it is created (before the umask); default 0600. */
  readonly mode?: number
  /** Test seam: the platform calls. */
  readonly primitive?: LockFile.TryOptions["primitive"]
}

export class LockTimeout extends Error {
  override readonly name = "LockTimeout"
  readonly path: string
  readonly waitedMs: number
  constructor(path: string, waitedMs: number) {
    super(`timed out after ${waitedMs} ms waiting for ${path}`)
    this.path = path
    this.waitedMs = waitedMs
  }
}

/** Why a lock could not be taken: held too long by another, no native lock, or the file would not open. */
export type LockFailure = LockTimeout | LockUnavailable | NodeJS.ErrnoException

// The causes stay the system's own (`LockUnavailable`, an errno error): `CredentialLocks.lockError`
// turns each into a StorageError with its hint, which needs the `code`.
// @effect-diagnostics-next-line globalErrorInEffectCatch:off
const attempt = (path: string, options: LockOptions) =>
  Effect.try({
    try: () => LockFile.tryAcquire(path, { mode: options.mode ?? 0o600, ...(options.primitive ? { primitive: options.primitive } : {}) }),
    catch: (e) => e as LockUnavailable | NodeJS.ErrnoException
  })

/**
 * A timer on the wall clock, not on the `Clock` service: another process releases a lock in real
 * time, also in a program (or test) that runs on a test clock.
 */
const wallClockSleep = (ms: number): Effect.Effect<void> =>
  Effect.callback<void>((resume) => {
    const timer = setTimeout(() => resume(Effect.void), ms)
    return Effect.sync(() => clearTimeout(timer))
  })

/**
 * Holds the lock on `path` for the current scope, unless `whileWaiting` yields a value first: then
 * that value is returned and no lock is held. `Option.none()` means the lock is held.
 */
export const acquireOr = <A, E, R, E2>(
  path: string,
  options: LockOptions,
  whileWaiting: Effect.Effect<Option.Option<A>, E, R>,
  onFailure: (e: LockFailure) => E2
): Effect.Effect<Option.Option<A>, E | E2, Scope.Scope | R> =>
  Effect.gen(function*() {
    const started = Date.now()
    for (let n = 0; ; n++) {
      const held = yield* Effect.uninterruptible(Effect.flatMap(Effect.mapError(attempt(path, options), onFailure), (h) =>
        h === undefined ? Effect.succeed(false) : Effect.as(Effect.addFinalizer(() => Effect.sync(h.release)), true)))
      if (held) return Option.none()
      const instead = yield* whileWaiting
      if (Option.isSome(instead)) return instead
      const waited = Date.now() - started
      if (waited >= options.timeoutMs) return yield* Effect.fail(onFailure(new LockTimeout(path, waited)))
      yield* wallClockSleep(Math.min(LockFile.retryDelayMs(n), Math.max(1, options.timeoutMs - waited)))
    }
  })

/** Holds the lock on `path` for the lifetime of the current scope. */
export const acquire = (path: string, options: LockOptions): Effect.Effect<void, LockFailure, Scope.Scope> =>
  Effect.asVoid(acquireOr(path, options, Effect.succeedNone, (e) => e))
