/**
 * An exclusive advisory lock on a file, shared with other processes (including the Codex CLI,
 * whose Rust `File::lock` is `flock(2)` on Linux): the lock is held by a small `flock(1)` child
 * that keeps the lock file's descriptor open until we close its stdin. The kernel drops the lock
 * when the holder dies for any reason (even `kill -9` of this process: the pipe closes, the child
 * exits), so a crashed holder never blocks others.
 *
 * Where `flock(1)` is missing (non-Linux), falls back to an `O_EXCL` lock file holding the owner's
 * pid, broken when that pid is gone or the file is older than the stale limit.
 *
 * @since 0.1.0
 */
import { spawn, spawnSync } from "node:child_process"
import { closeSync, openSync, readFileSync, statSync, unlinkSync, writeSync } from "node:fs"
import { Effect, Scope } from "effect"

export interface LockOptions {
  /** Give up after this long (ms). */
  readonly timeoutMs: number
}

export class LockTimeout extends Error {
  override readonly name = "LockTimeout"
}

let flockAvailable: boolean | undefined
const hasFlock = (): boolean => {
  if (flockAvailable === undefined) {
    try {
      flockAvailable = spawnSync("flock", ["--version"], { stdio: "ignore" }).status === 0
    } catch {
      flockAvailable = false
    }
  }
  return flockAvailable
}

const acquireWithFlock = (path: string, options: LockOptions): Promise<() => void> =>
  new Promise((resolvePromise, reject) => {
    // Create the lock file 0600 ourselves so flock(1) never creates it with the umask.
    try {
      closeSync(openSync(path, "a", 0o600))
    } catch (e) {
      reject(e)
      return
    }
    const child = spawn(
      "flock",
      ["--exclusive", "--wait", String(Math.max(1, Math.ceil(options.timeoutMs / 1000))), path, "sh", "-c", "echo locked; exec cat >/dev/null"],
      { stdio: ["pipe", "pipe", "ignore"] }
    )
    let settled = false
    let out = ""
    const release = () => {
      child.stdin.end()
      child.stdin.destroy()
    }
    child.stdout.setEncoding("utf8")
    child.stdout.on("data", (chunk: string) => {
      out += chunk
      if (!settled && out.includes("locked")) {
        settled = true
        // Held: don't let the holder keep this process alive; release() or our exit frees it.
        child.unref()
        ;(child.stdout as unknown as { unref?: () => void }).unref?.()
        ;(child.stdin as unknown as { unref?: () => void }).unref?.()
        resolvePromise(release)
      }
    })
    child.on("error", (e) => {
      if (!settled) {
        settled = true
        reject(e)
      }
    })
    child.on("exit", (code) => {
      if (!settled) {
        settled = true
        reject(code === 1 ? new LockTimeout(`timed out after ${options.timeoutMs} ms waiting for ${path}`) : new Error(`flock exited with ${code}`))
      }
    })
    child.stdin.on("error", () => {})
  })

const pidAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM"
  }
}

const STALE_MS = 60_000

const acquireWithPidFile = async (path: string, options: LockOptions): Promise<() => void> => {
  const pidPath = `${path}.pid`
  const deadline = Date.now() + options.timeoutMs
  for (let delay = 5; ; delay = Math.min(delay * 2, 100)) {
    try {
      const fd = openSync(pidPath, "wx", 0o600)
      writeSync(fd, `${process.pid}\n`)
      closeSync(fd)
      return () => {
        try {
          unlinkSync(pidPath)
        } catch {
          // already broken by someone who judged it stale
        }
      }
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e
      try {
        const owner = Number.parseInt(readFileSync(pidPath, "utf8"), 10)
        const age = Date.now() - statSync(pidPath).mtimeMs
        if (!Number.isFinite(owner) || !pidAlive(owner) || age > STALE_MS) unlinkSync(pidPath)
      } catch {
        // raced with the owner releasing it; try again
      }
    }
    if (Date.now() > deadline) throw new LockTimeout(`timed out after ${options.timeoutMs} ms waiting for ${pidPath}`)
    await new Promise((r) => setTimeout(r, delay))
  }
}

/** Acquires the lock for the lifetime of the current scope. */
export const acquire = (path: string, options: LockOptions): Effect.Effect<void, unknown, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.tryPromise({
      try: () => (hasFlock() ? acquireWithFlock(path, options) : acquireWithPidFile(path, options)),
      catch: (e) => e
    }),
    (release) => Effect.sync(release)
  ).pipe(Effect.asVoid)
