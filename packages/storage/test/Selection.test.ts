/**
 * `Selection.layer` gives each `cli_auth_credentials_store` mode its backend, and logout in any
 * mode purges every store. Runs against the session keyring like Keyring.test.ts.
 */
import { AuthDotJson, CredentialStore } from "@codex-auth/core"
import { CodexHome, Selection } from "@codex-auth/storage"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Option, Redacted } from "effect"
import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"

const expectation = process.env["CODEX_AUTH_KEYRING_EXPECT"] ?? (process.env["DBUS_SESSION_BUS_ADDRESS"] ? "available" : "unavailable")
if (expectation !== "available" && expectation !== "unavailable") {
  throw new Error(`CODEX_AUTH_KEYRING_EXPECT must be "available" or "unavailable", not ${JSON.stringify(expectation)}`)
}

const tempHome = () => join(fs.mkdtempSync(join(tmpdir(), "codex-auth-sel-")), "home")
const apiDoc = (key: string) => AuthDotJson.fromApiKey(Redacted.make(key))
const withStore = <A, E>(options: Selection.SelectionOptions, f: (s: CredentialStore.CredentialStoreShape) => Effect.Effect<A, E>) =>
  Effect.provide(
    Effect.gen(function*() {
      return yield* f(yield* CredentialStore.CredentialStore)
    }),
    Selection.layer(options)
  )

describe(`Selection (session keyring ${expectation})`, () => {
  it.effect("file mode: auth.json", () =>
    withStore({ mode: "file", codexHome: tempHome() }, (s) =>
      Effect.gen(function*() {
        const info = yield* s.info
        assert.strictEqual(info.mode, "file")
        assert.strictEqual(info.backend, "file")
        assert.isTrue(info.location.endsWith("/auth.json"))
        yield* s.save(apiDoc("sk-test-selection-file"))
        assert.strictEqual(Redacted.value(Option.getOrThrow(yield* s.load).apiKey!), "sk-test-selection-file")
        yield* s.remove
      })))

  it.effect("keyring mode: Codex's keyring entry", () => {
    const home = tempHome()
    return withStore({ mode: "keyring", codexHome: home }, (s) =>
      Effect.gen(function*() {
        assert.deepStrictEqual(yield* s.info, {
          mode: "keyring",
          backend: "keyring",
          location: `keyring: Codex Auth / ${CodexHome.keyringAccount(home)}`,
          fallbackReason: undefined
        })
      }))
  })

  it.effect("auto mode: the keyring when this session has one, else the file with the reason", () =>
    withStore({ mode: "auto", codexHome: tempHome() }, (s) =>
      Effect.gen(function*() {
        const info = yield* s.info
        assert.strictEqual(info.mode, "auto")
        if (expectation === "available") {
          assert.strictEqual(info.backend, "keyring")
          assert.isUndefined(info.fallbackReason)
        } else {
          assert.strictEqual(info.backend, "file")
          assert.match(info.fallbackReason ?? "", /^no_dbus_session: /)
        }
      })))

  it.effect("the keyring environment and timeout are passed through", () => {
    const env = { ...process.env }
    delete env["DBUS_SESSION_BUS_ADDRESS"]
    delete env["XDG_RUNTIME_DIR"]
    return withStore({ mode: "auto", codexHome: tempHome(), env, keyringTimeoutMs: 1_000 }, (s) =>
      Effect.gen(function*() {
        assert.match((yield* s.info).fallbackReason ?? "", /^no_dbus_session: /)
      }))
  })

  it.effect("file mode's logout also clears this CODEX_HOME's keyring entry", () => {
    const home = tempHome()
    const account = CodexHome.keyringAccount(home)
    const location = `keyring: Codex Auth / ${account}`
    if (expectation === "available") {
      const stored = spawnSync("secret-tool", ["store", "--label=leftover", "service", "Codex Auth", "username", account], {
        input: AuthDotJson.toCompactText(apiDoc("sk-test-leftover")),
        encoding: "utf8"
      })
      assert.strictEqual(stored.status, 0, stored.stderr)
    }
    return withStore({ mode: "file", codexHome: home }, (s) =>
      Effect.gen(function*() {
        yield* s.save(apiDoc("sk-test-file-logout"))
        const report = yield* s.remove
        assert.deepStrictEqual(report.failed, [])
        if (expectation === "available") {
          assert.deepStrictEqual(report.removed, [join(home, "auth.json"), location])
          const left = spawnSync("secret-tool", ["lookup", "service", "Codex Auth", "username", account], { encoding: "utf8" })
          assert.strictEqual(left.stdout, "")
        } else {
          assert.deepStrictEqual(report.removed, [join(home, "auth.json")])
          assert.deepStrictEqual(report.absent, [`${location} (no keyring in this session: no_dbus_session)`])
        }
      }))
  })
})
