/**
 * auth.json and keyring secrets above 1 MiB are refused before they are read or parsed: a
 * storage error (exit 5) naming the file and its size, with a hint; the file is left byte- and
 * mode-identical. A file of exactly the cap is still read.
 */
import { AuthDotJson } from "@codex-auth/core"
import { AuthFile, FileStore, KeyringStore } from "@codex-auth/storage"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Redacted } from "effect"
import * as fs from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll } from "vitest"

const dirs: Array<string> = []
afterAll(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true })
})
const tempHome = () => {
  const root = fs.mkdtempSync(join(tmpdir(), "codex-auth-cap-"))
  dirs.push(root)
  const home = join(root, "home")
  fs.mkdirSync(home, { mode: 0o700 })
  return home
}

/** A valid document padded with whitespace to `size` bytes. */
const paddedDocument = (size: number) => {
  const text = AuthDotJson.toFileText(AuthDotJson.fromApiKey(Redacted.make("sk-test-abcdef123456")))
  return text + " ".repeat(size - Buffer.byteLength(text))
}

describe("auth.json size cap", () => {
  it("readAuthText refuses a file above 1 MiB with EFBIG, before reading it or changing its mode", () => {
    const home = tempHome()
    const path = join(home, "auth.json")
    fs.writeFileSync(path, paddedDocument(2 * 1024 * 1024), { mode: 0o600 })
    const before = fs.readFileSync(path)
    const error = (() => {
      try {
        AuthFile.readAuthText(path)
      } catch (e) {
        return e as NodeJS.ErrnoException & { size?: number }
      }
      return undefined
    })()
    assert.strictEqual(error?.code, "EFBIG")
    assert.strictEqual(error?.size, 2 * 1024 * 1024)
    assert.isTrue(fs.readFileSync(path).equals(before))
    assert.strictEqual(fs.statSync(path).mode & 0o777, 0o600)
  })

  it("a file of exactly 1 MiB is still read", () => {
    const home = tempHome()
    const path = join(home, "auth.json")
    fs.writeFileSync(path, paddedDocument(AuthFile.MAX_AUTH_FILE_BYTES), { mode: 0o600 })
    assert.strictEqual(Buffer.byteLength(AuthFile.readAuthText(path) ?? ""), AuthFile.MAX_AUTH_FILE_BYTES)
  })

  it("a file that grew past 1 MiB after fstat is refused, not read whole (the read stops at the cap)", () => {
    const home = tempHome()
    const path = join(home, "auth.json")
    fs.writeFileSync(path, paddedDocument(3 * 1024 * 1024), { mode: 0o600 })
    const fd = fs.openSync(path, "r")
    try {
      // As if fstat had seen the small file it was a moment before.
      const error = (() => {
        try {
          AuthFile.readBounded(fd, 400)
        } catch (e) {
          return e as NodeJS.ErrnoException & { size?: number }
        }
        return undefined
      })()
      assert.strictEqual(error?.code, "EFBIG")
      assert.strictEqual(error?.size, AuthFile.MAX_AUTH_FILE_BYTES + 1, "reading stopped one byte past the cap")
    } finally {
      fs.closeSync(fd)
    }
    const small = join(home, "small.json")
    fs.writeFileSync(small, "{\"a\": \"é\"}")
    const sfd = fs.openSync(small, "r")
    try {
      assert.strictEqual(AuthFile.readBounded(sfd, 1), "{\"a\": \"é\"}", "a stale small size hint still reads the whole file")
    } finally {
      fs.closeSync(sfd)
    }
  })

  it.effect("the file store's load fails with a storage error (exit 5) naming the file and size, with a hint", () => {
    const home = tempHome()
    const path = join(home, "auth.json")
    fs.writeFileSync(path, paddedDocument(2 * 1024 * 1024 + 1), { mode: 0o600 })
    const before = fs.readFileSync(path)
    return Effect.gen(function*() {
      const store = yield* FileStore.makeFileStore({ codexHome: home, lockTimeoutMs: 5_000 })
      const error = yield* Effect.flip(store.load)
      assert.strictEqual(error._tag, "StorageError")
      assert.strictEqual(error.exitCode, 5)
      assert.include(error.userMessage, path)
      assert.include(error.userMessage, "2097153 bytes, more than the 1 MiB a credentials file can be")
      assert.include(error.hint, `Move ${path} aside`)
      assert.include(error.hint, "codex-auth login")
      assert.isTrue(fs.readFileSync(path).equals(before))
    })
  })

  it.effect("a keyring secret above 1 MiB is refused unparsed with a storage error and a hint", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(KeyringStore.parseSecret(paddedDocument(1024 * 1024 + 1), "keyring: Codex Auth / cli|0123456789abcdef"))
      assert.strictEqual(error._tag, "StorageError")
      assert.strictEqual(error.exitCode, 5)
      assert.include(error.userMessage, "(keyring: Codex Auth / cli|0123456789abcdef)")
      assert.include(error.userMessage, "more than the 1 MiB")
      assert.include(error.hint, "logout --local-only")
      const ok = yield* KeyringStore.parseSecret(paddedDocument(1024), "keyring: x")
      assert.strictEqual(Redacted.value(ok.apiKey!), "sk-test-abcdef123456")
    }))
})
