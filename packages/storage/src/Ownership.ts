/**
 * Own files only: before codex-auth writes, deletes or creates anything in CODEX_HOME, it proves
 * that what it is about to touch belongs to the user running it. Effect-free (the CLI's lean path
 * uses it too); `FileStore` maps a refusal to a `StorageError` (exit 5).
 *
 * - CODEX_HOME (followed if it is a symbolic link) is a directory owned by this user and not
 *   writable by other users: not world-writable, and group-writable only for the user's own
 *   primary group (user-private groups, umask 002). A missing CODEX_HOME is fine: codex-auth
 *   creates it 0700.
 * - auth.json is absent (a first write), a regular file owned by this user, or a symbolic link
 *   (dotfile managers) to a regular file owned by this user, not writable by others, in a
 *   directory of theirs, that parses as a credentials document. A link to anything else
 *   (`/etc/passwd`, a file of another user, a directory) is refused: nothing is written,
 *   chmodded or deleted. A dangling link is replaced by a regular file (nothing is created where
 *   it points).
 *
 * Where the platform has no user ids (Windows), ownership is not checked; the type checks hold.
 *
 * @since 0.1.0
 */
import { AuthDotJson } from "@codex-auth/core"
import * as fs from "node:fs"
import { dirname } from "node:path"
import { Result } from "effect"

/** Why a path may not be touched, and what the user can do about it. */
export interface Refusal {
  readonly path: string
  readonly detail: string
  readonly hint: string
}

/** Thrown (with `code: "ENOTOURS"`) by the checks below; `FileStore` turns it into a `StorageError`. */
export class NotOurs extends Error {
  readonly code = "ENOTOURS"
  readonly refusal: Refusal
  constructor(refusal: Refusal) {
    super(refusal.detail)
    this.name = "NotOurs"
    this.refusal = refusal
  }
}

export const isNotOurs = (e: unknown): e is NotOurs => e instanceof NotOurs

const uid = (): number | undefined => process.getuid?.()
const gid = (): number | undefined => process.getgid?.()

const modeText = (mode: number) => (mode & 0o777).toString(8).padStart(3, "0")

/** Whether users other than this one can write an inode with `st`'s mode and group. */
const writableByOthers = (st: fs.Stats): boolean =>
  (st.mode & 0o002) !== 0 || ((st.mode & 0o020) !== 0 && st.gid !== gid())

/** Why `st` is not provably this user's alone ("belongs to another user …"), or `undefined`. */
const ownershipReason = (st: fs.Stats): string | undefined => {
  const me = uid()
  if (me === undefined) return undefined
  if (st.uid !== me) return `belongs to another user (uid ${st.uid}; codex-auth runs as uid ${me})`
  if (writableByOthers(st)) return `is writable by other users (mode ${modeText(st.mode)})`
  return undefined
}

const ownershipHint = (path: string, st: fs.Stats): string =>
  st.uid !== uid()
    ? `Use a CODEX_HOME of your own (set CODEX_HOME or pass --codex-home), or ask the owner of ${path} to fix it.`
    : `Run \`chmod go-w ${path}\` (it should be mode ${st.isDirectory() ? "700" : "600"}), then run the command again.`

/**
 * Checks CODEX_HOME before codex-auth creates anything in it (lock files, temp files, auth.json).
 * Throws `NotOurs`; a missing directory passes (it is created 0700 by the caller).
 */
export const checkHome = (codexHome: string): void => {
  let st: fs.Stats
  try {
    st = fs.statSync(codexHome)
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return
    throw e
  }
  if (!st.isDirectory()) return // mkdir reports ENOTDIR/EEXIST with its own hint
  const reason = ownershipReason(st)
  if (reason !== undefined) {
    throw new NotOurs({ path: codexHome, detail: `CODEX_HOME ${codexHome} ${reason}, so codex-auth will not create or change files in it`, hint: ownershipHint(codexHome, st) })
  }
}

/** Where a save or removal of auth.json acts: auth.json itself, or the target of the link it is. */
export interface Target {
  /** The file written (renamed over) or deleted. */
  readonly path: string
  /** Whether that file exists now. */
  readonly exists: boolean
  /** Whether auth.json is a symbolic link (then `path` is its target). */
  readonly viaLink: boolean
}

const MAX_TARGET_BYTES = 1024 * 1024

/** Whether the file at `path` (ours, regular) holds a credentials document. */
const isCredentialsDocument = (path: string): boolean => {
  let fd: number
  try {
    fd = fs.openSync(path, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK)
  } catch {
    return false
  }
  try {
    const st = fs.fstatSync(fd)
    if (!st.isFile() || st.size > MAX_TARGET_BYTES) return false
    return Result.isSuccess(AuthDotJson.parse(fs.readFileSync(fd, "utf8"), path))
  } catch {
    return false
  } finally {
    fs.closeSync(fd)
  }
}

/**
 * Proves that auth.json at `authPath` may be written or deleted (see the module header) and
 * returns where the operation acts. Throws `NotOurs` when it may not, or the system error.
 */
export const authTarget = (authPath: string): Target => {
  let link: fs.Stats
  try {
    link = fs.lstatSync(authPath)
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return { path: authPath, exists: false, viaLink: false }
    throw e
  }
  if (!link.isSymbolicLink()) {
    if (!link.isFile()) return { path: authPath, exists: true, viaLink: false } // EISDIR/ENOTREG reported by the caller
    const me = uid()
    if (me !== undefined && link.uid !== me) {
      throw new NotOurs({
        path: authPath,
        detail: `${authPath} belongs to another user (uid ${link.uid}; codex-auth runs as uid ${me}), so codex-auth will not change or delete it`,
        hint: `Move ${authPath} aside (or ask its owner to), then sign in again.`
      })
    }
    return { path: authPath, exists: true, viaLink: false }
  }

  // A symbolic link: follow it only to what is provably a credentials document of this user.
  let target: string
  try {
    target = fs.realpathSync.native(authPath)
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e
    // Dangling: the link itself is replaced by a regular file (renamed over it, in CODEX_HOME);
    // nothing is created where it pointed.
    return { path: authPath, exists: false, viaLink: false }
  }
  const st = fs.statSync(target)
  const refuse = (detail: string): never => {
    throw new NotOurs({
      path: authPath,
      detail: `${authPath} is a symbolic link to ${target}, ${detail}, so codex-auth will not write, chmod or delete it`,
      hint: `Remove the link (\`rm ${authPath}\`; the file it points to stays), then sign in again.`
    })
  }
  if (!st.isFile()) refuse("which is not a regular file")
  const reason = ownershipReason(st)
  if (reason !== undefined) refuse(`which ${reason}`)
  const dirReason = ownershipReason(fs.statSync(dirname(target)))
  if (dirReason !== undefined) refuse(`in a directory that ${dirReason}`)
  if (!isCredentialsDocument(target)) refuse("which is not a credentials document")
  return { path: target, exists: true, viaLink: true }
}
