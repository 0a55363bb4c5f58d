/**
 * The file store's two locks against another process that holds them with `flock(1)` (the same
 * `flock(2)` the Codex CLI takes): the commit lock is Codex's `auth.lock` then `auth.json.lock`
 * (the latter given up after 5 s, as Codex does); the refresh lock is codex-auth's own, and a
 * refresh in flight never blocks a commit; a refresh waiter stops waiting when auth.json changes.
 */
import { AuthDotJson, type CredentialStore, Errors } from "@codex-auth/core"
import { CredentialLocks, FileStore } from "@codex-auth/storage"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Fiber, Option, Redacted } from "effect"
import { type ChildProcess, spawn } from "node:child_process"
import * as fs from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterEach } from "vitest"

const dirs: Array<string> = []
const holders: Array<ChildProcess> = []
afterEach(() => {
  for (const h of holders.splice(0)) {
    try {
      process.kill(-h.pid!, "SIGKILL")
    } catch {
      // gone
    }
  }
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true })
})

const tempHome = () => {
  const d = fs.mkdtempSync(join(tmpdir(), "codex-auth-locks-"))
  dirs.push(d)
  const home = join(d, "home")
  fs.mkdirSync(home, { mode: 0o700 })
  return home
}
const apiDoc = (key: string) => AuthDotJson.fromApiKey(Redacted.make(key))
const withStore = <A, E>(home: string, f: (s: CredentialStore.CredentialStoreShape) => Effect.Effect<A, E>) =>
  Effect.flatMap(FileStore.makeFileStore({ codexHome: home, lockTimeoutMs: 20_000 }), f)

/** Another process holds `path` (flock(1), own process group) for `seconds`; resolves once it does. */
const hold = (path: string, seconds: number) =>
  Effect.promise(() =>
    new Promise<ChildProcess>((resolve, reject) => {
      const child = spawn("flock", ["--exclusive", "--close", path, "sh", "-c", `echo held; exec sleep ${seconds}`], { stdio: ["ignore", "pipe", "ignore"], detached: true })
      holders.push(child)
      child.stdout!.once("data", () => resolve(child))
      child.once("error", reject)
    })
  )

const apiKeyOf = (s: CredentialStore.CredentialStoreShape) =>
  Effect.map(s.load, (doc) => Option.isSome(doc) && doc.value.apiKey !== undefined ? Redacted.value(doc.value.apiKey) : undefined)

describe("commit lock: Codex's auth.lock, then auth.json.lock", () => {
  it.live("a save waits while another process holds auth.lock (Codex blocks on it too), then writes", () => {
    const home = tempHome()
    return withStore(home, (s) =>
      Effect.gen(function*() {
        yield* hold(join(home, CredentialLocks.AUTH_LOCK), 1)
        const started = Date.now()
        yield* s.save(apiDoc("sk-after-auth-lock"))
        assert.isAtLeast(Date.now() - started, 600)
        assert.strictEqual(yield* apiKeyOf(s), "sk-after-auth-lock")
      }))
  })

  it.live("auth.json.lock held for more than 5 s: the save fails as Codex's does, naming the lock, and writes nothing", () => {
    const home = tempHome()
    return withStore(home, (s) =>
      Effect.gen(function*() {
        yield* s.save(apiDoc("sk-before"))
        yield* hold(join(home, CredentialLocks.AUTH_JSON_LOCK), 30)
        const started = Date.now()
        const exit = yield* Effect.exit(s.save(apiDoc("sk-never")))
        const waited = Date.now() - started
        assert.isTrue(Exit.isFailure(exit))
        const error = Exit.isFailure(exit) ? exit.cause.reasons.map((r) => (r as { error?: unknown }).error)[0] : undefined
        assert.instanceOf(error, Errors.StorageError)
        assert.include((error as Errors.StorageError).userMessage, "auth.json.lock")
        assert.isAtLeast(waited, 4_500)
        assert.isBelow(waited, 15_000)
        assert.strictEqual(yield* apiKeyOf(s), "sk-before")
      }))
  })
})

describe("refresh lock: codex-auth's own, never in Codex's way", () => {
  it.live("a refresh in flight (another process holds the refresh lock) does not delay a commit", () => {
    const home = tempHome()
    return withStore(home, (s) =>
      Effect.gen(function*() {
        yield* hold(CredentialLocks.refreshLockPath(home), 30)
        const started = Date.now()
        yield* s.save(apiDoc("sk-while-refreshing"))
        assert.isBelow(Date.now() - started, 2_000)
        assert.strictEqual(yield* apiKeyOf(s), "sk-while-refreshing")
      }))
  })

  it.live("a waiter stops waiting as soon as auth.json changes and whileWaiting finds what it needs; the body never runs", () => {
    const home = tempHome()
    return withStore(home, (s) =>
      Effect.gen(function*() {
        yield* s.save(apiDoc("sk-old"))
        yield* hold(CredentialLocks.refreshLockPath(home), 30)
        let bodyRan = false
        let checks = 0
        const waiter = yield* Effect.forkChild(s.withRefreshLock(
          Effect.sync(() => {
            bodyRan = true
            return "from-body"
          }),
          Effect.map(apiKeyOf(s), (key) => {
            checks++
            return key === "sk-new" ? Option.some(`adopted ${key}`) : Option.none()
          })
        ))
        yield* Effect.sleep(300)
        const checksBefore = checks
        assert.isAtMost(checksBefore, 1, "unchanged auth.json is not re-read at every attempt")
        const started = Date.now()
        yield* withStore(home, (other) => other.save(apiDoc("sk-new")))
        const result = yield* Fiber.join(waiter)
        assert.strictEqual(result, "adopted sk-new")
        assert.isFalse(bodyRan)
        assert.isBelow(Date.now() - started, 2_000)
      }))
  })

  it.live("when the holder goes away without writing, the waiter takes the lock and runs the body", () => {
    const home = tempHome()
    return withStore(home, (s) =>
      Effect.gen(function*() {
        const holder = yield* hold(CredentialLocks.refreshLockPath(home), 30)
        const waiter = yield* Effect.forkChild(s.withRefreshLock(Effect.succeed("from-body"), Effect.succeedNone))
        yield* Effect.sleep(200)
        process.kill(-holder.pid!, "SIGKILL")
        assert.strictEqual(yield* Fiber.join(waiter), "from-body")
      }))
  })
})
