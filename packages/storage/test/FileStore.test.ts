import { AuthDotJson, type CredentialStore } from "@codex-auth/core"
import { FileStore } from "@codex-auth/storage"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Option, Redacted } from "effect"
import { spawn } from "node:child_process"
import * as fs from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"

const tempHome = () => join(fs.mkdtempSync(join(tmpdir(), "codex-auth-fs-")), "home")
const apiDoc = (key: string) => AuthDotJson.fromApiKey(Redacted.make(key))
const withStore = <A, E>(home: string, f: (s: CredentialStore.CredentialStoreShape) => Effect.Effect<A, E>) =>
  Effect.flatMap(FileStore.makeFileStore({ codexHome: home, lockTimeoutMs: 5_000 }), f)

describe("FileStore", () => {
  it.effect("creates CODEX_HOME 0700 and auth.json 0600, Codex's bytes", () => {
    const home = tempHome()
    return withStore(home, (s) =>
      Effect.gen(function*() {
        yield* s.save(apiDoc("sk-test-abcdef123456"))
        assert.strictEqual(fs.statSync(home).mode & 0o777, 0o700)
        assert.strictEqual(fs.statSync(join(home, "auth.json")).mode & 0o777, 0o600)
        assert.strictEqual(fs.statSync(join(home, "auth.json.lock")).mode & 0o777, 0o600)
        assert.strictEqual(fs.readFileSync(join(home, "auth.json"), "utf8"), AuthDotJson.toFileText(apiDoc("sk-test-abcdef123456")))
        const loaded = yield* s.load
        assert.strictEqual(Redacted.value(Option.getOrThrow(loaded).apiKey!), "sk-test-abcdef123456")
        assert.deepStrictEqual(fs.readdirSync(home).sort(), ["auth.json", "auth.json.lock", "auth.lock"])
      }))
  })

  it.effect("absent file loads as none; remove reports absent", () => {
    const home = tempHome()
    return withStore(home, (s) =>
      Effect.gen(function*() {
        assert.isTrue(Option.isNone(yield* s.load))
        const report = yield* s.remove
        assert.deepStrictEqual(report.removed, [])
        assert.strictEqual(report.absent.length, 1)
      }))
  })

  it.effect("reading changes no mode (a wider one is warned about); the next save writes 0600", () => {
    const home = tempHome()
    return withStore(home, (s) =>
      Effect.gen(function*() {
        yield* s.save(apiDoc("sk-1"))
        fs.chmodSync(join(home, "auth.json"), 0o644)
        yield* s.load
        assert.strictEqual(fs.statSync(join(home, "auth.json")).mode & 0o777, 0o644)
        yield* s.save(apiDoc("sk-2"))
        assert.strictEqual(fs.statSync(join(home, "auth.json")).mode & 0o777, 0o600)
      }))
  })

  it.effect("a corrupt file is a clear error naming it, and is left untouched", () => {
    const home = tempHome()
    fs.mkdirSync(home, { recursive: true })
    fs.writeFileSync(join(home, "auth.json"), "{ not json", { mode: 0o600 })
    return withStore(home, (s) =>
      Effect.gen(function*() {
        const exit = yield* Effect.exit(s.load)
        assert.isTrue(Exit.isFailure(exit))
        const err = yield* Effect.flip(s.load)
        assert.strictEqual(err._tag, "CorruptCredentials")
        assert.include(err.message, join(home, "auth.json"))
        assert.strictEqual(fs.readFileSync(join(home, "auth.json"), "utf8"), "{ not json")
      }))
  })

  it.effect("an unreadable file is a storage error with a hint", () => {
    const home = tempHome()
    fs.mkdirSync(join(home, "auth.json"), { recursive: true })
    return withStore(home, (s) =>
      Effect.gen(function*() {
        const err = yield* Effect.flip(s.load)
        assert.strictEqual(err._tag, "StorageError")
        assert.include(err.message, "auth.json")
      }))
  })

  it.effect("writes through a symlinked auth.json to its target and keeps the link", () => {
    const home = tempHome()
    const elsewhere = fs.mkdtempSync(join(tmpdir(), "codex-auth-target-"))
    fs.mkdirSync(home, { recursive: true, mode: 0o700 })
    fs.writeFileSync(join(elsewhere, "real.json"), AuthDotJson.toFileText(apiDoc("sk-old")), { mode: 0o600 })
    fs.symlinkSync(join(elsewhere, "real.json"), join(home, "auth.json"))
    return withStore(home, (s) =>
      Effect.gen(function*() {
        yield* s.save(apiDoc("sk-new"))
        assert.isTrue(fs.lstatSync(join(home, "auth.json")).isSymbolicLink())
        assert.include(fs.readFileSync(join(elsewhere, "real.json"), "utf8"), "sk-new")
        assert.strictEqual(fs.statSync(join(elsewhere, "real.json")).mode & 0o777, 0o600)
      }))
  })

  it.effect("remove through a symlinked auth.json deletes the target and the link", () => {
    const home = tempHome()
    const elsewhere = fs.mkdtempSync(join(tmpdir(), "codex-auth-target-"))
    fs.mkdirSync(home, { recursive: true, mode: 0o700 })
    fs.writeFileSync(join(elsewhere, "real.json"), AuthDotJson.toFileText(apiDoc("sk-linked")), { mode: 0o600 })
    fs.symlinkSync(join(elsewhere, "real.json"), join(home, "auth.json"))
    return withStore(home, (s) =>
      Effect.gen(function*() {
        const report = yield* s.remove
        assert.strictEqual(report.removed.length, 1)
        assert.isFalse(fs.existsSync(join(elsewhere, "real.json")))
        assert.isFalse(fs.existsSync(join(home, "auth.json")))
      }))
  })

  it.effect("save and remove sweep temp files left by a writer killed mid-save", () => {
    const home = tempHome()
    fs.mkdirSync(home, { recursive: true, mode: 0o700 })
    const stray = join(home, ".auth.json.tmp-99999-0123456789ab")
    const unrelated = join(home, ".auth.json.tmp-notours")
    return withStore(home, (s) =>
      Effect.gen(function*() {
        fs.writeFileSync(stray, "{\"OPENAI_API_KEY\":\"sk-stray\"}", { mode: 0o600 })
        fs.writeFileSync(unrelated, "x")
        yield* s.save(apiDoc("sk-1"))
        assert.isFalse(fs.existsSync(stray))
        fs.writeFileSync(stray, "{}", { mode: 0o600 })
        yield* s.remove
        assert.isFalse(fs.existsSync(stray))
        assert.isTrue(fs.existsSync(unrelated))
      }))
  })

  it.effect("fingerprint changes when the file changes", () => {
    const home = tempHome()
    return withStore(home, (s) =>
      Effect.gen(function*() {
        const a = yield* s.fingerprint
        yield* s.save(apiDoc("sk-1"))
        const b = yield* s.fingerprint
        yield* s.save(apiDoc("sk-2"))
        const c = yield* s.fingerprint
        assert.strictEqual(a, "absent")
        assert.notStrictEqual(b, a)
        assert.notStrictEqual(c, b)
      }))
  })

  it.effect("withLock is reentrant and excludes another process holding flock on auth.json.lock", () => {
    const home = tempHome()
    return withStore(home, (s) =>
      Effect.gen(function*() {
        yield* s.withLock(s.withLock(s.save(apiDoc("sk-nested"))))
        // Another process (as the Codex CLI would) takes flock(2) on auth.json.lock for 600 ms.
        const holder = spawn("flock", [join(home, "auth.json.lock"), "sh", "-c", "echo held; sleep 0.6"], { stdio: ["ignore", "pipe", "ignore"] })
        yield* Effect.promise(() => new Promise<void>((r) => holder.stdout.once("data", () => r())))
        const started = Date.now()
        yield* s.save(apiDoc("sk-after"))
        const waited = Date.now() - started
        assert.isAtLeast(waited, 300)
        assert.include(fs.readFileSync(join(home, "auth.json"), "utf8"), "sk-after")
      }))
  })

  it.effect("holding one CODEX_HOME's lock does not skip another CODEX_HOME's: its save still waits for its own lock", () => {
    const homeA = tempHome()
    const homeB = tempHome()
    return withStore(homeA, (a) =>
      withStore(homeB, (b) =>
        Effect.gen(function*() {
          yield* b.save(apiDoc("sk-b-first"))
          const holder = spawn("flock", [join(homeB, "auth.json.lock"), "sh", "-c", "echo held; sleep 0.6"], { stdio: ["ignore", "pipe", "ignore"] })
          yield* Effect.promise(() => new Promise<void>((r) => holder.stdout.once("data", () => r())))
          const started = Date.now()
          // Inside A's lock, B's save must still take B's lock (held by the other process).
          yield* a.withLock(b.save(apiDoc("sk-b-second")))
          assert.isAtLeast(Date.now() - started, 300)
          assert.include(fs.readFileSync(join(homeB, "auth.json"), "utf8"), "sk-b-second")
        })))
  })
})
