/** One browser sign-in at a time per CODEX_HOME: `login.lock`, with the holder's pid for the message. */
import type { Errors } from "@codex-auth/core"
import { LoginLock } from "@codex-auth/storage"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Scope } from "effect"
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"

describe("LoginLock", () => {
  it.live("a second login is refused with the holder's pid; the lock frees with the scope", () =>
    Effect.gen(function*() {
      const path = join(mkdtempSync(join(tmpdir(), "codex-auth-lock-")), "home", "login.lock")
      const scope = yield* Scope.make()
      yield* LoginLock.acquire(path).pipe(Scope.provide(scope))
      assert.strictEqual(readFileSync(path, "utf8").trim(), String(process.pid))
      const second = yield* Effect.exit(Effect.scoped(LoginLock.acquire(path)))
      const failure = Exit.isFailure(second) ? (second.cause.reasons[0] as { error: Errors.LoginFailed }).error : undefined
      assert.strictEqual(failure?.code, "login_in_progress")
      assert.include(failure?.userMessage ?? "", `(pid ${process.pid})`)
      yield* Scope.close(scope, Exit.void)
      const third = yield* Effect.exit(Effect.scoped(LoginLock.acquire(path)))
      assert.isTrue(Exit.isSuccess(third))
    }))
})

describe("LoginLock in a CODEX_HOME that others can write", () => {
  it.live("is refused before login.lock is created", () =>
    Effect.gen(function*() {
      const home = join(mkdtempSync(join(tmpdir(), "codex-auth-lock-")), "home")
      mkdirSync(home)
      chmodSync(home, 0o777)
      const exit = yield* Effect.exit(Effect.scoped(LoginLock.acquire(LoginLock.lockPathFor(home))))
      const failure = Exit.isFailure(exit) ? (exit.cause.reasons[0] as { error: Errors.StorageError }).error : undefined
      assert.strictEqual(failure?._tag, "StorageError")
      assert.include(failure?.userMessage ?? "", "writable by other users")
      assert.deepStrictEqual(readdirSync(home), [])
    }))
})
