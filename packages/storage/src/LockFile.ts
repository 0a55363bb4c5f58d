/**
 * Exclusive advisory locks on files, held by this process on an open file (`NativeLock`: `flock(2)`
 * or `LockFileEx`), shared with every other process that locks the same file — the Codex CLI
 * included. The kernel drops a lock when its holder exits for any reason (even `kill -9`), so a
 * crashed holder never blocks anyone.
 *
 * **One table per process.** The locks this process holds are kept in one table on `globalThis`,
 * keyed by absolute path, shared by every copy of this module in the process (the CLI's bundle
 * holds several programs, each with its own copy). Two opens of one file in one process would
 * otherwise exclude each other as if they were two processes; with the table, a second attempt in
 * the same process sees the lock as busy and waits like any other waiter.
 *
 * **Hand-off.** A lock may be *parked* (`Held.handOff`): its owner lets go of it without unlocking,
 * and the next `tryAcquire` of that path in this process takes it over at once. The CLI's lean path
 * takes the refresh lock and hands it to the full program this way, so one process acquires it
 * once. A parked lock nobody claims is dropped when the process exits.
 *
 * Only try-locks are made; waiting is the caller's, with `retryDelayMs` between attempts (timers,
 * so the event loop never blocks). This module imports no effect runtime: the CLI's lean path uses
 * it; `FileLock` wraps it for Effect.
 *
 * @since 0.1.0
 */
import { resolve } from "node:path"
import { type LockHandle, type LockPrimitive, native } from "./NativeLock.ts"

interface Entry {
  readonly handle: LockHandle
  readonly primitive: LockPrimitive
  /** Released by its owner without unlocking; the next `tryAcquire` in this process claims it. */
  parked: boolean
  /** `release` parks it instead of unlocking (`keepOnRelease`). */
  keep: boolean
}

const TABLE = Symbol.for("codex-auth/held-locks/v1")
const table: Map<string, Entry> = ((globalThis as Record<symbol, unknown>)[TABLE] ??= new Map<string, Entry>()) as Map<string, Entry>

/** A lock this process holds. */
export interface Held {
  readonly path: string
  /** Unlocks and closes the file; does nothing the second time. */
  readonly release: () => void
  /** Lets go of the lock without unlocking it: the next `tryAcquire` of this path in this process gets it. */
  readonly handOff: () => void
}

export interface TryOptions {
  /** Mode of the lock file when it is created (before the umask). */
  readonly mode: number
  /** The platform calls (default: this machine's, `NativeLock.native`). */
  readonly primitive?: LockPrimitive
}

const heldFor = (path: string, entry: Entry): Held => {
  let done = false
  return {
    path,
    release: () => {
      if (done) return
      done = true
      if (table.get(path) !== entry) return
      if (entry.keep) {
        entry.keep = false
        entry.parked = true
        return
      }
      table.delete(path)
      try {
        entry.primitive.unlock(entry.handle)
      } catch {
        // closing the file drops the lock as well
      } finally {
        try {
          entry.primitive.close(entry.handle)
        } catch {
          // already closed
        }
      }
    },
    handOff: () => {
      if (done) return
      done = true
      entry.parked = true
    }
  }
}

/**
 * One attempt: the lock, or `undefined` when another holder (another process, or another owner in
 * this process) has it. Throws `NativeLock.LockUnavailable` when the native lock cannot be used,
 * and the file system's error when the lock file cannot be opened.
 */
export const tryAcquire = (path: string, options: TryOptions): Held | undefined => {
  const key = resolve(path)
  const held = table.get(key)
  if (held !== undefined) {
    if (!held.parked) return undefined
    held.parked = false
    return heldFor(key, held)
  }
  const primitive = options.primitive ?? native()
  const handle = primitive.open(key, options.mode)
  let locked: boolean
  try {
    locked = primitive.tryLock(handle)
  } catch (e) {
    primitive.close(handle)
    throw e
  }
  if (!locked) {
    primitive.close(handle)
    return undefined
  }
  const entry: Entry = { handle, primitive, parked: false, keep: false }
  table.set(key, entry)
  return heldFor(key, entry)
}

/**
 * When the current owner releases the lock on `path`, park it instead (see `Held.handOff`), for a
 * program that takes the run over in this process. Does nothing when the lock is not held here.
 */
export const keepOnRelease = (path: string): void => {
  const entry = table.get(resolve(path))
  if (entry !== undefined && !entry.parked) entry.keep = true
}

/** Whether this process holds (or has parked) the lock on `path`. */
export const heldHere = (path: string): boolean => table.has(resolve(path))

/**
 * The wait before attempt `attempt + 1` (ms): 1, 2, 4, 8, then 10, each with ±25 % jitter so that
 * waiters do not retry in step. Short, because every holder codex-auth knows keeps its lock for
 * milliseconds (a commit) or one HTTP request (a refresh, whose waiters watch the store meanwhile).
 */
export const retryDelayMs = (attempt: number): number => Math.min(10, 2 ** Math.min(attempt, 4)) * (0.75 + Math.random() / 2)
