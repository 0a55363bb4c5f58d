/**
 * Enforcing the login policy on credentials that already exist, at every start of the CLI, the
 * worker and the library's AuthManager: stored credentials that break it are logged out,
 * credentials from the environment that break it make the process refuse to run. The rules
 * themselves come through the `AuthPolicy` port (`@codex-auth/policy` builds it).
 *
 * @since 0.1.0
 */
import { Effect, Option, Redacted, Result } from "effect"
import * as AuthDotJson from "./AuthDotJson.ts"
import type { AuthPolicyShape } from "./AuthPolicy.ts"
import type { CredentialStoreShape } from "./CredentialStore.ts"
import * as Errors from "./Errors.ts"

/** Credentials the environment supplies (`CODEX_API_KEY`, `CODEX_ACCESS_TOKEN`), trimmed; `undefined` when unset or blank. */
export interface EnvironmentCredentials {
  readonly apiKey: string | undefined
  readonly accessToken: string | undefined
}

/** The document `CODEX_ACCESS_TOKEN` stands for: its JWT carries the same `https://api.openai.com/auth` claims as an ID token. */
export const accessTokenDocument = (accessToken: string): AuthDotJson.AuthDocument => {
  const token = Redacted.make(accessToken)
  return {
    authMode: "chatgpt",
    apiKey: undefined,
    tokens: { idToken: token, accessToken: token, refreshToken: Redacted.make(""), accountId: undefined, extra: {} },
    lastRefresh: undefined,
    extra: {}
  }
}

const purgeAndFail = Effect.fnUntraced(function*(store: CredentialStoreShape, v: Errors.PolicyViolation) {
  const removed = yield* Effect.result(store.remove)
  if (Result.isFailure(removed)) {
    return yield* new Errors.PolicyViolation({
      rule: v.rule,
      source: v.source,
      detail: `${v.detail}; the stored credentials could not be removed (${removed.failure.userMessage})`,
      loggedOut: false
    })
  }
  const failed = removed.success.failed
  return yield* new Errors.PolicyViolation({
    rule: v.rule,
    source: v.source,
    detail: failed.length === 0
      ? v.detail
      : `${v.detail}; could not remove ${failed.map((f) => `${f.location} (${f.detail})`).join(", ")}`,
    loggedOut: true
  })
})

const envViolation = (name: string, v: Errors.PolicyViolation) =>
  new Errors.PolicyViolation({
    rule: v.rule,
    source: v.source,
    detail: `${name} is set in the environment: ${v.detail}; unset ${name}`,
    loggedOut: false
  })

/**
 * Checks each credential the environment supplies against the policy. Nothing is stored, so
 * nothing is logged out: the process must refuse to run.
 */
export const checkEnvironment = Effect.fnUntraced(function*(policy: AuthPolicyShape, env: EnvironmentCredentials) {
  if (env.apiKey !== undefined) {
    yield* policy.checkCredentials(AuthDotJson.fromApiKey(Redacted.make(env.apiKey))).pipe(
      Effect.mapError((v) => envViolation("CODEX_API_KEY", v))
    )
  }
  if (env.accessToken !== undefined) {
    yield* policy.checkCredentials(accessTokenDocument(env.accessToken)).pipe(
      Effect.mapError((v) => envViolation("CODEX_ACCESS_TOKEN", v))
    )
  }
})

/**
 * Loads the stored credentials; if they break the policy, purges every store (under the
 * credential lock, after re-reading, so a compliant login made meanwhile by another process is
 * kept) and fails with `PolicyViolation({ loggedOut: true })` (exit code 4). Then checks the
 * credentials from the environment (`checkEnvironment`). Succeeds when nothing is stored or
 * everything complies.
 *
 * Unreadable stored credentials (`CorruptCredentials`) cannot authenticate anything and are left
 * to the normal load path to report; a store that cannot be read at all fails with `StorageError`.
 */
export const enforceAtStartup = Effect.fnUntraced(function*(
  store: CredentialStoreShape,
  policy: AuthPolicyShape,
  env: EnvironmentCredentials
) {
  const loadChecked = store.load.pipe(
    Effect.catchTag("CorruptCredentials", () => Effect.succeed(Option.none<AuthDotJson.AuthDocument>())),
    Effect.flatMap((doc) => Option.isNone(doc) ? Effect.void : policy.checkCredentials(doc.value))
  )
  const first = yield* Effect.result(loadChecked)
  if (Result.isFailure(first)) {
    if (first.failure._tag === "StorageError") return yield* first.failure
    // Re-check under the lock: only purge what is stored now and still violates the policy.
    yield* store.withLock(
      Effect.gen(function*() {
        const again = yield* Effect.result(loadChecked)
        if (Result.isSuccess(again)) return
        if (again.failure._tag === "StorageError") return yield* again.failure
        return yield* purgeAndFail(store, again.failure)
      })
    )
  }
  yield* checkEnvironment(policy, env)
})
