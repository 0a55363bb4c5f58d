/**
 * `codex-auth login --with-api-key`: the key is read from stdin only (never argv, where other
 * users can see it in `ps`), checked against policy, and stored as Codex stores it.
 *
 * @since 0.1.0
 */
import { AuthDotJson, AuthPolicy, CredentialStore, Errors, SafeText } from "@codex-auth/core"
import { Effect, Redacted } from "effect"
import { stderr } from "../Output.ts"

const readStdin = Effect.callback<string, Errors.UsageError>((resume) => {
  const chunks: Array<Buffer> = []
  let size = 0
  const onData = (chunk: Buffer) => {
    size += chunk.length
    if (size > 64 * 1024) {
      cleanup()
      resume(Effect.fail(new Errors.UsageError({
        detail: "stdin holds more than 64 KiB; that is not an API key",
        suggestion: "Pipe exactly one key (a file or a command's whole output was piped?), e.g. `printenv OPENAI_API_KEY | codex-auth login --with-api-key`."
      })))
      return
    }
    chunks.push(chunk)
  }
  const onEnd = () => {
    cleanup()
    resume(Effect.succeed(Buffer.concat(chunks).toString("utf8")))
  }
  const onError = (e: Error) => {
    cleanup()
    resume(Effect.fail(new Errors.UsageError({ detail: `could not read stdin: ${e.message}` })))
  }
  const cleanup = () => {
    process.stdin.off("data", onData).off("end", onEnd).off("error", onError)
    process.stdin.pause()
  }
  process.stdin.on("data", onData).on("end", onEnd).on("error", onError)
  process.stdin.resume()
  return Effect.sync(cleanup)
})

/** Validates what was piped in; the value itself never appears in a message. */
export const parseApiKey = (raw: string): Effect.Effect<Redacted.Redacted<string>, Errors.UsageError> => {
  const key = raw.trim()
  if (key.length === 0) {
    return Effect.fail(new Errors.UsageError({
      detail: "no API key on stdin",
      suggestion: "Pipe the key in: `printenv OPENAI_API_KEY | codex-auth login --with-api-key`."
    }))
  }
  if (/\s/.test(key) || !/^[\x21-\x7e]+$/.test(key)) {
    return Effect.fail(new Errors.UsageError({
      detail: "stdin does not hold a single API key (it has spaces, several lines or non-ASCII characters)",
      suggestion: "Pipe exactly one key, e.g. `printenv OPENAI_API_KEY | codex-auth login --with-api-key`."
    }))
  }
  return Effect.succeed(Redacted.make(key))
}

export const loginWithApiKey = Effect.fn("loginWithApiKey")(function*() {
  if (process.stdin.isTTY) {
    return yield* new Errors.UsageError({
      detail: "--with-api-key reads the key from stdin, and stdin is a terminal",
      suggestion: "Pipe the key in: `printenv OPENAI_API_KEY | codex-auth login --with-api-key` (keys are never accepted as arguments)."
    })
  }
  const policy = yield* AuthPolicy.AuthPolicy
  yield* policy.checkLogin("api")
  const key = yield* Effect.flatMap(readStdin, parseApiKey)
  const doc = AuthDotJson.fromApiKey(key)
  yield* policy.checkCredentials(doc)
  const store = yield* CredentialStore.CredentialStore
  yield* store.save(doc)
  const info = yield* store.info
  yield* stderr(SafeText.escape(`Logged in using an API key - ${AuthDotJson.maskApiKey(Redacted.value(key))} (stored in ${info.location})`))
})
