/**
 * The worker's program in-process against the mock issuer, with a temporary CODEX_HOME and the
 * file store: events in order, auth.json as Codex writes it, failure events with reason codes
 * and exit codes; and argument parsing. The built worker (stdin, signals, exit codes) is tested
 * in tooling/e2e/test/worker-*.test.ts.
 */
import { ExitCode } from "@codex-auth/core"
import { MockIssuer } from "@codex-auth/mock-server"
import { assert, describe, it } from "@effect/vitest"
import { Cause, Effect, Exit, Result } from "effect"
import { mkdtempSync, readFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { parseArgs } from "../src/Args.ts"
import { encode, parseCommand, type WorkerEvent } from "../src/Protocol.ts"
import { failureEvent, program } from "../src/Worker.ts"

const home = () => join(mkdtempSync(join(tmpdir(), "codex-auth-worker-")), "home")
const fast = { minInterval: "50 millis", backoffInitial: "50 millis", backoffMax: "200 millis" } as const

const args = (codexHome: string, issuer: string) => {
  const parsed = parseArgs(["--codex-home", codexHome, "--issuer", issuer, "--store=file"])
  if (Result.isFailure(parsed)) throw new Error(parsed.failure.userMessage)
  return parsed.success
}

describe("worker program", () => {
  it.live("code_issued → waiting → approved → stored, and auth.json as Codex writes it", () =>
    Effect.gen(function*() {
      const mock = yield* MockIssuer
      const events: Array<WorkerEvent> = []
      const codexHome = home()
      const emit = (e: WorkerEvent) => {
        events.push(e)
        if (e.type === "waiting" && events.filter((x) => x.type === "waiting").length === 2) {
          const issued = events.find((x) => x.type === "code_issued") as Extract<WorkerEvent, { type: "code_issued" }>
          Effect.runFork(mock.control.approveDevice(issued.user_code, { email: "team@example.com" }))
        }
      }
      yield* program(args(codexHome, mock.url), emit, fast)
      assert.deepStrictEqual(events.map((e) => e.type).filter((t, i, a) => a[i - 1] !== t), ["code_issued", "waiting", "approved", "stored"])
      const issued = events[0] as Extract<WorkerEvent, { type: "code_issued" }>
      assert.strictEqual(issued.url, `${mock.url}/codex/device`)
      assert.isFalse(Number.isNaN(Date.parse(issued.expires_at)))
      const stored = events.at(-1) as Extract<WorkerEvent, { type: "stored" }>
      assert.strictEqual(stored.store, "file")
      assert.strictEqual(stored.location, join(codexHome, "auth.json"))
      assert.strictEqual(stored.email, "team@example.com")
      assert.isNull(stored.superseded_revoked)
      const auth = JSON.parse(readFileSync(join(codexHome, "auth.json"), "utf8"))
      assert.strictEqual(auth.auth_mode, "chatgpt")
      assert.isNull(auth.OPENAI_API_KEY)
      assert.deepStrictEqual(auth.tokens.oauth_provenance, { issuer: mock.url, client_id: "app_EMoamEEZ73f0CkXaXp7hrann" })
    }).pipe(Effect.provide(MockIssuer.layerTest({ device: { intervalSeconds: 0 } }))))

  it.live("device sign-in disabled → failed device_auth_disabled, exit 7; policy forbids ChatGPT → policy_violation, exit 4", () =>
    Effect.gen(function*() {
      const mock = yield* MockIssuer
      const disabled = yield* Effect.exit(program(args(home(), mock.url), () => {}, fast))
      assert.isTrue(Exit.isFailure(disabled))
      if (Exit.isFailure(disabled)) {
        const e = failureEvent(disabled.cause)
        assert.strictEqual(e.reason, "device_auth_disabled")
        assert.strictEqual(e.exit_code, ExitCode.ExitCode.LoginFailed)
        assert.include(e.hint ?? "", "--paste")
      }
      const parsed = parseArgs(["--codex-home", home(), "--issuer", mock.url, "-c", "forced_login_method=\"api\""])
      const forbidden = yield* Effect.exit(program(Result.getOrThrow(parsed), () => {}, fast))
      if (Exit.isFailure(forbidden)) {
        const e = failureEvent(forbidden.cause)
        assert.strictEqual(e.reason, "policy_violation")
        assert.strictEqual(e.exit_code, ExitCode.ExitCode.PolicyViolation)
      } else assert.fail("expected a policy violation")
      assert.strictEqual((yield* mock.requests).filter((r) => r.kind === "usercode").length, 1)
    }).pipe(Effect.provide(MockIssuer.layerTest({ deviceAuthEnabled: false }))))

  it("interruption is `cancelled` with exit 130", () => {
    const e = failureEvent(Cause.interrupt())
    assert.deepStrictEqual([e.reason, e.exit_code], ["cancelled", 130])
  })
})

describe("arguments and protocol", () => {
  it("parses flags in both spellings and rejects the rest", () => {
    const ok = parseArgs(["--codex-home=/x", "--store", "keyring", "--experimental_issuer", "https://i.example", "-c", "a=1", "--config=b=2"])
    assert.deepStrictEqual(Result.getOrThrow(ok), { codexHome: "/x", store: "keyring", issuer: "https://i.example", clientId: undefined, config: ["a=1", "b=2"], help: false, version: false })
    assert.isTrue(Result.isFailure(parseArgs(["--store", "disk"])))
    assert.isTrue(Result.isFailure(parseArgs(["--issuer"])))
    assert.isTrue(Result.isFailure(parseArgs(["login"])))
  })

  it("one JSON object per line; only `cancel` is a command", () => {
    const line = encode({ type: "waiting", remaining_seconds: 12 })
    assert.strictEqual(line, "{\"type\":\"waiting\",\"remaining_seconds\":12}\n")
    assert.strictEqual(parseCommand(" CANCEL \r"), "cancel")
    assert.isUndefined(parseCommand("stop"))
  })
})
