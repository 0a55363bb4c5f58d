/**
 * Keyring mode on the session's real Secret Service, as Codex uses it.
 *
 * CODEX_AUTH_KEYRING_EXPECT says what this session has (default: `available` when
 * DBUS_SESSION_BUS_ADDRESS is set, else `unavailable`). `available` (scripts/keyring-session.sh):
 * a working, unlocked gnome-keyring is required — without one these tests fail, they never skip.
 * `unavailable` (the same suite run with no D-Bus session): keyring mode must fail at once, clearly.
 */
import { AuthDotJson, Errors } from "@codex-auth/core"
import { CodexHome, KeyringStore } from "@codex-auth/storage"
import { assert, describe, it } from "@effect/vitest"
import { Cause, Effect, Exit, Option, Redacted } from "effect"
import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"

const expectation = process.env["CODEX_AUTH_KEYRING_EXPECT"] ?? (process.env["DBUS_SESSION_BUS_ADDRESS"] ? "available" : "unavailable")
if (expectation !== "available" && expectation !== "unavailable") {
  throw new Error(`CODEX_AUTH_KEYRING_EXPECT must be "available" or "unavailable", not ${JSON.stringify(expectation)}`)
}

const tempHome = () => {
  const home = join(fs.mkdtempSync(join(tmpdir(), "codex-auth-kr-")), "home")
  fs.mkdirSync(home, { mode: 0o700 })
  return home
}
const apiDoc = (key: string) => AuthDotJson.fromApiKey(Redacted.make(key))
const keyOf = (doc: Option.Option<AuthDotJson.AuthDocument>) => Redacted.value(Option.getOrThrow(doc).apiKey!)

const secretTool = (args: ReadonlyArray<string>, input?: string) => {
  const r = spawnSync("secret-tool", [...args], { encoding: "utf8", timeout: 10_000, ...(input !== undefined ? { input } : {}) })
  return { status: r.status, stdout: r.stdout ?? "", stderr: r.stderr ?? "" }
}

/** `secret-tool search --all` output parsed into items of attributes (secrets are not kept). */
const searchItems = (account: string) => {
  const r = secretTool(["search", "--all", "service", "Codex Auth", "username", account])
  const items: Array<Record<string, string>> = []
  for (const line of (r.stdout + r.stderr).split("\n")) {
    if (line.startsWith("[")) items.push({})
    const m = /^attribute\.(\S+) = (.*)$/.exec(line)
    if (m && items.length > 0) items[items.length - 1]![m[1]!] = m[2]!
  }
  return items
}

const storageErrorOf = <A>(exit: Exit.Exit<A, unknown>): Errors.StorageError => {
  assert.isTrue(Exit.isFailure(exit), "expected a failure")
  const e = Cause.squash((exit as Exit.Failure<A, unknown>).cause)
  assert.instanceOf(e, Errors.StorageError)
  return e as Errors.StorageError
}

const make = (home: string) => KeyringStore.makeKeyringStore({ codexHome: home })

describe(`keyring mode (session keyring ${expectation})`, () => {
  if (expectation === "available") {
    it("the session has a working, unlocked Secret Service (required: CODEX_AUTH_KEYRING_EXPECT=available)", () => {
      const probe = `probe-${process.pid}`
      const stored = secretTool(["store", "--label=codex-auth test probe", "codex-auth-test-probe", probe], probe)
      assert.strictEqual(stored.status, 0, `secret-tool store failed: ${stored.stderr} — run the tests under scripts/keyring-session.sh`)
      assert.strictEqual(secretTool(["lookup", "codex-auth-test-probe", probe]).stdout, probe)
      secretTool(["clear", "codex-auth-test-probe", probe])
    })

    it.effect("stores Codex's entry: service \"Codex Auth\", account cli|<sha256(realpath)[:16]>, secret = compact JSON; no auth.json", () =>
      Effect.gen(function*() {
        const home = tempHome()
        const s = yield* make(home)
        const doc = apiDoc("sk-test-keyring-roundtrip-1")
        yield* s.save(doc)
        const account = CodexHome.keyringAccount(home)
        assert.match(account, /^cli\|[0-9a-f]{16}$/)
        const lookup = secretTool(["lookup", "service", "Codex Auth", "username", account])
        assert.strictEqual(lookup.stdout, AuthDotJson.toCompactText(doc))
        assert.strictEqual(lookup.stdout, "{\"auth_mode\":\"apikey\",\"OPENAI_API_KEY\":\"sk-test-keyring-roundtrip-1\"}")
        const items = searchItems(account)
        assert.strictEqual(items.length, 1)
        assert.strictEqual(items[0]!["service"], "Codex Auth")
        assert.strictEqual(items[0]!["username"], account)
        assert.isFalse(fs.existsSync(join(home, "auth.json")))
        assert.strictEqual(keyOf(yield* s.load), "sk-test-keyring-roundtrip-1")
        const info = yield* s.info
        assert.deepStrictEqual(info, { mode: "keyring", backend: "keyring", location: `keyring: Codex Auth / ${account}`, fallbackReason: undefined })
        yield* s.remove
      }))

    it.effect("the account follows the canonical CODEX_HOME (a symlinked home shares the real one's entry)", () =>
      Effect.gen(function*() {
        const home = tempHome()
        const link = `${home}-link`
        fs.symlinkSync(home, link)
        yield* (yield* make(link)).save(apiDoc("sk-test-symlinked-home-2"))
        assert.strictEqual(keyOf(yield* (yield* make(home)).load), "sk-test-symlinked-home-2")
        yield* (yield* make(home)).remove
      }))

    it.effect("reads an item stored with Codex's attributes (target=default, application=rust-keyring), ChatGPT tokens included", () =>
      Effect.gen(function*() {
        const home = tempHome()
        const account = CodexHome.keyringAccount(home)
        const codexJson = JSON.stringify({
          auth_mode: "chatgpt",
          OPENAI_API_KEY: null,
          tokens: { id_token: "e30.e30.sig", access_token: "e30.e30.sig2", refresh_token: "rt-keyring-3", account_id: "ws-1", oauth_provenance: { issuer: "https://auth.openai.com", client_id: "app_EMoamEEZ73f0CkXaXp7hrann" } },
          last_refresh: "2026-01-02T03:04:05.000000Z",
          agent_identity: "kept"
        })
        const stored = secretTool(
          ["store", `--label=${account}@Codex Auth:default (keyring v3.6.3)`, "application", "rust-keyring", "service", "Codex Auth", "target", "default", "username", account],
          codexJson
        )
        assert.strictEqual(stored.status, 0, stored.stderr)
        const s = yield* make(home)
        const doc = Option.getOrThrow(yield* s.load)
        assert.strictEqual(Redacted.value(doc.tokens!.refreshToken), "rt-keyring-3")
        assert.strictEqual(AuthDotJson.toCompactText(doc), codexJson, "unknown fields survive, byte for byte")
        // Writing back updates that same item (Codex keeps finding it), never a second one.
        yield* s.save(doc)
        const items = searchItems(account)
        assert.strictEqual(items.length, 1)
        assert.strictEqual(items[0]!["target"], "default")
        assert.strictEqual(items[0]!["application"], "rust-keyring")
        yield* s.remove
      }))

    it.effect("save deletes a leftover auth.json (as Codex does); remove purges keyring and file and reports each", () =>
      Effect.gen(function*() {
        const home = tempHome()
        fs.writeFileSync(join(home, "auth.json"), AuthDotJson.toFileText(apiDoc("sk-test-old-file")), { mode: 0o600 })
        const s = yield* make(home)
        yield* s.save(apiDoc("sk-test-keyring-new-4"))
        assert.isFalse(fs.existsSync(join(home, "auth.json")))
        assert.isTrue(fs.existsSync(join(home, "auth.json.lock")), "the credential lock lives in CODEX_HOME in keyring mode too")
        fs.writeFileSync(join(home, "auth.json"), AuthDotJson.toFileText(apiDoc("sk-test-stray-file")), { mode: 0o600 })
        const report = yield* s.remove
        const location = `keyring: Codex Auth / ${CodexHome.keyringAccount(home)}`
        assert.deepStrictEqual(report, { removed: [location, join(home, "auth.json")], absent: [], failed: [] })
        assert.strictEqual(secretTool(["lookup", "service", "Codex Auth", "username", CodexHome.keyringAccount(home)]).stdout, "")
        assert.isTrue(Option.isNone(yield* s.load))
        const again = yield* s.remove
        assert.deepStrictEqual(again, { removed: [], absent: [location, join(home, "auth.json")], failed: [] })
      }))

    it.effect("reads and removes a secret split the way some Codex builds chunk long values (CODEX_CHUNKED:<n>:…)", () =>
      Effect.gen(function*() {
        const home = tempHome()
        const account = CodexHome.keyringAccount(home)
        const json = AuthDotJson.toCompactText(apiDoc(`sk-test-chunked-${"z".repeat(40)}`))
        const parts = [json.slice(0, 20), json.slice(20, 45), json.slice(45)]
        const put = (acct: string, value: string) =>
          assert.strictEqual(secretTool(["store", "--label=chunk", "service", "Codex Auth", "username", acct], value).status, 0)
        put(account, `CODEX_CHUNKED:3:${parts[0]}`)
        put(`${account}:1`, parts[1]!)
        put(`${account}:2`, parts[2]!)
        const s = yield* make(home)
        assert.strictEqual(keyOf(yield* s.load), `sk-test-chunked-${"z".repeat(40)}`)
        yield* s.remove
        for (const acct of [account, `${account}:1`, `${account}:2`]) {
          assert.strictEqual(secretTool(["lookup", "service", "Codex Auth", "username", acct]).stdout, "")
        }
      }))

    it.effect("keyring mode never reads auth.json", () =>
      Effect.gen(function*() {
        const home = tempHome()
        fs.writeFileSync(join(home, "auth.json"), AuthDotJson.toFileText(apiDoc("sk-test-file-only")), { mode: 0o600 })
        assert.isTrue(Option.isNone(yield* (yield* make(home)).load))
      }))

    it.effect("a corrupt keyring secret is reported as unreadable credentials naming the entry, and left alone", () =>
      Effect.gen(function*() {
        const home = tempHome()
        const account = CodexHome.keyringAccount(home)
        assert.strictEqual(secretTool(["store", "--label=corrupt", "service", "Codex Auth", "username", account], "{not json").status, 0)
        const exit = yield* Effect.exit((yield* make(home)).load)
        assert.isTrue(Exit.isFailure(exit))
        const e = Cause.squash((exit as Exit.Failure<unknown, unknown>).cause)
        assert.instanceOf(e, Errors.CorruptCredentials)
        assert.include((e as Errors.CorruptCredentials).location, account)
        assert.strictEqual(secretTool(["lookup", "service", "Codex Auth", "username", account]).stdout, "{not json")
        secretTool(["clear", "service", "Codex Auth", "username", account])
      }))
  } else {
    it("the session really has no D-Bus session bus (CODEX_AUTH_KEYRING_EXPECT=unavailable)", () => {
      assert.isUndefined(process.env["DBUS_SESSION_BUS_ADDRESS"], "unset DBUS_SESSION_BUS_ADDRESS for the unavailable run")
    })

    it.effect("load and save fail at once with reason no_dbus_session and the next steps; nothing is written", () =>
      Effect.gen(function*() {
        const home = tempHome()
        const s = yield* make(home)
        const t0 = Date.now()
        const read = storageErrorOf(yield* Effect.exit(s.load))
        const write = storageErrorOf(yield* Effect.exit(s.save(apiDoc("sk-test-nowhere"))))
        assert.isBelow(Date.now() - t0, 1_000, "no keyring means no waiting")
        for (const e of [read, write]) {
          assert.strictEqual(e.backend, "keyring")
          assert.include(e.detail, "(no_dbus_session)")
          assert.include(e.hint ?? "", "--store file")
          assert.include(e.hint ?? "", "dbus-run-session")
          assert.notInclude(e.userMessage, "sk-test")
        }
        assert.strictEqual(read.operation, "read")
        assert.strictEqual(write.operation, "write")
        assert.isFalse(fs.existsSync(join(home, "auth.json")), "keyring mode never falls back to the file")
      }))

    it.effect("remove still deletes auth.json and reports the keyring it could not reach", () =>
      Effect.gen(function*() {
        const home = tempHome()
        fs.writeFileSync(join(home, "auth.json"), AuthDotJson.toFileText(apiDoc("sk-test-stray")), { mode: 0o600 })
        const report = yield* (yield* make(home)).remove
        assert.deepStrictEqual(report.removed, [join(home, "auth.json")])
        assert.strictEqual(report.failed.length, 1)
        assert.include(report.failed[0]!.detail, "(no_dbus_session)")
        assert.isFalse(fs.existsSync(join(home, "auth.json")))
      }))
  }
})
