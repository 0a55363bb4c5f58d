/**
 * The operating system's advisory file lock, called in-process: `flock(2)` on Linux, macOS and
 * the BSDs, `LockFileEx` on Windows — what Rust's `File::lock` / `File::try_lock` call, so the
 * Codex CLI and codex-auth exclude each other. No program is started to lock.
 *
 * The calls go through `koffi` (a C FFI for Node with prebuilt N-API binaries for linux, darwin,
 * win32 and the BSDs on x64 and arm64: nothing is compiled at install), loaded the first time a
 * lock is taken, so commands that never lock never load it. Only non-blocking calls are made
 * (`LOCK_EX | LOCK_NB`, `LOCKFILE_FAIL_IMMEDIATELY`): the caller waits with timers, so the event
 * loop never blocks.
 *
 * The bindings are built from an injected `Ffi` (koffi's shape), so the Windows and macOS paths are
 * unit-tested on Linux with a simulated system (`test/NativeLock.test.ts`).
 *
 * This module imports no effect runtime: the CLI's lean path uses it.
 *
 * @since 0.1.0
 */
import { closeSync, constants, openSync } from "node:fs"
import { createRequire } from "node:module"

/** An open lock file: a POSIX file descriptor, or a Windows `HANDLE` (as a number). */
export type LockHandle = number

/** The platform's lock calls on one open file. */
export interface LockPrimitive {
  /** What is called, for messages: `flock(2)` or `LockFileEx`. */
  readonly name: string
  /** Opens `path` for reading and writing, creating it with `mode` (POSIX; before the umask). */
  readonly open: (path: string, mode: number) => LockHandle
  /** Takes the exclusive lock without waiting: `true` when taken, `false` when another holder has it. */
  readonly tryLock: (handle: LockHandle) => boolean
  readonly unlock: (handle: LockHandle) => void
  /** Closes the file (which also drops the lock). */
  readonly close: (handle: LockHandle) => void
}

/** The part of koffi the bindings use. */
export interface Ffi {
  // biome-ignore lint/suspicious/noExplicitAny: koffi's foreign functions take and return whatever their C prototype says
  readonly load: (path: string | null) => { readonly func: (prototype: string) => (...args: Array<any>) => any }
  readonly errno: () => number
  readonly struct: (name: string, fields: Record<string, string>) => unknown
  readonly os: { readonly errno: Readonly<Record<string, number>> }
}

/** The native lock could not be used on this machine (the module is missing, or a call failed). */
export class LockUnavailable extends Error {
  override readonly name = "LockUnavailable"
}

const LOCK_EX = 2
const LOCK_NB = 4
const LOCK_UN = 8

/**
 * `flock(2)` from the C library already loaded into node (`dlopen(NULL)`), so it works with glibc,
 * musl, macOS's libSystem and the BSDs' libc alike.
 */
export const posixPrimitive = (ffi: Ffi): LockPrimitive => {
  const flock = ffi.load(null).func("int flock(int fd, int operation)") as (fd: number, op: number) => number
  const { EWOULDBLOCK, EAGAIN, EINTR } = ffi.os.errno
  const call = (fd: number, op: number): boolean => {
    for (;;) {
      if (flock(fd, op) === 0) return true
      const errno = ffi.errno()
      if (errno === EINTR) continue
      if ((op & LOCK_NB) !== 0 && (errno === EWOULDBLOCK || errno === EAGAIN)) return false
      throw new LockUnavailable(`flock(2) failed with errno ${errno}`)
    }
  }
  return {
    name: "flock(2)",
    open: (path, mode) => openSync(path, constants.O_RDWR | constants.O_CREAT, mode),
    tryLock: (fd) => call(fd, LOCK_EX | LOCK_NB),
    unlock: (fd) => void call(fd, LOCK_UN),
    close: (fd) => closeSync(fd)
  }
}

const GENERIC_READ = 0x80000000
const GENERIC_WRITE = 0x40000000
const FILE_SHARE_ALL = 0x1 | 0x2 | 0x4 // read, write, delete: what Rust's OpenOptions passes
const OPEN_ALWAYS = 4
const FILE_ATTRIBUTE_NORMAL = 0x80
const LOCKFILE_FAIL_IMMEDIATELY = 0x1
const LOCKFILE_EXCLUSIVE_LOCK = 0x2
const ERROR_LOCK_VIOLATION = 33
const MAXDWORD = 0xffffffff
const INVALID_HANDLE_VALUE = -1

/**
 * `LockFileEx` on a handle of our own (`CreateFileW`, shared for read, write and delete as Rust
 * opens files), over the whole range `[0, 2^64)` as Rust's `File::try_lock` locks it.
 */
export const windowsPrimitive = (ffi: Ffi): LockPrimitive => {
  const kernel32 = ffi.load("kernel32.dll")
  ffi.struct("OVERLAPPED", { Internal: "uintptr_t", InternalHigh: "uintptr_t", Offset: "uint32_t", OffsetHigh: "uint32_t", hEvent: "void *" })
  const CreateFileW = kernel32.func(
    "intptr_t __stdcall CreateFileW(const char16_t *name, uint32_t access, uint32_t share, void *security, uint32_t disposition, uint32_t flags, intptr_t template)"
  )
  const LockFileEx = kernel32.func("bool __stdcall LockFileEx(intptr_t file, uint32_t flags, uint32_t reserved, uint32_t low, uint32_t high, _Inout_ OVERLAPPED *overlapped)")
  const UnlockFileEx = kernel32.func("bool __stdcall UnlockFileEx(intptr_t file, uint32_t reserved, uint32_t low, uint32_t high, _Inout_ OVERLAPPED *overlapped)")
  const CloseHandle = kernel32.func("bool __stdcall CloseHandle(intptr_t handle)")
  const GetLastError = kernel32.func("uint32_t __stdcall GetLastError()")
  const overlapped = () => ({ Internal: 0, InternalHigh: 0, Offset: 0, OffsetHigh: 0, hEvent: null })
  return {
    name: "LockFileEx",
    open: (path) => {
      const handle = Number(CreateFileW(path, GENERIC_READ | GENERIC_WRITE, FILE_SHARE_ALL, null, OPEN_ALWAYS, FILE_ATTRIBUTE_NORMAL, 0))
      if (handle === INVALID_HANDLE_VALUE) throw Object.assign(new Error(`CreateFileW failed for ${path} (error ${GetLastError()})`), { code: "EACCES" })
      return handle
    },
    tryLock: (handle) => {
      if (LockFileEx(handle, LOCKFILE_EXCLUSIVE_LOCK | LOCKFILE_FAIL_IMMEDIATELY, 0, MAXDWORD, MAXDWORD, overlapped())) return true
      const error = GetLastError()
      if (error === ERROR_LOCK_VIOLATION) return false
      throw new LockUnavailable(`LockFileEx failed with error ${error}`)
    },
    unlock: (handle) => {
      if (!UnlockFileEx(handle, 0, MAXDWORD, MAXDWORD, overlapped())) throw new LockUnavailable(`UnlockFileEx failed with error ${GetLastError()}`)
    },
    close: (handle) => void CloseHandle(handle)
  }
}

/** The primitive for `platform` over `ffi`. */
export const primitiveFor = (platform: NodeJS.Platform, ffi: Ffi): LockPrimitive =>
  platform === "win32" ? windowsPrimitive(ffi) : posixPrimitive(ffi)

let loaded: LockPrimitive | LockUnavailable | undefined

/**
 * This machine's primitive, loading koffi on first use; throws `LockUnavailable` (every time) when
 * it cannot be loaded.
 */
export const native = (): LockPrimitive => {
  if (loaded === undefined) {
    try {
      const koffi = createRequire(import.meta.url)("koffi") as Ffi
      loaded = primitiveFor(process.platform, koffi)
    } catch (e) {
      loaded = new LockUnavailable(
        `the native file lock (koffi) could not be loaded on ${process.platform}-${process.arch}: ${e instanceof Error ? e.message.split("\n")[0] : String(e)}`
      )
    }
  }
  if (loaded instanceof LockUnavailable) throw loaded
  return loaded
}
