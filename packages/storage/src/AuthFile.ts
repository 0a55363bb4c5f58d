/**
 * Reading `$CODEX_HOME/auth.json`, without the effect runtime: the synchronous core of the file
 * store's `load` (`FileStore.ts` wraps it and maps errors to `StorageError`). The CLI's lean path
 * (`login status`, `token`) uses it directly, so both paths read the file the same way.
 *
 * @since 0.1.0
 */
import { AuthDotJson, type CredentialStore } from "@codex-auth/core"
import { Result } from "effect"
import * as fs from "node:fs"
import { join } from "node:path"
import { warnOnce } from "./Warnings.ts"

/**
 * The largest auth.json (or keyring secret) codex-auth reads: 1 MiB. A credentials document is a
 * few KiB; a larger file is refused (`EFBIG`) before it is read.
 */
export const MAX_AUTH_FILE_BYTES = 1024 * 1024

/** The `EFBIG` error for a credentials file of `size` bytes, above {@link MAX_AUTH_FILE_BYTES}. */
export const tooLarge = (size: number): NodeJS.ErrnoException & { readonly size: number; readonly limit: number } =>
  Object.assign(new Error(`the file is ${size} bytes, more than ${MAX_AUTH_FILE_BYTES}`), { code: "EFBIG", size, limit: MAX_AUTH_FILE_BYTES })

/** `$CODEX_HOME/auth.json`. */
export const authFilePath = (codexHome: string): string => join(codexHome, "auth.json")

/** What the file store reports about itself (`login status`, `doctor`). */
export const fileStoreInfo = (authPath: string): CredentialStore.StoreInfo => ({
  mode: "file",
  backend: "file",
  location: authPath,
  fallbackReason: undefined
})

/**
 * The text of auth.json, or `undefined` when it does not exist. Reading changes nothing: a
 * credentials document readable by others gets a warning (the next save writes it 0600); a file
 * that is not one gets none (nobody should chmod a file that is not theirs to fix). Opened
 * non-blocking, so a FIFO in its place cannot hang the process; anything but a regular file is
 * refused. Throws the system error (with its `code`: `EACCES`, `EISDIR`, `ENOTREG`, …) otherwise.
 */
/**
 * The file's text, read to its end but never past {@link MAX_AUTH_FILE_BYTES}: a file that grew
 * after `fstat` (another writer appending, a hostile one) is refused as too large instead of being
 * read whole.
 */
export const readBounded = (fd: number, sizeHint: number): string => {
  let buf = Buffer.allocUnsafe(Math.min(Math.max(sizeHint, 4096), MAX_AUTH_FILE_BYTES) + 1)
  let length = 0
  for (;;) {
    if (length === buf.length) {
      if (length > MAX_AUTH_FILE_BYTES) throw tooLarge(length)
      const bigger = Buffer.allocUnsafe(Math.min(buf.length * 2, MAX_AUTH_FILE_BYTES + 1))
      buf.copy(bigger, 0, 0, length)
      buf = bigger
    }
    const n = fs.readSync(fd, buf, length, buf.length - length, null)
    if (n === 0) break
    length += n
  }
  if (length > MAX_AUTH_FILE_BYTES) throw tooLarge(length)
  return buf.toString("utf8", 0, length)
}

export const readAuthText = (authPath: string): string | undefined => {
  let fd: number
  try {
    fd = fs.openSync(authPath, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK)
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined
    throw e
  }
  try {
    const st = fs.fstatSync(fd)
    // Not read at all when larger than any credentials document can be (EFBIG, MAX_AUTH_FILE_BYTES).
    if (st.size > MAX_AUTH_FILE_BYTES) throw tooLarge(st.size)
    if (!st.isFile()) throw Object.assign(new Error("not a regular file"), { code: st.isDirectory() ? "EISDIR" : "ENOTREG" })
    const text = readBounded(fd, st.size)
    if ((st.mode & 0o077) !== 0 && process.platform !== "win32" && Result.isSuccess(AuthDotJson.parse(text, authPath))) {
      warnOnce(
        `mode:${authPath}`,
        `${authPath} is readable by others (mode ${(st.mode & 0o777).toString(8)}); run \`chmod 600 ${authPath}\` (codex-auth writes it 600 at its next save)`,
        "CODEX_AUTH_PERMISSIONS"
      )
    }
    return text
  } finally {
    fs.closeSync(fd)
  }
}
