/** Test helpers: unsigned JWTs with the OpenAI claims, credential documents, a memory CredentialStore, temp dirs. */
import { AuthDotJson, CredentialStore, Errors } from "@codex-auth/core"
import { Effect, Layer, Option, Redacted } from "effect"
import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"

export const b64url = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString("base64url")

export const makeJwt = (claims: Record<string, unknown>): string =>
  `${b64url({ alg: "none", typ: "JWT" })}.${b64url(claims)}.c2lnbmF0dXJl`

/** An ID token; `accountId: null` leaves the `chatgpt_account_id` claim out. */
export const idTokenFor = (accountId: string | null): string =>
  makeJwt({
    email: "user@example.com",
    exp: Math.floor(Date.now() / 1000) + 3600,
    "https://api.openai.com/auth": {
      chatgpt_plan_type: "team",
      ...(accountId === null ? {} : { chatgpt_account_id: accountId }),
      chatgpt_user_id: "user-abc"
    }
  })

export const apiKeyDoc = (key = "sk-test-abcdef123456"): AuthDotJson.AuthDocument => AuthDotJson.fromApiKey(Redacted.make(key))

export const chatgptDoc = (accountId: string | null): AuthDotJson.AuthDocument =>
  AuthDotJson.fromChatGptTokens({
    idToken: Redacted.make(idTokenFor(accountId)),
    accessToken: Redacted.make("at-1"),
    refreshToken: Redacted.make("rt-1"),
    now: new Date("2026-01-02T03:04:05.000Z")
  })

/** What a memory store did, for assertions. */
export interface StoreProbe {
  current: Option.Option<AuthDotJson.AuthDocument>
  removes: number
  locks: number
}

/** A tiny in-memory `CredentialStore`; `removeFails` makes `remove` fail as a broken backend would. */
export const memoryStore = (
  initial: AuthDotJson.AuthDocument | undefined,
  options: { readonly removeFails?: boolean; readonly corrupt?: boolean } = {}
): { readonly probe: StoreProbe; readonly layer: Layer.Layer<CredentialStore.CredentialStore> } => {
  const probe: StoreProbe = { current: Option.fromNullishOr(initial), removes: 0, locks: 0 }
  const layer = Layer.succeed(
    CredentialStore.CredentialStore,
    CredentialStore.CredentialStore.of({
      info: Effect.succeed({ mode: "ephemeral", backend: "ephemeral", location: "memory", fallbackReason: undefined }),
      load: options.corrupt
        ? Effect.fail(new Errors.CorruptCredentials({ location: "memory", detail: "not valid JSON" }))
        : Effect.sync(() => probe.current),
      save: (doc) => Effect.sync(() => { probe.current = Option.some(doc) }),
      probeWrite: Effect.void,
      remove: options.removeFails
        ? Effect.fail(
          new Errors.StorageError({ backend: "ephemeral", operation: "delete", location: "memory", detail: "read-only" })
        )
        : Effect.sync(() => {
          probe.removes++
          const had = Option.isSome(probe.current)
          probe.current = Option.none()
          return { removed: had ? ["memory"] : [], absent: had ? [] : ["memory"], failed: [] }
        }),
      withLock: (self) => Effect.suspend(() => { probe.locks++; return self }),
      withRefreshLock: (self) => self,
      fingerprint: Effect.sync(() => String(probe.removes))
    })
  )
  return { probe, layer }
}

export const tempDir = (prefix = "codex-auth-policy-"): string => mkdtempSync(join(tmpdir(), prefix))

/** Writes files into a fresh temp dir and returns their paths. */
export const writeFiles = (files: Record<string, string>): { readonly dir: string; readonly path: (name: string) => string } => {
  const dir = tempDir()
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text)
  return { dir, path: (name) => join(dir, name) }
}
