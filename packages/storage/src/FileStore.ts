/**
 * The file backend: `$CODEX_HOME/auth.json`, written the way a credential file should be:
 * the directory is created 0700; each save writes a temp file created 0600 with `O_EXCL`,
 * fsyncs it, renames it over auth.json and fsyncs the directory, all while holding Codex's commit
 * locks. Readers never see a torn file. Reading changes nothing: a file with a wider mode gets a
 * warning, and the next save writes it 0600. A corrupt file is reported and left untouched.
 *
 * Own files only (`Ownership`): nothing is created, written or deleted unless CODEX_HOME and
 * auth.json are this user's and not writable by others. A symlinked CODEX_HOME is followed. A
 * symlinked auth.json is followed only to this user's credentials document (or to a missing file
 * in a directory of theirs): the new document is written atomically next to the link's target,
 * and the link is kept; a link to anything else is refused.
 *
 * @since 0.1.0
 */
import { randomBytes } from "node:crypto"
import * as fs from "node:fs"
import { basename, dirname, join } from "node:path"
import { AuthDotJson, CredentialStore, Errors } from "@codex-auth/core"
import { Context, Effect, Layer, Option, Result, Semaphore } from "effect"
import * as AuthFile from "./AuthFile.ts"
import * as CredentialLocks from "./CredentialLocks.ts"
import * as Ownership from "./Ownership.ts"

/**
 * The credential locks the current fiber holds (a file store's lock path; a memory store's own
 * key), so nested `withLock`/`save` on the same store (or another store of the same CODEX_HOME)
 * don't deadlock, while a store of another CODEX_HOME still takes its own lock.
 */
export const LockHeld = Context.Reference<ReadonlySet<unknown>>("@codex-auth/storage/LockHeld", { defaultValue: () => new Set() })

/** Runs `self` under the lock `key` unless the fiber already holds it; `acquire` takes it. */
export const withLockKey = <A, E, R, E2, R2>(
  key: unknown,
  acquire: (self: Effect.Effect<A, E, R>) => Effect.Effect<A, E | E2, R | R2>,
  self: Effect.Effect<A, E, R>
): Effect.Effect<A, E | E2, R | R2> =>
  Effect.flatMap(Effect.service(LockHeld), (held) =>
    held.has(key) ? self : acquire(Effect.provideService(self, LockHeld, new Set([...held, key]))))

export interface FileStoreOptions {
  readonly codexHome: string
  /**
   * How long to wait for `auth.lock` (the commit lock) and for the refresh lock. Default 30 s.
   * `auth.json.lock` is tried for 5 s, as the Codex CLI does.
   */
  readonly lockTimeoutMs?: number
  /** Test seam: the platform's lock calls (default: this machine's `flock(2)` / `LockFileEx`). */
  readonly lockPrimitive?: CredentialLocks.CommitOptions["primitive"]
}

type WithRefreshLock = CredentialStore.CredentialStoreShape["withRefreshLock"]

/**
 * The refresh lock of a CODEX_HOME for a store: `whileWaiting` runs whenever `signal` (the store's
 * change marker) differs from the last value seen, so waiters re-read only what may have changed.
 */
export const makeRefreshLock = (
  options: FileStoreOptions,
  signal: Effect.Effect<string, Errors.StorageError>
): Effect.Effect<WithRefreshLock> =>
  Effect.map(Semaphore.make(1), (local): WithRefreshLock => {
    const path = CredentialLocks.refreshLockPath(options.codexHome)
    const lockOptions = {
      codexHome: options.codexHome,
      timeoutMs: options.lockTimeoutMs ?? 30_000,
      ...(options.lockPrimitive ? { primitive: options.lockPrimitive } : {})
    }
    return <A, E, R, E2 = never, R2 = never>(self: Effect.Effect<A, E, R>, whileWaiting?: Effect.Effect<Option.Option<A>, E2, R2>) =>
      withLockKey(path, (locked: Effect.Effect<A, E, R>) =>
        local.withPermits(1)(Effect.scoped(Effect.gen(function*() {
          yield* ensureHome(options.codexHome)
          let last: string | undefined
          const watch = whileWaiting === undefined ? Effect.succeedNone : Effect.flatMap(signal, (now) => {
            if (now === last) return Effect.succeedNone
            last = now
            return whileWaiting
          })
          const instead = yield* CredentialLocks.refresh(lockOptions, watch)
          return Option.isSome(instead) ? instead.value : yield* locked
        }))), self)
  })

/**
 * Proves CODEX_HOME is this user's (see `Ownership`) and creates it 0700 when missing: run before
 * anything is created in it (lock files, temp files, auth.json).
 */
export const ensureHome = (home: string): Effect.Effect<void, Errors.StorageError> =>
  Effect.try({
    try: () => {
      Ownership.checkHome(home)
      fs.mkdirSync(home, { recursive: true, mode: 0o700 })
    },
    catch: (e) => storageError("write", e, home)
  })

/** The `StorageError` for a failed file operation on `location` (a refusal of `Ownership` names its own path). */
const storageError = (operation: Errors.StorageOperation, e: unknown, location: string) => {
  if (Ownership.isNotOurs(e)) {
    return new Errors.StorageError({ backend: "file", operation, location: e.refusal.path, detail: e.refusal.detail, suggestion: e.refusal.hint })
  }
  const hint = hintFor(e, location)
  return new Errors.StorageError({ backend: "file", operation, location, detail: errnoText(e), ...(hint ? { suggestion: hint } : {}) })
}

const errnoText = (e: unknown): string => {
  const err = e as NodeJS.ErrnoException
  switch (err?.code) {
    case "EACCES":
    case "EPERM":
      return "permission denied"
    case "ENOSPC":
      return "no space left on the device"
    case "EROFS":
      return "the file system is read-only"
    case "ENOTDIR":
      return "a path component is not a directory"
    case "EISDIR":
      return "it is a directory"
    case "ENOTREG":
      return "it is not a regular file (a FIFO, socket or device)"
    case "ELOOP":
      return "too many levels of symbolic links"
    case "EFBIG": {
      const size = (err as { size?: unknown }).size
      return `it is ${typeof size === "number" ? `${size} bytes` : "too large"}, more than the 1 MiB a credentials file can be; it was not read`
    }
    default:
      return err?.code ?? (err instanceof Error ? err.message : String(e))
  }
}

const hintFor = (e: unknown, path: string): string | undefined => {
  const code = (e as NodeJS.ErrnoException)?.code
  if (code === "EACCES" || code === "EPERM") return `Check the owner and permissions of ${path} and its directory (it should be yours, mode 0600 in a 0700 directory).`
  if (code === "ENOSPC") return "Free some disk space and try again."
  if (code === "EROFS") return "Point CODEX_HOME (or --codex-home) at a writable directory."
  if (code === "EISDIR" || code === "ENOTREG") return `Move ${path} aside (it must be a regular file), then sign in again.`
  if (code === "EFBIG") return `Move ${path} aside (it is not a credentials file codex-auth will read), then sign in again with \`codex-auth login\`.`
  return undefined
}

/** What a refreshed document may grow by over the stored one (new tokens are rarely longer). */
const PROBE_SLACK_BYTES = 8192

/** Builds the file-backed `CredentialStore` shape; exported for the auto backend. */
export const makeFileStore = (options: FileStoreOptions) =>
  Effect.gen(function*() {
    const home = options.codexHome
    const authPath = AuthFile.authFilePath(home)
    const lockPath = join(home, CredentialLocks.AUTH_LOCK)
    const local = yield* Semaphore.make(1)
    const commitOptions = {
      codexHome: home,
      timeoutMs: options.lockTimeoutMs ?? 30_000,
      ...(options.lockPrimitive ? { primitive: options.lockPrimitive } : {})
    }

    const fail = (operation: Errors.StorageOperation, e: unknown, location = authPath) => storageError(operation, e, location)

    const withLock = <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E | Errors.StorageError, R> =>
      withLockKey(lockPath, (locked: Effect.Effect<A, E, R>) =>
        local.withPermits(1)(
          Effect.scoped(
            Effect.gen(function*() {
              yield* ensureHome(home)
              yield* CredentialLocks.commit(commitOptions)
              return yield* locked
            })
          )
        ), self)

    const readText = Effect.try({
      try: () => Option.fromUndefinedOr(AuthFile.readAuthText(authPath)),
      catch: (e) => fail("read", e)
    })

    const load = Effect.flatMap(readText, (text) => {
      if (Option.isNone(text)) return Effect.succeed(Option.none<AuthDotJson.AuthDocument>())
      const parsed = AuthDotJson.parse(text.value, authPath)
      return Result.isSuccess(parsed) ? Effect.succeed(Option.some(parsed.success)) : Effect.fail(parsed.failure)
    })

    /**
     * Removes temp files a writer killed mid-save left behind. Called with the lock held: every
     * writer holds it while its temp file exists, so any temp file seen now is garbage (and may
     * hold a complete credential document).
     */
    const sweepTempFiles = (files: ReadonlyArray<string>) => {
      for (const file of new Set(files)) {
        const dir = dirname(file)
        const prefix = `.${basename(file)}.tmp-`
        let names: Array<string>
        try {
          names = fs.readdirSync(dir)
        } catch {
          continue
        }
        for (const name of names) {
          if (name.startsWith(prefix) && /^\d+-[0-9a-f]{12}$/.test(name.slice(prefix.length))) {
            fs.rmSync(join(dir, name), { force: true })
          }
        }
      }
    }

    const writeAtomically = (text: string) =>
      Effect.try({
        try: () => {
          const target = Ownership.authTarget(authPath).path
          const dir = dirname(target)
          sweepTempFiles([authPath, target])
          const tmp = join(dir, `.${basename(target)}.tmp-${process.pid}-${randomBytes(6).toString("hex")}`)
          const fd = fs.openSync(tmp, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL, 0o600)
          try {
            fs.writeFileSync(fd, text)
            fs.fsyncSync(fd)
          } catch (e) {
            fs.closeSync(fd)
            fs.rmSync(tmp, { force: true })
            throw e
          }
          fs.closeSync(fd)
          try {
            fs.renameSync(tmp, target)
          } catch (e) {
            fs.rmSync(tmp, { force: true })
            throw e
          }
          const dfd = fs.openSync(dir, fs.constants.O_RDONLY)
          try {
            fs.fsyncSync(dfd)
          } finally {
            fs.closeSync(dfd)
          }
        },
        catch: (e) => fail("write", e)
      })

    /** Room for a document of `bytes`: a temp file in the target's directory, written, fsynced and removed. */
    const probeWrite = Effect.flatMap(ensureHome(home), () =>
      Effect.try({
        try: () => {
          const target = Ownership.authTarget(authPath)
          const dir = dirname(target.path)
          let size = 0
          try {
            size = fs.statSync(target.path).size
          } catch {
            // absent: a first save
          }
          const tmp = join(dir, `.${basename(target.path)}.tmp-${process.pid}-${randomBytes(6).toString("hex")}`)
          const fd = fs.openSync(tmp, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL, 0o600)
          try {
            fs.writeSync(fd, Buffer.alloc(Math.min(size, 1024 * 1024) + PROBE_SLACK_BYTES, 0x20))
            fs.fsyncSync(fd)
          } finally {
            fs.closeSync(fd)
            fs.rmSync(tmp, { force: true })
          }
        },
        catch: (e) => fail("write", e)
      }))

    const save = (doc: AuthDotJson.AuthDocument) =>
      // withLock created CODEX_HOME when it took the lock (whoever holds it for this path did).
      withLock(writeAtomically(AuthDotJson.toFileText(doc)))

    const removeFile = Effect.try({
      try: (): boolean => {
        // Through a symlinked auth.json, the credentials live in the link's target (proved to be
        // this user's credentials document): remove both.
        const target = Ownership.authTarget(authPath)
        sweepTempFiles([authPath, target.path])
        let removed = false
        for (const path of target.viaLink ? [target.path, authPath] : [authPath]) {
          try {
            fs.unlinkSync(path)
            removed = true
          } catch (e) {
            if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e
          }
        }
        return removed
      },
      catch: (e) => fail("delete", e)
    })

    const remove = withLock(removeFile).pipe(
      Effect.map((removed): CredentialStore.RemoveReport => ({
        removed: removed ? [authPath] : [],
        absent: removed ? [] : [authPath],
        failed: []
      }))
    )

    const fingerprint = Effect.try({
      try: () => {
        try {
          const st = fs.statSync(authPath, { bigint: true })
          return `${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code === "ENOENT") return "absent"
          throw e
        }
      },
      catch: (e) => fail("read", e)
    })

    return CredentialStore.CredentialStore.of({
      info: Effect.succeed(AuthFile.fileStoreInfo(authPath)),
      load,
      save,
      probeWrite,
      remove,
      withLock,
      withRefreshLock: yield* makeRefreshLock(options, fingerprint),
      fingerprint
    })
  })

/** The file-backed `CredentialStore` for a CODEX_HOME. */
export const layer = (options: FileStoreOptions): Layer.Layer<CredentialStore.CredentialStore> =>
  Layer.effect(CredentialStore.CredentialStore, makeFileStore(options))
