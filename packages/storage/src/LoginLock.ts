/**
 * One browser sign-in at a time per CODEX_HOME: `login.lock` in CODEX_HOME, held with `flock(2)`
 * semantics through `FileLock` (released by the kernel if the holder dies, even with `kill -9`),
 * created only in a CODEX_HOME that is the user's (`Ownership`). `@codex-auth/oauth`'s browser
 * sign-in takes it as an effect it is given (`BrowserLoginOptions.lock`), so oauth needs no storage. The holder writes its pid into the file so a second login can say
 * who is in the way. This replaces Codex's unauthenticated `GET /cancel`, which let any web
 * page abort a sign-in in progress.
 *
 * @since 0.1.0
 */
import { Errors } from "@codex-auth/core"
import { Effect, type Scope } from "effect"
import { mkdirSync, readFileSync, writeFileSync } from "node:fs"
import { dirname, join } from "node:path"
import * as FileLock from "./FileLock.ts"
import * as Ownership from "./Ownership.ts"

export const LOCK_FILE = "login.lock"

export const lockPathFor = (codexHome: string): string => join(codexHome, LOCK_FILE)

const loginInProgress = (pid: number | undefined, lockPath: string) =>
  new Errors.LoginFailed({
    code: "login_in_progress",
    detail: `another login is in progress${pid !== undefined ? ` (pid ${pid})` : ""}; it holds ${lockPath}.`,
    suggestion: "Finish or cancel that login (Ctrl-C in its terminal) and try again."
  })

const readPid = (path: string): number | undefined => {
  try {
    const n = Number.parseInt(readFileSync(path, "utf8").trim(), 10)
    return Number.isSafeInteger(n) && n > 0 ? n : undefined
  } catch {
    return undefined
  }
}

/**
 * Holds the login lock for the current scope; fails at once (after about a second) with
 * `login_in_progress` when another process holds it.
 */
export const acquire = (path: string): Effect.Effect<void, Errors.LoginFailed | Errors.StorageError, Scope.Scope> =>
  Effect.gen(function*() {
    yield* Effect.try({
      try: () => {
        Ownership.checkHome(dirname(path))
        mkdirSync(dirname(path), { recursive: true, mode: 0o700 })
      },
      catch: (e) =>
        Ownership.isNotOurs(e)
          ? new Errors.StorageError({ backend: "file", operation: "lock", location: e.refusal.path, detail: e.refusal.detail, suggestion: e.refusal.hint })
          : new Errors.StorageError({ backend: "file", operation: "lock", location: dirname(path), detail: (e as Error).message })
    })
    yield* FileLock.acquire(path, { timeoutMs: 1000 }).pipe(
      Effect.mapError((e) =>
        e instanceof FileLock.LockTimeout
          ? loginInProgress(readPid(path), path)
          : new Errors.StorageError({ backend: "file", operation: "lock", location: path, detail: e instanceof Error ? e.message : String(e) })
      )
    )
    yield* Effect.acquireRelease(
      Effect.sync(() => {
        try {
          writeFileSync(path, `${process.pid}\n`, { mode: 0o600 })
        } catch {
          // the pid is only informative
        }
      }),
      () =>
        Effect.sync(() => {
          try {
            writeFileSync(path, "")
          } catch {
            // ignore
          }
        })
    )
  })
