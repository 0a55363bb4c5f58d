/**
 * The in-process lock (`LockFile` over this machine's `flock(2)`) against two independent
 * implementations of the same lock: `flock(1)` from util-linux and Python's `fcntl.flock` — the
 * same call the Codex CLI's Rust `File::lock` makes. Each side must exclude the other, the kernel
 * must release a killed holder's lock before its exit is reported, and locks held in this process
 * must be busy for a second owner and taken over when parked.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process"
import { mkdtempSync, rmSync, statSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { assert } from "@effect/vitest"
import { afterEach, describe, it } from "vitest"
import * as LockFile from "../src/LockFile.ts"

const dirs: Array<string> = []
const children: Array<ChildProcess> = []
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), "codex-auth-lockfile-"))
  dirs.push(d)
  return d
}
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) killGroup(c)
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})

/** Starts a holder that prints "held" once it has the lock, and keeps it until killed. */
const holder = (command: string, args: ReadonlyArray<string>): Promise<ChildProcess> =>
  new Promise((resolve, reject) => {
    // Its own process group, so that killing it takes its children (flock's command) along.
    const child = spawn(command, [...args], { stdio: ["ignore", "pipe", "inherit"], detached: true })
    children.push(child)
    child.stdout!.setEncoding("utf8").on("data", (d: string) => {
      if (d.includes("held")) resolve(child)
    })
    child.on("error", reject)
    child.on("exit", (code) => reject(new Error(`holder exited with ${code} before holding the lock`)))
  })

/** SIGKILL to the holder's process group (ours: it was started detached by this test). */
const killGroup = (child: ChildProcess) => {
  try {
    process.kill(-child.pid!, "SIGKILL")
  } catch {
    // already gone
  }
}

const exited = (child: ChildProcess) =>
  new Promise<void>((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve() : child.once("exit", () => resolve())))

/** Whether `flock(1)` could take the lock without waiting. */
const flockFree = (path: string) => spawnSync("flock", ["--nonblock", "--exclusive", path, "true"]).status === 0

const python = `
import fcntl, os, sys, time
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o600)
fcntl.flock(fd, fcntl.LOCK_EX)
print("held", flush=True)
time.sleep(60)
`

const foreignHolders = [
  // -o: the command does not inherit the locked descriptor; flock(1) itself holds the lock.
  ["flock(1)", (path: string) => holder("flock", ["--exclusive", "--close", path, "sh", "-c", "echo held; exec sleep 60"])],
  ["Python fcntl.flock", (path: string) => holder("python3", ["-c", python, path])]
] as const

describe("LockFile against other implementations of flock(2)", () => {
  for (const [name, hold] of foreignHolders) {
    it(`is busy while ${name} holds the lock, free the moment that holder is killed`, async () => {
      const path = join(tempDir(), "auth.json.lock")
      const child = await hold(path)
      assert.isUndefined(LockFile.tryAcquire(path, { mode: 0o600 }))
      assert.strictEqual(LockFile.heldHere(path), false, "a refused attempt keeps nothing open")
      killGroup(child)
      await exited(child)
      // The kernel closed the holder's descriptors before its exit was reported: no waiting.
      const held = LockFile.tryAcquire(path, { mode: 0o600 })
      assert.isDefined(held)
      held!.release()
    })
  }

  it("excludes flock(1) and Python while held, and both get it after release", () => {
    const path = join(tempDir(), "auth.lock")
    const held = LockFile.tryAcquire(path, { mode: 0o666 })!
    assert.strictEqual(flockFree(path), false)
    const py = spawnSync("python3", ["-c", "import fcntl,os,sys\nfd=os.open(sys.argv[1],os.O_RDWR)\ntry:\n  fcntl.flock(fd, fcntl.LOCK_EX|fcntl.LOCK_NB); print('free')\nexcept BlockingIOError: print('busy')", path], { encoding: "utf8" })
    assert.strictEqual(py.stdout.trim(), "busy")
    held.release()
    assert.strictEqual(flockFree(path), true)
  })

  it("creates the lock file with the mode asked for, less the umask (auth.lock 0666, auth.json.lock 0600)", () => {
    const dir = tempDir()
    const umask = process.umask()
    LockFile.tryAcquire(join(dir, "auth.lock"), { mode: 0o666 })!.release()
    LockFile.tryAcquire(join(dir, "auth.json.lock"), { mode: 0o600 })!.release()
    assert.strictEqual(statSync(join(dir, "auth.lock")).mode & 0o777, 0o666 & ~umask)
    assert.strictEqual(statSync(join(dir, "auth.json.lock")).mode & 0o777, 0o600 & ~umask)
  })
})

describe("LockFile in one process", () => {
  it("a second owner in the same process finds it busy (one open per file, not two that would exclude each other)", () => {
    const path = join(tempDir(), "auth.lock")
    const a = LockFile.tryAcquire(path, { mode: 0o600 })!
    assert.isUndefined(LockFile.tryAcquire(path, { mode: 0o600 }))
    a.release()
    a.release() // twice is harmless
    const b = LockFile.tryAcquire(path, { mode: 0o600 })!
    assert.isDefined(b)
    b.release()
    assert.strictEqual(flockFree(path), true)
  })

  it("handOff and keepOnRelease park the lock (still held for other processes) for the next owner here", () => {
    const path = join(tempDir(), "codex-auth-refresh.lock")
    const a = LockFile.tryAcquire(path, { mode: 0o600 })!
    a.handOff()
    assert.strictEqual(flockFree(path), false, "parked: other processes still wait")
    const b = LockFile.tryAcquire(path, { mode: 0o600 })!
    assert.isDefined(b, "taken over at once")
    LockFile.keepOnRelease(path)
    b.release()
    assert.strictEqual(flockFree(path), false)
    const c = LockFile.tryAcquire(path, { mode: 0o600 })!
    c.release()
    assert.strictEqual(flockFree(path), true, "an ordinary release unlocks")
  })

  it("the lock table is shared by every copy of the module in the process (the CLI's payloads)", async () => {
    const path = join(tempDir(), "auth.lock")
    const held = LockFile.tryAcquire(path, { mode: 0o600 })!
    // A second copy of the module, as another bundled payload would have.
    const url = new URL("../src/LockFile.ts", import.meta.url)
    const copy = (await import(`${fileURLToPath(url)}?copy=${Date.now()}`)) as typeof LockFile
    assert.notStrictEqual(copy, LockFile)
    assert.isUndefined(copy.tryAcquire(path, { mode: 0o600 }))
    held.handOff()
    const claimed = copy.tryAcquire(path, { mode: 0o600 })!
    assert.isDefined(claimed)
    claimed.release()
    assert.strictEqual(flockFree(path), true)
  })
})
