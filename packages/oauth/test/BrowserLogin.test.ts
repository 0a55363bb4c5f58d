/**
 * The browser sign-in against the mock issuer on an ephemeral loopback port (the mock's
 * `allow_any_loopback_port`; the fixed ports 1455/1457 are exercised by the e2e tests):
 * stray requests and wrong states are answered and ignored, the callback page reflects the real
 * outcome, the issuer's errors end the flow, paste-back, timeout, and the exchange requests.
 */
import { Errors } from "@codex-auth/core"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Option, Queue, Redacted } from "effect"
import * as BrowserLogin from "../src/BrowserLogin.ts"
import { fetchManual, withMock } from "./support/mock.ts"

const failureOf = (exit: Exit.Exit<unknown, unknown>): unknown => {
  if (Exit.isSuccess(exit)) return undefined
  const reason = exit.cause.reasons.find((r) => r._tag === "Fail")
  return reason !== undefined && reason._tag === "Fail" ? reason.error : undefined
}

describe("BrowserLogin.run", () => {
  it.live("ignores stray and forged requests, then completes; the held callback gets the real outcome", () =>
    withMock({}, (mock) =>
      Effect.gen(function*() {
        let browser: Promise<{ stray: number; cancel: number; forged: number; forgedText: string; page: number; pageText: string; headers: Headers }> | undefined
        let info: BrowserLogin.AuthorizeInfo | undefined
        const result = yield* BrowserLogin.run(
          {
            onAuthorizeUrl: (i) =>
              Effect.sync(() => {
                info = i
                const base = `http://localhost:${i.port}`
                browser = (async () => {
                  const stray = (await fetch(`${base}/`)).status
                  const cancel = (await fetch(`${base}/cancel`)).status
                  const forgedResponse = await fetch(`${base}/auth/callback?code=forged&state=not-the-state`)
                  const forgedText = await forgedResponse.text()
                  const toCallback = await fetch(i.url, { redirect: "manual" })
                  const location = toCallback.headers.get("location")!
                  const page = await fetch(location)
                  return { stray, cancel, forged: forgedResponse.status, forgedText, page: page.status, pageText: await page.text(), headers: page.headers }
                })()
              })
          },
          { mode: "print", ports: [0], timeout: "20 seconds" },
          (signedIn) => Effect.succeed({ email: "stored", signedIn })
        )
        const seen = yield* Effect.promise(() => browser!)
        assert.strictEqual(seen.stray, 404)
        assert.strictEqual(seen.cancel, 404)
        assert.strictEqual(seen.forged, 400)
        assert.include(seen.forgedText, "not for the current sign-in")
        assert.strictEqual(seen.page, 200)
        assert.include(seen.pageText, "Signed in to Codex")
        assert.include(seen.pageText, "user@example.com")
        assert.notInclude(seen.pageText, Redacted.value(result.signedIn.tokens.idToken))
        assert.strictEqual(seen.headers.get("cache-control"), "no-store, max-age=0")
        assert.strictEqual(seen.headers.get("referrer-policy"), "no-referrer")
        assert.include(seen.headers.get("content-security-policy") ?? "", "default-src 'none'")
        assert.isTrue(info!.listening)
        assert.strictEqual(result.signedIn.via, "callback")
        assert.match(Redacted.value(result.signedIn.apiKey!), /^sk-mock-/)

        const requests = yield* mock.requests
        const exchange = requests.find((r) => r.kind === "authorization_code")!
        assert.strictEqual(exchange.status, 200)
        assert.strictEqual(exchange.headers["content-type"], "application/x-www-form-urlencoded")
        const body = exchange.body as Record<string, string>
        assert.strictEqual(body["grant_type"], "authorization_code")
        assert.strictEqual(body["redirect_uri"], `http://localhost:${info!.port}/auth/callback`)
        assert.strictEqual(body["client_id"], "app_EMoamEEZ73f0CkXaXp7hrann")
        assert.match(body["code_verifier"]!, /^redacted:/)
        const apiKey = requests.find((r) => r.kind === "token_exchange")!
        assert.strictEqual((apiKey.body as Record<string, string>)["requested_token"], "openai-api-key")
        const authorize = requests.find((r) => r.kind === "authorize")!
        assert.strictEqual(authorize.query["code_challenge_method"], "S256")
        assert.strictEqual(authorize.query["originator"], "codex_cli_rs")
      }), { autoApprove: true }))

  it.live("a failing finish (e.g. policy) reaches the browser page and the caller", () =>
    withMock({}, () =>
      Effect.gen(function*() {
        let page: Promise<string> | undefined
        const exit = yield* Effect.exit(BrowserLogin.run(
          {
            onAuthorizeUrl: (i) =>
              Effect.sync(() => {
                page = fetch(i.url, { redirect: "manual" }).then((r) => fetch(r.headers.get("location")!)).then((r) => r.text())
              })
          },
          { mode: "print", ports: [0], timeout: "20 seconds", requestApiKey: false },
          () => Effect.fail(new Errors.PolicyViolation({ rule: "forced_chatgpt_workspace_id", source: "managed: /etc/codex/managed_config.toml", detail: "workspace X is not allowed", loggedOut: false }))
        ))
        assert.strictEqual((failureOf(exit) as Errors.PolicyViolation)._tag, "PolicyViolation")
        const html = yield* Effect.promise(() => page!)
        assert.include(html, "Sign-in failed")
        assert.include(html, "workspace X is not allowed")
      }), { autoApprove: true }))

  it.live("the issuer's missing_codex_entitlement ends the flow with its own message", () =>
    withMock({ accounts: [{ email: "nocodex@example.com", codexEntitlement: false }], defaultAccount: "nocodex@example.com" }, () =>
      Effect.gen(function*() {
        let page: Promise<{ status: number; text: string }> | undefined
        const exit = yield* Effect.exit(BrowserLogin.run(
          {
            onAuthorizeUrl: (i) =>
              Effect.sync(() => {
                page = fetch(i.url, { redirect: "manual" })
                  .then((r) => fetch(r.headers.get("location")!))
                  .then(async (r) => ({ status: r.status, text: await r.text() }))
              })
          },
          { mode: "print", ports: [0], timeout: "20 seconds" },
          () => Effect.void
        ))
        const failure = failureOf(exit) as Errors.LoginFailed
        assert.strictEqual(failure.code, "missing_codex_entitlement")
        const shown = yield* Effect.promise(() => page!)
        assert.include(shown.text, "does not have access to Codex")
      }), { autoApprove: true }))

  it.live("paste-back: explains unusable pastes, accepts the redirect URL typed by the user", () =>
    withMock({}, () =>
      Effect.gen(function*() {
        const lines = yield* Queue.unbounded<string>()
        const problems: Array<string> = []
        const result = yield* BrowserLogin.run(
          {
            onAuthorizeUrl: (i) =>
              Effect.gen(function*() {
                const redirect = yield* fetchManual(i.url)
                const location = redirect.headers.get("location")!
                const forged = new URL(location)
                forged.searchParams.set("state", "someone-elses")
                yield* Queue.offer(lines, "what is this")
                yield* Queue.offer(lines, forged.toString())
                // Only the query, as some browsers show it.
                yield* Queue.offer(lines, new URL(location).search)
              }),
            readPaste: Effect.map(Queue.take(lines), Option.some),
            onPasteProblem: (message) => Effect.sync(() => void problems.push(message))
          },
          // Port 1: the listener cannot bind, so paste is the only way in (and still allowed).
          { mode: "paste", ports: [1], timeout: "20 seconds" },
          (signedIn) => Effect.succeed(signedIn)
        )
        assert.strictEqual(result.via, "paste")
        assert.strictEqual(problems.length, 2)
        assert.include(problems[0]!, "not the sign-in redirect")
        assert.include(problems[1]!, "different sign-in attempt")
        assert.strictEqual(result.redirectUri, "http://localhost:1/auth/callback")
      }), { autoApprove: true }))

  it.live("paste-back gives up after the bounded number of unusable pastes", () =>
    withMock({}, () =>
      Effect.gen(function*() {
        const lines = yield* Queue.unbounded<string>()
        for (const l of ["a", "b", "c"]) yield* Queue.offer(lines, l)
        const exit = yield* Effect.exit(BrowserLogin.run(
          { onAuthorizeUrl: () => Effect.void, readPaste: Effect.map(Queue.take(lines), Option.some) },
          { mode: "paste", ports: [0], timeout: "20 seconds", maxPasteAttempts: 3 },
          () => Effect.void
        ))
        assert.strictEqual((failureOf(exit) as Errors.LoginFailed).code, "paste_invalid")
      })))

  it.live("times out with a clear message and closes the listener", () =>
    withMock({}, () =>
      Effect.gen(function*() {
        let port = 0
        const exit = yield* Effect.exit(BrowserLogin.run(
          { onAuthorizeUrl: (i) => Effect.sync(() => void (port = i.port!)) },
          { mode: "print", ports: [0], timeout: "300 millis" },
          () => Effect.void
        ))
        const failure = failureOf(exit) as Errors.LoginFailed
        assert.strictEqual(failure.code, "timeout")
        assert.strictEqual(failure.userMessage, "Sign-in failed: no sign-in completed within 300 ms.")
        assert.include(failure.hint ?? "", "--paste")
        const after = yield* Effect.promise(() => fetch(`http://127.0.0.1:${port}/auth/callback`).then(() => "answered", () => "refused"))
        assert.strictEqual(after, "refused")
      })))
})
