/**
 * Tests that bind (or make something bind) the fixed loopback ports 1455/1457 hold this
 * cross-process lock, so vitest workers and turbo's parallel packages never race for them.
 * The lock is flock(2) on a file in the temp dir, held by a `flock(1)` child (released by the
 * kernel if the test process dies).
 */
import { spawn } from "node:child_process"
import { closeSync, openSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"

export const FIXED_PORTS_LOCK = join(tmpdir(), "codex-auth-fixed-ports.lock")

const acquire = (timeoutMs: number): Promise<() => void> =>
  new Promise((resolve, reject) => {
    closeSync(openSync(FIXED_PORTS_LOCK, "a", 0o600))
    const child = spawn("flock", ["--exclusive", "--wait", String(Math.ceil(timeoutMs / 1000)), FIXED_PORTS_LOCK, "sh", "-c", "echo locked; exec cat >/dev/null"], {
      stdio: ["pipe", "pipe", "ignore"]
    })
    let done = false
    child.stdout.on("data", () => {
      if (done) return
      done = true
      resolve(() => child.stdin.end())
    })
    child.on("exit", (code) => {
      if (!done) {
        done = true
        reject(new Error(`could not take ${FIXED_PORTS_LOCK} within ${timeoutMs} ms (flock exit ${code})`))
      }
    })
    child.on("error", (e) => {
      if (!done) {
        done = true
        reject(e)
      }
    })
  })

/** Runs `fn` while no other test process uses ports 1455/1457. */
export const withFixedPortsLock = async <A>(fn: () => Promise<A>, timeoutMs = 240_000): Promise<A> => {
  const release = await acquire(timeoutMs)
  try {
    return await fn()
  } finally {
    release()
  }
}
