/**
 * The platform bindings of the native lock, on every platform from Linux: the Windows
 * (`LockFileEx` on a `CreateFileW` handle) and macOS (`flock(2)` with Darwin's errno values) paths
 * run against a simulated system injected as the `Ffi`, which checks the calls as the real one
 * would take them and keeps a lock table like a kernel's. The Linux path runs for real in
 * `LockFile.test.ts`.
 */
import { fstatSync, mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { assert } from "@effect/vitest"
import { afterEach, describe, it } from "vitest"
import * as LockFile from "../src/LockFile.ts"
import { type Ffi, LockUnavailable, posixPrimitive, primitiveFor, windowsPrimitive } from "../src/NativeLock.ts"

const dirs: Array<string> = []
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), "codex-auth-native-lock-"))
  dirs.push(d)
  return d
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})

/** The function name in a koffi prototype string: `ret [__stdcall] Name(…)`. */
const nameOf = (prototype: string) => /([A-Za-z_]\w*)\s*\(/.exec(prototype)![1]!

/** A simulated Windows: kernel32's file and lock calls over a table of handles and locked files. */
const fakeWindows = () => {
  const handles = new Map<number, string>()
  const lockedBy = new Map<string, number>()
  const prototypes: Array<string> = []
  const structs: Array<string> = []
  let nextHandle = 100
  let lastError = 0
  const kernel32: Record<string, (...args: Array<any>) => any> = {
    CreateFileW: (name: string, access: number, share: number, security: unknown, disposition: number, flags: number, template: number) => {
      assert.strictEqual(access >>> 0, (0x80000000 | 0x40000000) >>> 0) // GENERIC_READ | GENERIC_WRITE
      assert.strictEqual(share, 7) // FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, as Rust opens files
      assert.isNull(security)
      assert.strictEqual(disposition, 4) // OPEN_ALWAYS
      assert.strictEqual(flags, 0x80)
      assert.strictEqual(template, 0)
      if (name.includes("denied")) {
        lastError = 5
        return -1
      }
      handles.set(nextHandle, name)
      return nextHandle++
    },
    LockFileEx: (h: number, flags: number, reserved: number, low: number, high: number, ov: { Offset: number; OffsetHigh: number }) => {
      // Exclusive, fail immediately, over [0, 2^64) as Rust's File::try_lock.
      assert.deepStrictEqual([flags, reserved, low, high, ov.Offset, ov.OffsetHigh], [3, 0, 0xffffffff, 0xffffffff, 0, 0])
      const path = handles.get(h)!
      const owner = lockedBy.get(path)
      if (owner !== undefined && owner !== h) {
        lastError = 33 // ERROR_LOCK_VIOLATION
        return false
      }
      lockedBy.set(path, h)
      return true
    },
    UnlockFileEx: (h: number, reserved: number, low: number, high: number) => {
      assert.deepStrictEqual([reserved, low, high], [0, 0xffffffff, 0xffffffff])
      const path = handles.get(h)!
      if (lockedBy.get(path) !== h) {
        lastError = 158 // ERROR_NOT_LOCKED
        return false
      }
      lockedBy.delete(path)
      return true
    },
    CloseHandle: (h: number) => {
      const path = handles.get(h)!
      if (lockedBy.get(path) === h) lockedBy.delete(path)
      handles.delete(h)
      return true
    },
    GetLastError: () => lastError
  }
  const ffi: Ffi = {
    load: (lib) => {
      assert.strictEqual(lib, "kernel32.dll")
      return {
        func: (prototype) => {
          prototypes.push(prototype)
          const f = kernel32[nameOf(prototype)]
          if (f === undefined) throw new Error(`no such function ${prototype}`)
          return f
        }
      }
    },
    errno: () => {
      throw new Error("errno is POSIX; Windows reports GetLastError")
    },
    struct: (name) => {
      structs.push(name)
      return {}
    },
    os: { errno: {} }
  }
  return { ffi, handles, lockedBy, prototypes, structs, otherHolder: (path: string) => lockedBy.set(path, -1) }
}

/**
 * A simulated POSIX kernel's flock(2), over the real file descriptors the primitive opens (keyed by
 * inode, so two opens of one file exclude each other), with `errno` values from `errnoTable`.
 */
const fakePosix = (errnoTable: Record<string, number>) => {
  const owners = new Map<string, number>()
  let errno = 0
  let interruptNext = false
  let failNextWith: number | undefined
  const inode = (fd: number) => String(fstatSync(fd).ino)
  const flock = (fd: number, op: number) => {
    if (interruptNext) {
      interruptNext = false
      errno = errnoTable["EINTR"]!
      return -1
    }
    if (failNextWith !== undefined) {
      errno = failNextWith
      failNextWith = undefined
      return -1
    }
    const key = inode(fd)
    if ((op & 8) !== 0) {
      if (owners.get(key) === fd) owners.delete(key)
      return 0
    }
    assert.strictEqual(op, 2 | 4) // LOCK_EX | LOCK_NB: never a blocking call
    const owner = owners.get(key)
    if (owner !== undefined && owner !== fd) {
      errno = errnoTable["EWOULDBLOCK"]!
      return -1
    }
    owners.set(key, fd)
    return 0
  }
  const prototypes: Array<string | null> = []
  const ffi: Ffi = {
    load: (lib) => {
      prototypes.push(lib)
      return {
        func: (prototype) => {
          assert.strictEqual(prototype, "int flock(int fd, int operation)")
          return flock
        }
      }
    },
    errno: () => errno,
    struct: () => ({}),
    os: { errno: errnoTable }
  }
  return {
    ffi,
    owners,
    prototypes,
    interrupt: () => (interruptNext = true),
    failNext: (e: number) => (failNextWith = e),
    /** Another process holds the lock of `fd`'s file. */
    otherHolder: (fd: number) => owners.set(inode(fd), -1)
  }
}

// Darwin's values differ from Linux's (EWOULDBLOCK 35, not 11; 11 is EDEADLK there).
const DARWIN_ERRNO = { EWOULDBLOCK: 35, EAGAIN: 35, EINTR: 4, EDEADLK: 11 }

describe("NativeLock on Windows (simulated kernel32)", () => {
  it("declares the calls with __stdcall and the OVERLAPPED struct, and locks like Rust's File::try_lock", () => {
    const w = fakeWindows()
    const p = primitiveFor("win32", w.ffi)
    assert.strictEqual(p.name, "LockFileEx")
    assert.deepStrictEqual(w.structs, ["OVERLAPPED"])
    assert.deepStrictEqual(w.prototypes.map(nameOf).sort(), ["CloseHandle", "CreateFileW", "GetLastError", "LockFileEx", "UnlockFileEx"])
    for (const proto of w.prototypes) assert.include(proto, "__stdcall")
    const path = "C:\\Users\\me\\.codex\\auth.lock"
    const a = p.open(path, 0o666)
    const b = p.open(path, 0o666)
    assert.strictEqual(p.tryLock(a), true)
    assert.strictEqual(p.tryLock(b), false, "a second handle is refused (ERROR_LOCK_VIOLATION), not an error")
    p.unlock(a)
    assert.strictEqual(p.tryLock(b), true)
    p.close(b)
    assert.strictEqual(w.lockedBy.size, 0, "closing the handle drops its lock")
    p.close(a)
    assert.strictEqual(w.handles.size, 0)
  })

  it("CreateFileW failing is a file error; another LockFileEx error is LockUnavailable", () => {
    const w = fakeWindows()
    const p = windowsPrimitive(w.ffi)
    assert.throws(() => p.open("C:\\denied\\auth.lock", 0o600), /CreateFileW failed .*error 5/)
    const h = p.open("C:\\x\\auth.lock", 0o600)
    assert.throws(() => p.unlock(h), LockUnavailable)
  })

  it("LockFile over the Windows primitive: one holder per file, parking and release", () => {
    const w = fakeWindows()
    const primitive = windowsPrimitive(w.ffi)
    const path = join(tempDir(), "auth.json.lock")
    w.otherHolder(path)
    assert.isUndefined(LockFile.tryAcquire(path, { mode: 0o600, primitive }), "another process holds it")
    assert.strictEqual(w.handles.size, 0, "a refused attempt closes its handle")
    w.lockedBy.clear()
    const held = LockFile.tryAcquire(path, { mode: 0o600, primitive })!
    assert.isDefined(held)
    assert.isUndefined(LockFile.tryAcquire(path, { mode: 0o600, primitive }), "busy for a second owner in this process")
    held.release()
    assert.strictEqual(w.handles.size, 0)
    assert.strictEqual(w.lockedBy.size, 0)
  })
})

describe("NativeLock on macOS (simulated flock with Darwin errno values)", () => {
  it("uses flock(2) from the running process's C library, busy on EWOULDBLOCK = 35, retries EINTR", () => {
    const k = fakePosix(DARWIN_ERRNO)
    const p = posixPrimitive(k.ffi)
    assert.strictEqual(p.name, "flock(2)")
    assert.deepStrictEqual(k.prototypes, [null], "dlopen(NULL): libSystem on macOS, any libc elsewhere")
    const path = join(tempDir(), "auth.lock")
    const a = p.open(path, 0o600)
    const b = p.open(path, 0o600)
    k.interrupt()
    assert.strictEqual(p.tryLock(a), true, "EINTR is retried")
    assert.strictEqual(p.tryLock(b), false)
    p.unlock(a)
    assert.strictEqual(p.tryLock(b), true)
    p.close(a)
    p.close(b)
  })

  it("errno 11 is EDEADLK on Darwin: an error (LockUnavailable), not a busy lock", () => {
    const k = fakePosix(DARWIN_ERRNO)
    const p = posixPrimitive(k.ffi)
    const fd = p.open(join(tempDir(), "auth.lock"), 0o600)
    k.failNext(11)
    assert.throws(() => p.tryLock(fd), LockUnavailable)
    k.otherHolder(fd)
    assert.strictEqual(p.tryLock(fd), false)
    p.close(fd)
  })

  it("LockFile over the simulated macOS flock: parked locks are taken over, not locked twice", () => {
    const k = fakePosix(DARWIN_ERRNO)
    const primitive = posixPrimitive(k.ffi)
    const path = join(tempDir(), "codex-auth-refresh.lock")
    const held = LockFile.tryAcquire(path, { mode: 0o600, primitive })!
    held.handOff()
    assert.strictEqual(LockFile.heldHere(path), true)
    assert.strictEqual(k.owners.size, 1, "still locked while parked")
    const claimed = LockFile.tryAcquire(path, { mode: 0o600, primitive })!
    assert.isDefined(claimed)
    claimed.release()
    assert.strictEqual(k.owners.size, 0)
    assert.strictEqual(LockFile.heldHere(path), false)
  })
})
