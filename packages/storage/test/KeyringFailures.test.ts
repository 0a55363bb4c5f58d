/**
 * How the keyring and auto stores behave when the Secret Service is broken in each way users meet
 * it, each on its own private D-Bus session bus (so these run the same inside and outside a
 * keyring session): an unresponsive bus (timeout, and a process that still exits promptly), a bus
 * with no Secret Service, a gnome-keyring with no default collection, a locked collection, an
 * unreachable socket, and a keyring whose read-back differs from what was written.
 */
import { AuthDotJson, CredentialStore, Errors } from "@codex-auth/core"
import { AutoStore, CodexHome, KeyringStore, Selection } from "@codex-auth/storage"
import { assert, describe, it } from "@effect/vitest"
import { Cause, Effect, Exit, Option, Redacted } from "effect"
import { type ChildProcess, spawn, spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as net from "node:net"
import { tmpdir } from "node:os"
import { dirname, join } from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"
import { afterAll } from "vitest"

const tempHome = () => join(fs.mkdtempSync(join(tmpdir(), "codex-auth-kf-")), "home")
const apiDoc = (key: string) => AuthDotJson.fromApiKey(Redacted.make(key))
const keyOf = (doc: Option.Option<AuthDotJson.AuthDocument>) => Redacted.value(Option.getOrThrow(doc).apiKey!)

const cleanups: Array<() => void> = []
afterAll(() => {
  for (const c of cleanups.reverse()) c()
})

/** A private session bus on which nothing is auto-started (no .service directories). */
const privateBus = async (): Promise<{ address: string; dir: string }> => {
  const dir = fs.mkdtempSync(join(tmpdir(), "codex-auth-bus-"))
  const config = join(dir, "bus.conf")
  fs.writeFileSync(
    config,
    `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN" "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig><type>session</type><listen>unix:dir=${dir}</listen><auth>EXTERNAL</auth>
<policy context="default"><allow send_destination="*" eavesdrop="true"/><allow eavesdrop="true"/><allow own="*"/></policy></busconfig>`
  )
  const daemon = spawn("dbus-daemon", [`--config-file=${config}`, "--nofork", "--print-address=1"], { stdio: ["ignore", "pipe", "ignore"] })
  cleanups.push(() => daemon.kill("SIGKILL"))
  const address = await new Promise<string>((resolve, reject) => {
    let out = ""
    daemon.stdout!.setEncoding("utf8").on("data", (d: string) => {
      out += d
      const line = out.split("\n")[0]
      if (out.includes("\n") && line) resolve(line.trim())
    })
    daemon.on("error", reject)
    daemon.on("exit", (code) => reject(new Error(`dbus-daemon exited with ${code} (is the Debian package dbus installed? scripts/system-deps.sh)`)))
  })
  return { address, dir }
}

const hasOwner = (address: string) =>
  spawnSync("dbus-send", [
    "--session",
    "--print-reply",
    "--dest=org.freedesktop.DBus",
    "/org/freedesktop/DBus",
    "org.freedesktop.DBus.NameHasOwner",
    "string:org.freedesktop.secrets"
  ], { env: { ...process.env, DBUS_SESSION_BUS_ADDRESS: address }, encoding: "utf8" }).stdout.includes("boolean true")

/** A gnome-keyring on a private bus. `unlock`: create and unlock the default "login" collection. */
const privateKeyring = async (unlock: boolean): Promise<{ env: NodeJS.ProcessEnv; gk: ChildProcess }> => {
  const { address, dir } = await privateBus()
  fs.mkdirSync(join(dir, "data"))
  fs.mkdirSync(join(dir, "run"), { mode: 0o700 })
  const env = { ...process.env, DBUS_SESSION_BUS_ADDRESS: address }
  const gk = spawn("gnome-keyring-daemon", ["--foreground", "--components=secrets", ...(unlock ? ["--unlock"] : [])], {
    env: { ...env, XDG_DATA_HOME: join(dir, "data"), XDG_RUNTIME_DIR: join(dir, "run") },
    stdio: ["pipe", "ignore", "ignore"]
  })
  cleanups.push(() => gk.kill("SIGKILL"))
  gk.stdin!.end(unlock ? "throwaway-test-password" : "")
  for (let i = 0; i < 100 && !hasOwner(address); i++) await new Promise((r) => setTimeout(r, 50))
  assert.isTrue(hasOwner(address), "gnome-keyring-daemon did not come up on the private bus")
  if (unlock) {
    // The login collection exists and is unlocked once a store through it works.
    for (let i = 0; i < 50; i++) {
      const r = spawnSync("secret-tool", ["store", "--label=probe", "probe", "1"], { env, input: "x" })
      if (r.status === 0) break
      await new Promise((res) => setTimeout(res, 50))
    }
  }
  return { env, gk }
}

/** A unix socket that accepts D-Bus connections and never answers: a hung Secret Service. */
const unresponsiveBus = async (): Promise<string> => {
  const dir = fs.mkdtempSync(join(tmpdir(), "codex-auth-hang-"))
  const path = join(dir, "bus")
  const sockets: Array<net.Socket> = []
  const server = net.createServer((s) => {
    sockets.push(s)
    s.on("error", () => {})
    s.on("data", () => {})
  })
  await new Promise<void>((r) => server.listen(path, r))
  cleanups.push(() => {
    for (const s of sockets) s.destroy()
    server.close()
  })
  return `unix:path=${path}`
}

const storageErrorOf = <A>(exit: Exit.Exit<A, unknown>): Errors.StorageError => {
  assert.isTrue(Exit.isFailure(exit), "expected a failure")
  const e = Cause.squash((exit as Exit.Failure<A, unknown>).cause)
  assert.instanceOf(e, Errors.StorageError)
  return e as Errors.StorageError
}

/** Collects process warnings emitted while `self` runs (they are delivered on the next tick). */
const withWarnings = <A, E>(self: Effect.Effect<A, E>) =>
  Effect.gen(function*() {
    const seen: Array<{ code: string | undefined; message: string }> = []
    const listener = (w: Error & { code?: string }) => seen.push({ code: w.code, message: w.message })
    process.on("warning", listener)
    const result = yield* Effect.exit(self)
    yield* Effect.promise(() => new Promise((r) => setImmediate(r)))
    process.off("warning", listener)
    return { result, warnings: seen }
  })

describe("keyring on an unresponsive bus", () => {
  it.effect("each call times out (reason timeout) and later calls fail fast; keyring mode says what to do", () =>
    Effect.gen(function*() {
      const address = yield* Effect.promise(unresponsiveBus)
      const s = yield* KeyringStore.makeKeyringStore({ codexHome: tempHome(), timeoutMs: 400, writeTimeoutMs: 400, env: { ...process.env, DBUS_SESSION_BUS_ADDRESS: address } })
      const t0 = Date.now()
      const first = storageErrorOf(yield* Effect.exit(s.load))
      const firstMs = Date.now() - t0
      assert.isAtLeast(firstMs, 380)
      assert.isBelow(firstMs, 2_500)
      assert.include(first.detail, "(timeout)")
      assert.include(first.detail, "did not answer within 0.4 s")
      assert.include(first.hint ?? "", "CODEX_AUTH_KEYRING_TIMEOUT_MS")
      const t1 = Date.now()
      const second = storageErrorOf(yield* Effect.exit(s.save(apiDoc("sk-test-never-saved"))))
      assert.isBelow(Date.now() - t1, 300, "after a timeout, later calls must not wait again")
      assert.include(second.detail, "(timeout)")
    }))

  it.effect("auto mode falls back to auth.json within the timeout and reports reason timeout", () =>
    Effect.gen(function*() {
      const address = yield* Effect.promise(unresponsiveBus)
      const home = tempHome()
      const s = yield* AutoStore.makeAutoStore({ codexHome: home, timeoutMs: 400, writeTimeoutMs: 400, env: { ...process.env, DBUS_SESSION_BUS_ADDRESS: address } })
      const { result, warnings } = yield* withWarnings(s.save(apiDoc("sk-test-auto-timeout-1")))
      assert.isTrue(Exit.isSuccess(result))
      assert.isTrue(fs.existsSync(join(home, "auth.json")))
      const info = yield* s.info
      assert.strictEqual(info.backend, "file")
      assert.match(info.fallbackReason ?? "", /^timeout: the Secret Service did not answer within 0\.4 s/)
      assert.deepStrictEqual(warnings.map((w) => w.code), ["CODEX_AUTH_KEYRING_FALLBACK"])
      assert.strictEqual(keyOf(yield* s.load), "sk-test-auto-timeout-1")
    }))

  it("a process using the keyring on a hung Secret Service exits promptly after the timeout", async () => {
    const address = await unresponsiveBus()
    const home = tempHome()
    // Plain JS under this package's node_modules, so it resolves the workspace packages like a user's program would.
    const pkg = join(dirname(fileURLToPath(import.meta.url)), "..")
    const cacheDir = join(pkg, "node_modules", ".cache", "codex-auth-keyring-tests")
    fs.mkdirSync(cacheDir, { recursive: true })
    const script = join(cacheDir, `exit-probe-${process.pid}.mjs`)
    fs.writeFileSync(
      script,
      `import { Effect, Exit } from "effect"
import { Selection } from ${JSON.stringify(pathToFileURL(join(pkg, "src", "index.ts")).href)}
import { CredentialStore } from "@codex-auth/core"
const program = Effect.gen(function*() { const s = yield* CredentialStore.CredentialStore; return yield* s.load })
Effect.runPromiseExit(Effect.provide(program, Selection.layer({ mode: "keyring", codexHome: ${JSON.stringify(home)}, keyringTimeoutMs: 500 })))
  .then((exit) => { console.log(Exit.isFailure(exit) ? "failed" : "ok"); process.exitCode = Exit.isFailure(exit) ? 3 : 0 })
`
    )
    try {
      const t0 = Date.now()
      // The workspace packages from their sources, as in the tests (see tooling/vitest/vitest.shared.ts).
      const child = spawn(process.execPath, ["--conditions=@codex-auth/source", script], {
        cwd: pkg,
        env: { ...process.env, DBUS_SESSION_BUS_ADDRESS: address },
        stdio: ["ignore", "pipe", "pipe"]
      })
      let out = ""
      let err = ""
      child.stdout.setEncoding("utf8").on("data", (d: string) => (out += d))
      child.stderr.setEncoding("utf8").on("data", (d: string) => (err += d))
      const killer = setTimeout(() => child.kill("SIGKILL"), 15_000)
      const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((r) => child.on("exit", (c, s) => r([c, s])))
      clearTimeout(killer)
      const elapsed = Date.now() - t0
      assert.strictEqual(signal, null, "the process hung and had to be killed")
      assert.strictEqual(code, 3, err)
      assert.strictEqual(out.trim(), "failed")
      assert.isBelow(elapsed, 5_000)
    } finally {
      fs.rmSync(script, { force: true })
    }
  })
})

describe("keyring failure reasons", () => {
  it.effect("no D-Bus session: DBUS_SESSION_BUS_ADDRESS unset, or a socket that is not there", () =>
    Effect.gen(function*() {
      const env = { ...process.env }
      delete env["DBUS_SESSION_BUS_ADDRESS"]
      delete env["XDG_RUNTIME_DIR"]
      const unset = yield* KeyringStore.makeKeyringStore({ codexHome: tempHome(), env })
      const e1 = storageErrorOf(yield* Effect.exit(unset.load))
      assert.include(e1.detail, "(no_dbus_session)")
      assert.include(e1.detail, "DBUS_SESSION_BUS_ADDRESS is not set")
      assert.include(e1.hint ?? "", "--store file")
      assert.include(e1.hint ?? "", "dbus-run-session")
      assert.include(e1.hint ?? "", "gnome-keyring-daemon --unlock")
      assert.include(e1.userMessage, "Could not read credentials (keyring: Codex Auth / cli|")

      const missing = yield* KeyringStore.makeKeyringStore({
        codexHome: tempHome(),
        env: { ...process.env, DBUS_SESSION_BUS_ADDRESS: `unix:path=${join(tmpdir(), `codex-auth-no-such-bus-${process.pid}`)}` }
      })
      const e2 = storageErrorOf(yield* Effect.exit(missing.save(apiDoc("sk-x"))))
      assert.include(e2.detail, "(no_dbus_session)")
      assert.include(e2.detail, "cannot connect to the D-Bus session bus")
    }))

  it.effect("a bus without a Secret Service: service_absent (keyring fails, auto falls back)", () =>
    Effect.gen(function*() {
      const { address } = yield* Effect.promise(privateBus)
      const env = { ...process.env, DBUS_SESSION_BUS_ADDRESS: address }
      const home = tempHome()
      const k = yield* KeyringStore.makeKeyringStore({ codexHome: home, env })
      const e = storageErrorOf(yield* Effect.exit(k.load))
      assert.include(e.detail, "(service_absent)")
      assert.include(e.detail, "org.freedesktop.secrets")

      const auto = yield* AutoStore.makeAutoStore({ codexHome: home, env })
      yield* auto.save(apiDoc("sk-test-absent-1"))
      const info = yield* auto.info
      assert.strictEqual(info.backend, "file")
      assert.match(info.fallbackReason ?? "", /^service_absent: /)
      const report = yield* auto.remove
      assert.deepStrictEqual(report.removed, [join(home, "auth.json")])
      assert.deepStrictEqual(report.failed, [])
      assert.isTrue(report.absent.some((a) => a.includes("no keyring in this session: service_absent")))
    }))

  it.effect("gnome-keyring with no default collection: no_default_collection on save", () =>
    Effect.gen(function*() {
      const { env } = yield* Effect.promise(() => privateKeyring(false))
      const k = yield* KeyringStore.makeKeyringStore({ codexHome: tempHome(), env })
      assert.isTrue(Option.isNone(yield* k.load), "an empty Secret Service reads as no credentials")
      const e = storageErrorOf(yield* Effect.exit(k.save(apiDoc("sk-x"))))
      assert.include(e.detail, "(no_default_collection)")
      assert.include(e.detail, "\"login\" keyring")
    }))

  it.effect("a locked collection: keyring mode fails with reason locked; auto falls back to the file and says so", () =>
    Effect.gen(function*() {
      const { env } = yield* Effect.promise(() => privateKeyring(true))
      const home = tempHome()
      const k = yield* KeyringStore.makeKeyringStore({ codexHome: home, env })
      yield* k.save(apiDoc("sk-test-before-lock-1"))
      const lock = spawnSync("dbus-send", [
        "--session",
        "--print-reply",
        "--dest=org.freedesktop.secrets",
        "/org/freedesktop/secrets",
        "org.freedesktop.Secret.Service.Lock",
        "array:objpath:/org/freedesktop/secrets/collection/login"
      ], { env, encoding: "utf8" })
      assert.strictEqual(lock.status, 0, lock.stderr)

      const e = storageErrorOf(yield* Effect.exit(k.load))
      assert.include(e.detail, "(locked)")
      assert.include(e.hint ?? "", "Unlock the keyring")

      const auto = yield* AutoStore.makeAutoStore({ codexHome: home, env })
      const { result, warnings } = yield* withWarnings(Effect.gen(function*() {
        assert.isTrue(Option.isNone(yield* auto.load), "locked keyring and no file: nothing to load")
        yield* auto.save(apiDoc("sk-test-after-lock-2"))
      }))
      assert.isTrue(Exit.isSuccess(result))
      assert.strictEqual(warnings.length, 1, "the fallback is reported once")
      assert.strictEqual(warnings[0]!.code, "CODEX_AUTH_KEYRING_FALLBACK")
      assert.include(warnings[0]!.message, "locked")
      assert.include(warnings[0]!.message, join(home, "auth.json"))
      const info = yield* auto.info
      assert.deepStrictEqual(
        { mode: info.mode, backend: info.backend, location: info.location },
        { mode: "auto", backend: "file", location: join(home, "auth.json") }
      )
      assert.match(info.fallbackReason ?? "", /^locked: the keyring is locked/)
      assert.strictEqual(keyOf(yield* auto.load), "sk-test-after-lock-2")

      // Logout cannot purge a locked keyring: the file goes, the keyring is reported as failed.
      const report = yield* auto.remove
      assert.deepStrictEqual(report.removed, [join(home, "auth.json")])
      assert.strictEqual(report.failed.length, 1)
      assert.include(report.failed[0]!.location, `Codex Auth / ${CodexHome.keyringAccount(home)}`)
      assert.include(report.failed[0]!.detail, "(locked)")
    }))

  it.effect("a read-back that differs from what was written is an error (keyring) and a fallback (auto)", () =>
    Effect.gen(function*() {
      // A Secret Service that accepts writes but returns something else (cli/cli#8691: KeePassXC).
      const helperSource = `
        let buf = ""
        process.stdin.setEncoding("utf8")
        process.stdin.on("data", (d) => {
          buf += d
          let i
          while ((i = buf.indexOf("\\n")) >= 0) {
            const req = JSON.parse(buf.slice(0, i)); buf = buf.slice(i + 1)
            const value = req.op === "get" ? '{"auth_mode":"apikey","OPENAI_API_KEY":"sk-stale"}' : req.op === "delete" ? true : null
            process.stdout.write(JSON.stringify({ id: req.id, ok: true, value }) + "\\n")
          }
        })
        process.stdin.on("end", () => process.exit(0))
      `
      const home = tempHome()
      const k = yield* KeyringStore.makeKeyringStore({ codexHome: home, helperSource })
      const e = storageErrorOf(yield* Effect.exit(k.save(apiDoc("sk-test-fresh"))))
      assert.include(e.detail, "reading them back returned different content")
      assert.notInclude(e.userMessage, "sk-")

      const auto = yield* AutoStore.makeAutoStore({ codexHome: home, helperSource })
      const { result } = yield* withWarnings(auto.save(apiDoc("sk-test-fresh")))
      assert.isTrue(Exit.isSuccess(result))
      assert.strictEqual((yield* auto.info).backend, "file")
      assert.match((yield* auto.info).fallbackReason ?? "", /^error: .*reading them back/)
      assert.strictEqual(fs.readFileSync(join(home, "auth.json"), "utf8"), AuthDotJson.toFileText(apiDoc("sk-test-fresh")))
    }))

  it.effect("file mode's logout also purges a leftover keyring entry, and reports a keyring it could not check", () =>
    Effect.gen(function*() {
      const { env } = yield* Effect.promise(() => privateKeyring(true))
      const home = tempHome()
      const k = yield* KeyringStore.makeKeyringStore({ codexHome: home, env })
      yield* k.save(apiDoc("sk-test-leftover-1"))
      const file = yield* Effect.provide(
        Effect.gen(function*() {
          const s = yield* CredentialStore.CredentialStore
          yield* s.save(apiDoc("sk-test-file-2"))
          return yield* s.remove
        }),
        Selection.layer({ mode: "file", codexHome: home, env })
      )
      assert.deepStrictEqual(file.removed, [join(home, "auth.json"), `keyring: Codex Auth / ${CodexHome.keyringAccount(home)}`])
      assert.isTrue(Option.isNone(yield* k.load))

      const address = yield* Effect.promise(unresponsiveBus)
      const hung = yield* Effect.provide(
        Effect.gen(function*() {
          const s = yield* CredentialStore.CredentialStore
          return yield* s.remove
        }),
        Selection.layer({ mode: "file", codexHome: home, env: { ...process.env, DBUS_SESSION_BUS_ADDRESS: address }, keyringTimeoutMs: 300 })
      )
      assert.strictEqual(hung.failed.length, 1)
      assert.include(hung.failed[0]!.detail, "(timeout)")
    }))
})
