/**
 * Own files only, on the file store: what a symlinked auth.json or a CODEX_HOME that is not the
 * user's alone lets codex-auth do. A refused operation leaves every byte and mode as it was.
 * (Another user's files: tooling/e2e/test/security-own-files.test.ts runs the CLI as another uid.)
 */
import { AuthDotJson, type CredentialStore, Errors } from "@codex-auth/core"
import { FileStore } from "@codex-auth/storage"
import { afterAll, assert, describe, it } from "@effect/vitest"
import { Effect, Option, Redacted } from "effect"
import * as fs from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"

const roots: Array<string> = []
afterAll(() => {
  for (const r of roots) fs.rmSync(r, { recursive: true, force: true })
})

const tempRoot = () => {
  const root = fs.mkdtempSync(join(tmpdir(), "codex-auth-own-"))
  roots.push(root)
  return root
}
const apiDoc = (key: string) => AuthDotJson.fromApiKey(Redacted.make(key))
const withStore = <A, E>(home: string, f: (s: CredentialStore.CredentialStoreShape) => Effect.Effect<A, E>) =>
  Effect.flatMap(FileStore.makeFileStore({ codexHome: home, lockTimeoutMs: 5_000 }), f)

/** Bytes and mode of a file, to compare before and after. */
const snapshot = (path: string) => ({ text: fs.readFileSync(path, "utf8"), mode: fs.statSync(path).mode & 0o7777 })

const expectRefused = (error: unknown, pattern: RegExp) => {
  assert.instanceOf(error, Errors.StorageError)
  const e = error as Errors.StorageError
  assert.match(e.userMessage, pattern)
  assert.isDefined(e.hint)
  assert.strictEqual(e.exitCode, 5)
}

describe("a symlinked auth.json", () => {
  it.effect("to a file that is not a credentials document: save, remove and load change nothing (bytes, mode, link)", () => {
    const root = tempRoot()
    const home = join(root, "home")
    fs.mkdirSync(home, { mode: 0o700 })
    const victim = join(root, "passwd")
    fs.writeFileSync(victim, "root:x:0:0:root:/root:/bin/bash\n", { mode: 0o644 })
    fs.symlinkSync(victim, join(home, "auth.json"))
    const before = snapshot(victim)
    return withStore(home, (s) =>
      Effect.gen(function*() {
        expectRefused(yield* Effect.flip(s.save(apiDoc("sk-test-ownership-0001"))), /symbolic link to .*passwd, which is not a credentials document/)
        expectRefused(yield* Effect.flip(s.remove), /not a credentials document/)
        // Reading it is a corrupt-credentials report; it changes no mode.
        const load = yield* Effect.flip(s.load)
        assert.strictEqual(load._tag, "CorruptCredentials")
        assert.deepStrictEqual(snapshot(victim), before)
        assert.isTrue(fs.lstatSync(join(home, "auth.json")).isSymbolicLink())
        assert.deepStrictEqual(fs.readdirSync(root).sort(), ["home", "passwd"])
      }))
  })

  it.effect("to a directory: refused", () => {
    const root = tempRoot()
    const home = join(root, "home")
    fs.mkdirSync(home, { mode: 0o700 })
    fs.mkdirSync(join(root, "dir"))
    fs.symlinkSync(join(root, "dir"), join(home, "auth.json"))
    return withStore(home, (s) =>
      Effect.gen(function*() {
        expectRefused(yield* Effect.flip(s.save(apiDoc("sk-test-ownership-0002"))), /not a regular file/)
        assert.isTrue(fs.statSync(join(root, "dir")).isDirectory())
      }))
  })

  it.effect("to a file of this user's that others can write: refused", () => {
    const root = tempRoot()
    const home = join(root, "home")
    fs.mkdirSync(home, { mode: 0o700 })
    const target = join(root, "creds.json")
    fs.writeFileSync(target, AuthDotJson.toFileText(apiDoc("sk-test-ownership-0003")))
    fs.chmodSync(target, 0o666)
    fs.symlinkSync(target, join(home, "auth.json"))
    return withStore(home, (s) =>
      Effect.gen(function*() {
        expectRefused(yield* Effect.flip(s.save(apiDoc("sk-test-ownership-0004"))), /writable by other users \(mode 666\)/)
        assert.deepStrictEqual(snapshot(target), { text: AuthDotJson.toFileText(apiDoc("sk-test-ownership-0003")), mode: 0o666 })
      }))
  })

  it.effect("to this user's credentials document (a dotfile manager): followed, the link kept, the target written 0600", () => {
    const root = tempRoot()
    const home = join(root, "home")
    fs.mkdirSync(home, { mode: 0o700 })
    const dotfiles = join(root, "dotfiles")
    fs.mkdirSync(dotfiles, { mode: 0o700 })
    const target = join(dotfiles, "auth.json")
    fs.writeFileSync(target, AuthDotJson.toFileText(apiDoc("sk-test-ownership-0005")), { mode: 0o600 })
    fs.symlinkSync(target, join(home, "auth.json"))
    return withStore(home, (s) =>
      Effect.gen(function*() {
        yield* s.save(apiDoc("sk-test-ownership-0006"))
        assert.isTrue(fs.lstatSync(join(home, "auth.json")).isSymbolicLink())
        assert.deepStrictEqual(snapshot(target), { text: AuthDotJson.toFileText(apiDoc("sk-test-ownership-0006")), mode: 0o600 })
        const loaded = yield* s.load
        assert.strictEqual(Redacted.value(Option.getOrThrow(loaded).apiKey!), "sk-test-ownership-0006")
        const report = yield* s.remove
        assert.deepStrictEqual(report.removed, [join(home, "auth.json")])
        assert.isFalse(fs.existsSync(target))
        assert.isFalse(fs.existsSync(join(home, "auth.json")))
      }))
  })

  it.effect("dangling (even into a world-writable directory): replaced by a regular 0600 file, nothing created where it pointed", () => {
    const root = tempRoot()
    const home = join(root, "home")
    fs.mkdirSync(home, { mode: 0o700 })
    const shared = join(root, "shared")
    fs.mkdirSync(shared)
    fs.chmodSync(shared, 0o777)
    fs.symlinkSync(join(shared, "auth.json"), join(home, "auth.json"))
    return withStore(home, (s) =>
      Effect.gen(function*() {
        yield* s.save(apiDoc("sk-test-ownership-0008"))
        const st = fs.lstatSync(join(home, "auth.json"))
        assert.isTrue(st.isFile())
        assert.strictEqual(st.mode & 0o777, 0o600)
        assert.deepStrictEqual(fs.readdirSync(shared), [])
      }))
  })
})

describe("CODEX_HOME", () => {
  it.effect("world-writable: nothing is created in it (no lock file, no auth.json)", () => {
    const root = tempRoot()
    const home = join(root, "home")
    fs.mkdirSync(home)
    fs.chmodSync(home, 0o777)
    return withStore(home, (s) =>
      Effect.gen(function*() {
        expectRefused(yield* Effect.flip(s.save(apiDoc("sk-test-ownership-0009"))), /CODEX_HOME .* is writable by other users \(mode 777\)/)
        expectRefused(yield* Effect.flip(s.remove), /writable by other users/)
        assert.deepStrictEqual(fs.readdirSync(home), [])
      }))
  })

  it.effect("group-writable for the user's own primary group (umask 002): allowed", () => {
    const root = tempRoot()
    const home = join(root, "home")
    fs.mkdirSync(home)
    fs.chmodSync(home, 0o770)
    return withStore(home, (s) =>
      Effect.gen(function*() {
        yield* s.save(apiDoc("sk-test-ownership-0010"))
        assert.strictEqual(fs.statSync(join(home, "auth.json")).mode & 0o777, 0o600)
      }))
  })
})
