/**
 * Auto mode on the session's real Secret Service (CODEX_AUTH_KEYRING_EXPECT=available), or with
 * no D-Bus session at all (`unavailable`): the same behaviours Codex's AutoAuthStorage has, plus
 * the reason for every fallback. See Keyring.test.ts for how the expectation is chosen.
 */
import { AuthDotJson } from "@codex-auth/core"
import { AutoStore, CodexHome } from "@codex-auth/storage"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Option, Redacted } from "effect"
import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"

const expectation = process.env["CODEX_AUTH_KEYRING_EXPECT"] ?? (process.env["DBUS_SESSION_BUS_ADDRESS"] ? "available" : "unavailable")
if (expectation !== "available" && expectation !== "unavailable") {
  throw new Error(`CODEX_AUTH_KEYRING_EXPECT must be "available" or "unavailable", not ${JSON.stringify(expectation)}`)
}

const tempHome = () => {
  const home = join(fs.mkdtempSync(join(tmpdir(), "codex-auth-auto-")), "home")
  fs.mkdirSync(home, { mode: 0o700 })
  return home
}
const apiDoc = (key: string) => AuthDotJson.fromApiKey(Redacted.make(key))
const keyOf = (doc: Option.Option<AuthDotJson.AuthDocument>) => Redacted.value(Option.getOrThrow(doc).apiKey!)
const lookup = (home: string) =>
  spawnSync("secret-tool", ["lookup", "service", "Codex Auth", "username", CodexHome.keyringAccount(home)], { encoding: "utf8", timeout: 10_000 }).stdout
const writeFile = (home: string, key: string) => fs.writeFileSync(join(home, "auth.json"), AuthDotJson.toFileText(apiDoc(key)), { mode: 0o600 })

/** Collects process warnings emitted while `self` runs (they are delivered on the next tick). */
const withWarnings = <A, E>(self: Effect.Effect<A, E>) =>
  Effect.gen(function*() {
    const seen: Array<{ code: string | undefined; message: string }> = []
    const listener = (w: Error & { code?: string }) => seen.push({ code: w.code, message: w.message })
    process.on("warning", listener)
    const result = yield* Effect.exit(self)
    yield* Effect.promise(() => new Promise((r) => setImmediate(r)))
    process.off("warning", listener)
    return { result, warnings: seen.filter((w) => w.code?.startsWith("CODEX_AUTH_")) }
  })

const make = (home: string) => AutoStore.makeAutoStore({ codexHome: home })

describe(`auto mode (session keyring ${expectation})`, () => {
  if (expectation === "available") {
    it.effect("save goes to the keyring and removes the fallback auth.json; status says keyring, no reason, no warning", () =>
      Effect.gen(function*() {
        const home = tempHome()
        writeFile(home, "sk-test-old-fallback")
        const s = yield* make(home)
        const { result, warnings } = yield* withWarnings(s.save(apiDoc("sk-test-auto-keyring-1")))
        assert.isTrue(Exit.isSuccess(result))
        assert.deepStrictEqual(warnings, [])
        assert.isFalse(fs.existsSync(join(home, "auth.json")), "a successful keyring save removes the fallback file")
        assert.strictEqual(lookup(home), AuthDotJson.toCompactText(apiDoc("sk-test-auto-keyring-1")))
        assert.deepStrictEqual(yield* s.info, {
          mode: "auto",
          backend: "keyring",
          location: `keyring: Codex Auth / ${CodexHome.keyringAccount(home)}`,
          fallbackReason: undefined
        })
        assert.strictEqual(keyOf(yield* (yield* make(home)).load), "sk-test-auto-keyring-1")
        yield* s.remove
      }))

    it.effect("a working but empty keyring with an auth.json loads the file (Codex's AutoAuthStorage), without calling it a fallback", () =>
      Effect.gen(function*() {
        const home = tempHome()
        writeFile(home, "sk-test-file-before-auto-2")
        const s = yield* make(home)
        assert.strictEqual(keyOf(yield* s.load), "sk-test-file-before-auto-2")
        assert.deepStrictEqual(yield* s.info, { mode: "auto", backend: "file", location: join(home, "auth.json"), fallbackReason: undefined })
        // The next save moves the credentials into the keyring.
        yield* s.save(Option.getOrThrow(yield* s.load))
        assert.isFalse(fs.existsSync(join(home, "auth.json")))
        assert.strictEqual((yield* s.info).backend, "keyring")
        yield* s.remove
      }))

    it.effect("the keyring entry wins over a stale auth.json", () =>
      Effect.gen(function*() {
        const home = tempHome()
        const s = yield* make(home)
        yield* s.save(apiDoc("sk-test-keyring-wins-3"))
        writeFile(home, "sk-test-stale-file")
        assert.strictEqual(keyOf(yield* (yield* make(home)).load), "sk-test-keyring-wins-3")
        yield* s.remove
      }))

    it.effect("remove purges the keyring and the file and reports both", () =>
      Effect.gen(function*() {
        const home = tempHome()
        const s = yield* make(home)
        yield* s.save(apiDoc("sk-test-purge-4"))
        writeFile(home, "sk-test-purge-file")
        const report = yield* s.remove
        assert.deepStrictEqual(report, {
          removed: [`keyring: Codex Auth / ${CodexHome.keyringAccount(home)}`, join(home, "auth.json")],
          absent: [],
          failed: []
        })
        assert.strictEqual(lookup(home), "")
        assert.isFalse(fs.existsSync(join(home, "auth.json")))
        assert.isTrue(Option.isNone(yield* s.load))
      }))

    it.effect("status before any load probes the keyring: an existing entry shows as keyring", () =>
      Effect.gen(function*() {
        const home = tempHome()
        yield* (yield* make(home)).save(apiDoc("sk-test-probe-5"))
        const fresh = yield* make(home)
        assert.strictEqual((yield* fresh.info).backend, "keyring")
        yield* fresh.remove
      }))
  } else {
    it.effect("save falls back to auth.json (0600), warns once with the reason, and status shows store file + fallback_reason", () =>
      Effect.gen(function*() {
        const home = tempHome()
        const s = yield* make(home)
        const { result, warnings } = yield* withWarnings(Effect.gen(function*() {
          yield* s.save(apiDoc("sk-test-fallback-1"))
          yield* s.load
          yield* s.save(apiDoc("sk-test-fallback-2"))
        }))
        assert.isTrue(Exit.isSuccess(result))
        assert.strictEqual(warnings.length, 1, "warned once")
        assert.strictEqual(warnings[0]!.code, "CODEX_AUTH_KEYRING_FALLBACK")
        assert.include(warnings[0]!.message, "no_dbus_session")
        assert.include(warnings[0]!.message, join(home, "auth.json"))
        assert.notInclude(warnings[0]!.message, "sk-test")
        assert.strictEqual(fs.readFileSync(join(home, "auth.json"), "utf8"), AuthDotJson.toFileText(apiDoc("sk-test-fallback-2")))
        assert.strictEqual(fs.statSync(join(home, "auth.json")).mode & 0o777, 0o600)
        const info = yield* s.info
        assert.strictEqual(info.mode, "auto")
        assert.strictEqual(info.backend, "file")
        assert.strictEqual(info.location, join(home, "auth.json"))
        assert.match(info.fallbackReason ?? "", /^no_dbus_session: no D-Bus session bus \(DBUS_SESSION_BUS_ADDRESS is not set/)
      }))

    it.effect("load reads auth.json; a fresh store's status explains the fallback before anything is read", () =>
      Effect.gen(function*() {
        const home = tempHome()
        writeFile(home, "sk-test-fallback-read-3")
        const fresh = yield* make(home)
        const info = yield* fresh.info
        assert.strictEqual(info.backend, "file")
        assert.match(info.fallbackReason ?? "", /^no_dbus_session: /)
        const { result } = yield* withWarnings(fresh.load)
        assert.isTrue(Exit.isSuccess(result))
        assert.strictEqual(keyOf((result as Exit.Success<Option.Option<AuthDotJson.AuthDocument>>).value), "sk-test-fallback-read-3")
      }))

    it.effect("remove deletes auth.json; a keyring that cannot exist here is reported as absent, with why", () =>
      Effect.gen(function*() {
        const home = tempHome()
        writeFile(home, "sk-test-fallback-remove-4")
        const report = yield* (yield* make(home)).remove
        assert.deepStrictEqual(report.removed, [join(home, "auth.json")])
        assert.deepStrictEqual(report.failed, [])
        assert.deepStrictEqual(report.absent, [`keyring: Codex Auth / ${CodexHome.keyringAccount(home)} (no keyring in this session: no_dbus_session)`])
      }))
  }
})
