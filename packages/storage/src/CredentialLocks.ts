/**
 * The locks around the credentials of one CODEX_HOME, in Effect, as storage errors.
 *
 * - **Commit** — the Codex CLI's own protocol (0.169, observed with strace), for every write of
 *   credentials by anyone: `auth.lock` (created 0666 before the umask), waited for; then
 *   `auth.json.lock` (0600), tried for about 5 s as Codex does; both released right after the
 *   re-read and the atomic write. Held for milliseconds, never across the network: the real Codex
 *   gives up on `auth.json.lock` after 5 s ("credential commit lock timed out").
 * - **Refresh** — codex-auth's own `codex-auth-refresh.lock` (0600), which Codex never waits on:
 *   held across one refresh POST, so codex-auth processes send a refresh token once between them.
 *   Waiters watch the store meanwhile and stop waiting as soon as another process's fresh token is
 *   there (`FileLock.acquireOr`).
 *
 * Order, whoever takes both: refresh, then auth.lock, then auth.json.lock. Codex takes only the
 * last two, in the same order, so nobody waits in a circle.
 *
 * @since 0.1.0
 */
import { Errors } from "@codex-auth/core"
import { Effect, type Option, type Scope } from "effect"
import { join } from "node:path"
import * as CodexHome from "./CodexHome.ts"
import * as FileLock from "./FileLock.ts"

const { auth, authJson, refresh: refreshFile } = CodexHome.LOCK_FILES

/** Codex's commit locks and codex-auth's refresh lock, in the order they are taken. */
export const AUTH_LOCK = auth.name
export const AUTH_JSON_LOCK = authJson.name
export const REFRESH_LOCK = refreshFile.name

/** How long Codex tries `auth.json.lock` before it fails; codex-auth allows itself the same. */
export const AUTH_JSON_LOCK_TIMEOUT_MS = 5_000

export const refreshLockPath = CodexHome.refreshLockPath

export interface CommitOptions {
  readonly codexHome: string
  /** How long to wait for `auth.lock` (ms). */
  readonly timeoutMs: number
  /** Test seam: the platform calls. */
  readonly primitive?: FileLock.LockOptions["primitive"]
}

const errnoDetail = (e: NodeJS.ErrnoException): string =>
  e.code === "EACCES" || e.code === "EPERM" ? "permission denied" : e.code === "EROFS" ? "the file system is read-only" : (e.code ?? e.message)

/** The storage error for a lock that could not be taken. */
export const lockError = (e: FileLock.LockFailure, path: string): Errors.StorageError => {
  if (e instanceof FileLock.LockTimeout) {
    return new Errors.StorageError({
      backend: "file",
      operation: "lock",
      location: path,
      detail: `another process held ${path} for more than ${Math.round(e.waitedMs / 1000)} s`,
      suggestion: `Look for a hung codex or codex-auth process (\`fuser -v ${path}\`), then try again.`
    })
  }
  if (e instanceof FileLock.LockUnavailable) {
    return new Errors.StorageError({
      backend: "file",
      operation: "lock",
      location: path,
      detail: e.message,
      suggestion: `codex-auth locks credentials with koffi's prebuilt binary for ${process.platform}-${process.arch}: reinstall codex-auth with optional dependencies (no --no-optional / --omit=optional), or report this platform.`
    })
  }
  return new Errors.StorageError({
    backend: "file",
    operation: "lock",
    location: path,
    detail: errnoDetail(e),
    ...(e.code === "EACCES" || e.code === "EPERM"
      ? { suggestion: `Check the owner and permissions of ${path} and its directory (they should be yours).` }
      : e.code === "EROFS"
      ? { suggestion: "Point CODEX_HOME (or --codex-home) at a writable directory." }
      : {})
  })
}

const take = (path: string, timeoutMs: number, mode: number, primitive: CommitOptions["primitive"]) =>
  Effect.asVoid(FileLock.acquireOr(path, { timeoutMs, mode, ...(primitive ? { primitive } : {}) }, Effect.succeedNone, (e) => lockError(e, path)))

/** Holds Codex's commit locks (`auth.lock`, then `auth.json.lock`) for the current scope. */
export const commit = (options: CommitOptions): Effect.Effect<void, Errors.StorageError, Scope.Scope> =>
  Effect.andThen(
    take(join(options.codexHome, AUTH_LOCK), options.timeoutMs, auth.mode, options.primitive),
    take(join(options.codexHome, AUTH_JSON_LOCK), AUTH_JSON_LOCK_TIMEOUT_MS, authJson.mode, options.primitive)
  )

/**
 * Holds the refresh lock for the current scope, unless `whileWaiting` yields a value first (then
 * nothing is held and that value is returned); `Option.none()` means the lock is held.
 */
export const refresh = <A, E, R>(
  options: CommitOptions,
  whileWaiting: Effect.Effect<Option.Option<A>, E, R>
): Effect.Effect<Option.Option<A>, Errors.StorageError | E, Scope.Scope | R> => {
  const path = refreshLockPath(options.codexHome)
  const lock = { timeoutMs: options.timeoutMs, mode: refreshFile.mode, ...(options.primitive ? { primitive: options.primitive } : {}) }
  return FileLock.acquireOr(path, lock, whileWaiting, (e) => lockError(e, path))
}
