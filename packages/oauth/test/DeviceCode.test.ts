/**
 * The device-code flow against the mock issuer, with faults injected through its control API:
 * 403 pending, 429/503/dropped connections backed off without giving up, usercode 404 failing
 * fast, denial, expiry (the issuer's and our own deadline), and the code exchange with the
 * device redirect URI. Intervals are small (the mock's interval is 0 s, our floor 50 ms).
 */
import type { Errors } from "@codex-auth/core"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Redacted } from "effect"
import * as DeviceCode from "../src/DeviceCode.ts"
import { withMock } from "./support/mock.ts"

const fast: DeviceCode.DeviceFlowOptions = { minInterval: "50 millis", backoffInitial: "50 millis", backoffMax: "400 millis" }

const failureOf = (exit: Exit.Exit<unknown, unknown>) =>
  Exit.isFailure(exit) ? (exit.cause.reasons.find((r) => r._tag === "Fail") as { error: Errors.LoginFailed } | undefined)?.error : undefined

interface Log {
  issued: Array<DeviceCode.DeviceCode>
  waiting: number
  retrying: Array<{ detail: string; delayMs: number }>
  approved: number
}

const recorder = (onIssued: (code: DeviceCode.DeviceCode) => Effect.Effect<void> = () => Effect.void) => {
  const log: Log = { issued: [], waiting: 0, retrying: [], approved: 0 }
  const hooks: DeviceCode.DeviceFlowHooks = {
    onCodeIssued: (c) => Effect.andThen(Effect.sync(() => void log.issued.push(c)), onIssued(c)),
    onWaiting: () => Effect.sync(() => void log.waiting++),
    onRetrying: (i) => Effect.sync(() => void log.retrying.push(i)),
    onApproved: () => Effect.sync(() => void log.approved++)
  }
  return { log, hooks }
}

describe("DeviceCode", () => {
  it.live("pending (403) until approved via the control API, then exchanged with the device redirect URI", () =>
    withMock({ device: { intervalSeconds: 0 } }, (mock) =>
      Effect.gen(function*() {
        const { hooks, log } = recorder((code) =>
          // The user approves a little later.
          Effect.sleep("300 millis").pipe(Effect.andThen(mock.control.approveDevice(code.userCode, { email: "team@example.com" })), Effect.orDie, Effect.forkDetach, Effect.asVoid)
        )
        const tokens = yield* DeviceCode.run(hooks, fast)
        assert.strictEqual(log.issued.length, 1)
        const code = log.issued[0]!
        assert.match(code.userCode, /^[A-Z0-9]{4}-[A-Z0-9]{4}$/)
        assert.strictEqual(code.verificationUrl, `${mock.url}/codex/device`)
        assert.isAtMost(code.expiresAt.getTime() - Date.now(), DeviceCode.MAX_WAIT_MS)
        assert.isAbove(log.waiting, 0)
        assert.strictEqual(log.approved, 1)
        assert.strictEqual(Redacted.value(tokens.idToken).split(".").length, 3)

        const requests = yield* mock.requests
        const usercode = requests.find((r) => r.kind === "usercode")!
        assert.deepStrictEqual(usercode.body, { client_id: "app_EMoamEEZ73f0CkXaXp7hrann" })
        assert.include(usercode.headers["content-type"] ?? "", "application/json")
        const polls = requests.filter((r) => r.kind === "devicetoken")
        assert.isTrue(polls.some((p) => p.status === 403))
        assert.strictEqual(polls.at(-1)!.status, 200)
        const exchange = requests.find((r) => r.kind === "authorization_code")!
        assert.strictEqual(exchange.status, 200)
        assert.strictEqual((exchange.body as Record<string, string>)["redirect_uri"], `${mock.url}/deviceauth/callback`)
      })))

  it.live("429, 503 and a dropped connection back off and keep polling", () =>
    withMock({ device: { intervalSeconds: 0 } }, (mock) =>
      Effect.gen(function*() {
        yield* mock.control.setFaults("devicetoken", [{ status: 429, retryAfterSeconds: 0 }, { status: 503 }, { drop: true }, { malformed: true }])
        const { hooks, log } = recorder((code) => Effect.orDie(mock.control.approveDevice(code.userCode)).pipe(Effect.asVoid))
        yield* DeviceCode.run(hooks, fast)
        assert.strictEqual(log.retrying.length, 4)
        assert.include(log.retrying[0]!.detail, "429")
        assert.include(log.retrying[1]!.detail, "503")
        // Capped exponential: 50, 100, 200, 400 ms.
        assert.deepStrictEqual(log.retrying.map((r) => r.delayMs), [50, 100, 200, 400])
        const faults = (yield* mock.requests).filter((r) => r.kind === "devicetoken").map((r) => r.fault ?? r.status)
        assert.deepStrictEqual(faults, ["status:429", "status:503", "drop", "malformed", 200])
      })))

  it.live("usercode 404 (device sign-in disabled) fails fast and names the other ways in", () =>
    withMock({ deviceAuthEnabled: false }, (mock) =>
      Effect.gen(function*() {
        const { hooks, log } = recorder()
        const failure = failureOf(yield* Effect.exit(DeviceCode.run(hooks, fast)))
        assert.strictEqual(failure?.code, "device_auth_disabled")
        assert.include(failure?.hint ?? "", "codex-auth login --paste")
        assert.strictEqual(log.issued.length, 0)
        assert.strictEqual((yield* mock.requests).filter((r) => r.kind === "usercode").length, 1)
      })))

  it.live("a transient usercode failure is retried", () =>
    withMock({ device: { intervalSeconds: 0 } }, (mock) =>
      Effect.gen(function*() {
        yield* mock.control.setFaults("usercode", [{ status: 503 }])
        const code = yield* DeviceCode.requestDeviceCode(fast)
        assert.match(code.userCode, /-/)
      })))

  it.live("denied → access_denied; device login disabled for the approving account → fails at once", () =>
    withMock({ device: { intervalSeconds: 0 }, accounts: [{ email: "user@example.com" }, { email: "nodevice@example.com", deviceLogin: false }] }, (mock) =>
      Effect.gen(function*() {
        const denied = recorder((code) => Effect.orDie(mock.control.denyDevice(code.userCode)).pipe(Effect.asVoid))
        assert.strictEqual(failureOf(yield* Effect.exit(DeviceCode.run(denied.hooks, fast)))?.code, "access_denied")
        const disabled = recorder((code) => Effect.orDie(mock.control.approveDevice(code.userCode, { email: "nodevice@example.com" })).pipe(Effect.asVoid))
        assert.strictEqual(failureOf(yield* Effect.exit(DeviceCode.run(disabled.hooks, fast)))?.code, "device_auth_disabled")
      })))

  it.live("expiry: the issuer's expired_token, and our own deadline even while the issuer keeps failing", () =>
    withMock({ device: { intervalSeconds: 0, expirySeconds: 1 } }, (mock) =>
      Effect.gen(function*() {
        const { hooks } = recorder()
        const expired = failureOf(yield* Effect.exit(DeviceCode.run(hooks, fast)))
        assert.strictEqual(expired?.code, "device_code_expired")

        yield* mock.control.setFaults("devicetoken", [{ status: 503, times: 1000 }])
        const started = Date.now()
        const busy = recorder()
        const deadline = failureOf(yield* Effect.exit(DeviceCode.run(busy.hooks, { ...fast, maxWait: "700 millis" })))
        assert.strictEqual(deadline?.code, "device_code_expired")
        assert.isAtLeast(Date.now() - started, 650)
        assert.isAbove(busy.log.retrying.length, 1)
      })))

  it("decodePollResponse follows Codex's protocol", () => {
    assert.strictEqual(DeviceCode.decodePollResponse(403, "")._tag, "Pending")
    assert.strictEqual(DeviceCode.decodePollResponse(404, "{}")._tag, "Pending")
    assert.strictEqual(DeviceCode.decodePollResponse(400, `{"error":"slow_down"}`)._tag, "SlowDown")
    assert.strictEqual(DeviceCode.decodePollResponse(502, "")._tag, "Transient")
    assert.strictEqual(DeviceCode.decodePollResponse(200, `{"authorization_code":"c"`)._tag, "Transient")
    const ok = DeviceCode.decodePollResponse(200, `{"authorization_code":"c","code_challenge":"x","code_verifier":"v"}`)
    assert.strictEqual(ok._tag, "Approved")
    const weird = DeviceCode.decodePollResponse(400, `{"error":{"code":"something_else","message":"no"}}`)
    assert.strictEqual(weird._tag === "Failed" && weird.failure.code, "device_auth_failed")
  })

  it("a user_code that is not a code (escape sequences, spaces, too long) is a network error with a hint, never shown", () => {
    const config = { issuer: "https://auth.example.test", clientId: "c", originator: "o", userAgent: "u" }
    for (const userCode of ["AB\u001b[2JCD", "ABCD EFGH", "X".repeat(40), "ab"]) {
      const r = DeviceCode.decodeUserCodeResponse(config, 200, JSON.stringify({ device_auth_id: "d", user_code: userCode }), 0)
      assert.strictEqual(r._tag, "Failure")
      if (r._tag === "Failure") {
        assert.strictEqual(r.failure.exitCode, 6)
        assert.include(r.failure.userMessage, "is not a device code")
        assert.notInclude(r.failure.userMessage, userCode)
        assert.include(r.failure.hint ?? "", "codex-auth login --device-auth")
      }
    }
    const missing = DeviceCode.decodeUserCodeResponse(config, 200, "{}", 0)
    assert.include(missing._tag === "Failure" ? missing.failure.hint ?? "" : "", "--issuer")
  })

  it("decodeUserCodeResponse accepts a string interval and caps the expiry at 15 minutes", () => {
    const config = { issuer: "https://auth.example.test", clientId: "c", originator: "o", userAgent: "u" }
    const now = Date.parse("2030-01-01T00:00:00Z")
    const r = DeviceCode.decodeUserCodeResponse(config, 200, JSON.stringify({ device_auth_id: "d", user_code: "ABCD-EFGH", interval: "7", expires_at: "2030-01-01T01:00:00Z" }), now)
    assert.strictEqual(r._tag, "Success")
    if (r._tag === "Success") {
      assert.strictEqual(r.success.intervalMs, 7000)
      assert.strictEqual(r.success.expiresAt.getTime(), now + 15 * 60_000)
      assert.strictEqual(r.success.verificationUrl, "https://auth.example.test/codex/device")
    }
    const noInterval = DeviceCode.decodeUserCodeResponse(config, 200, JSON.stringify({ device_auth_id: "d", user_code: "ABCD-EFGH" }), now)
    assert.strictEqual(noInterval._tag === "Success" && noInterval.success.intervalMs, 5000)
  })
})
