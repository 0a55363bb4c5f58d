/**
 * Property tests for the file store and CODEX_HOME resolution: any valid document is stored as
 * exactly Codex's bytes (0600, nothing left beside it) and read back unchanged; any interleaving
 * of saves, removes and loads by concurrent fibers leaves auth.json absent or one of the saved
 * documents, and no load ever fails; CODEX_HOME resolution and the keyring account never throw.
 * (Process-level crash and concurrency tests: tooling/e2e/test/reliability-*.test.ts.)
 */
import { AuthDotJson, SafeText } from "@codex-auth/core"
import { CodexHome, FileStore } from "@codex-auth/storage"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Option, Redacted } from "effect"
import fc from "fast-check"
import * as fs from "node:fs"
import { tmpdir } from "node:os"
import { isAbsolute, join } from "node:path"

/** A token or key as codex-auth accepts one: any characters but control characters and whitespace (SafeText). */
const secret = (maxLength = 40) => fc.string({ maxLength, unit: "grapheme" }).filter((v) => v.length === 0 || SafeText.isWellFormedSecret(v))

const tempHome = () => join(fs.mkdtempSync(join(tmpdir(), "codex-auth-fs-prop-")), "home")

const unknownFields = fc.dictionary(
  fc.string({ minLength: 1, maxLength: 8 }).filter((k) => !["auth_mode", "OPENAI_API_KEY", "tokens", "last_refresh", "id_token", "access_token", "refresh_token", "account_id", "__proto__"].includes(k)),
  fc.jsonValue({ maxDepth: 2 }),
  { maxKeys: 3 }
)

const documentArb = fc.record({
  apiKey: fc.option(secret(60), { nil: undefined }),
  tokens: fc.option(fc.record({ id: secret(), access: secret(), refresh: secret(), account: fc.option(fc.string(), { nil: undefined }), extra: unknownFields }), { nil: undefined }),
  mode: fc.option(fc.constantFrom("apikey", "chatgpt"), { nil: undefined }),
  lastRefresh: fc.option(fc.string(), { nil: undefined }),
  extra: unknownFields
}).map((r): AuthDotJson.AuthDocument => ({
  authMode: r.mode,
  apiKey: r.apiKey === undefined ? undefined : Redacted.make(r.apiKey),
  tokens: r.tokens === undefined ? undefined : {
    idToken: Redacted.make(r.tokens.id),
    accessToken: Redacted.make(r.tokens.access),
    refreshToken: Redacted.make(r.tokens.refresh),
    accountId: r.tokens.account,
    extra: r.tokens.extra
  },
  lastRefresh: r.lastRefresh,
  extra: r.extra
}))

describe("FileStore (property)", () => {
  it("any valid document: Codex's exact bytes, 0600, read back unchanged, nothing left beside it", async () => {
    await fc.assert(
      fc.asyncProperty(documentArb, async (doc) => {
        const home = tempHome()
        const store = await Effect.runPromise(FileStore.makeFileStore({ codexHome: home, lockTimeoutMs: 10_000 }))
        await Effect.runPromise(store.save(doc))
        const text = fs.readFileSync(join(home, "auth.json"), "utf8")
        assert.strictEqual(text, AuthDotJson.toFileText(doc))
        assert.strictEqual(fs.statSync(join(home, "auth.json")).mode & 0o777, 0o600)
        assert.deepStrictEqual(fs.readdirSync(home).sort(), ["auth.json", "auth.json.lock", "auth.lock"])
        const back = Option.getOrThrow(await Effect.runPromise(store.load))
        assert.strictEqual(AuthDotJson.toFileText(back), text)
      }),
      { numRuns: 60 }
    )
  })

  it("concurrent fibers saving, removing and loading: every load succeeds, the end state is absent or a saved document", async () => {
    const op = fc.oneof(
      fc.nat({ max: 5 }).map((k) => ({ _tag: "save" as const, k })),
      fc.constant({ _tag: "remove" as const }),
      fc.constant({ _tag: "load" as const })
    )
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 2, maxLength: 16 }), async (ops) => {
        const home = tempHome()
        const docs = Array.from({ length: 6 }, (_, k) => AuthDotJson.fromApiKey(Redacted.make(`sk-prop-${k}-${"x".repeat(k * 500)}`)))
        const texts = docs.map(AuthDotJson.toFileText)
        const store = await Effect.runPromise(FileStore.makeFileStore({ codexHome: home, lockTimeoutMs: 10_000 }))
        const loads = await Effect.runPromise(Effect.forEach(ops, (o) => {
          switch (o._tag) {
            case "save":
              return Effect.as(store.save(docs[o.k]!), undefined)
            case "remove":
              return Effect.as(store.remove, undefined)
            case "load":
              return Effect.map(store.load, (d) => Option.map(d, AuthDotJson.toFileText))
          }
        }, { concurrency: "unbounded" }))
        for (const l of loads) if (l !== undefined && Option.isSome(l)) assert.include(texts, l.value)
        const final = fs.existsSync(join(home, "auth.json")) ? fs.readFileSync(join(home, "auth.json"), "utf8") : undefined
        if (final !== undefined) {
          assert.include(texts, final)
          assert.strictEqual(fs.statSync(join(home, "auth.json")).mode & 0o777, 0o600)
        }
        // Only loads: nothing created CODEX_HOME (a load never creates it).
        assert.deepStrictEqual(fs.existsSync(home) ? fs.readdirSync(home).filter((n) => n.includes(".tmp-")) : [], [])
      }),
      { numRuns: 40 }
    )
  })
})

describe("CODEX_HOME resolution (property)", () => {
  it("any flag and environment: an absolute path and a source; the keyring account is cli|<16 hex>", () => {
    fc.assert(
      fc.property(
        fc.option(fc.string({ maxLength: 40 }), { nil: undefined }),
        fc.option(fc.string({ maxLength: 40 }), { nil: undefined }),
        (flag, env) => {
          const r = CodexHome.resolveCodexHome(flag, env === undefined ? {} : { CODEX_HOME: env })
          assert.strictEqual(isAbsolute(r.path), true)
          assert.include(["flag", "env", "default"], r.source)
          if (flag !== undefined && flag.length > 0) assert.strictEqual(r.source, "flag")
          assert.match(CodexHome.keyringAccount(r.path), /^cli\|[0-9a-f]{16}$/)
        }
      ),
      { numRuns: 500 }
    )
  })
})
