/**
 * The HTTP control API under `/_harness/` (JSON in, JSON out): approve or deny device codes and
 * browser sign-ins, read recorded requests, revoke, expire or mint tokens, set faults and the
 * clock offset, reset, and read the configuration. Documented with curl examples in
 * `docs/mock-server.md`.
 *
 * **Gotchas**
 *
 * The control API has no authentication: it is meant for a mock bound to loopback. Control
 * requests are neither recorded nor subject to faults.
 *
 * @since 0.1.0
 */
import { Result, Schema } from "effect"
import { FaultEndpoint, FaultRule } from "./Faults.ts"
import { type ControlResult, type IssuerEngine, type MockRequest, type MockResponse, parseBody } from "./Issuer.ts"
import { normaliseKeys } from "./MockConfig.ts"

export const CONTROL_PREFIX = "/_harness/"

const Optional = Schema.optionalKey

const DeviceChoice = Schema.Struct({ userCode: Schema.NonEmptyString, email: Optional(Schema.String), workspaceId: Optional(Schema.String) })
const DeviceDeny = Schema.Struct({ userCode: Schema.NonEmptyString })
const AuthorizeApprove = Schema.Struct({ session: Optional(Schema.String), email: Optional(Schema.String), workspaceId: Optional(Schema.String) })
const AuthorizeDeny = Schema.Struct({ session: Optional(Schema.String), reason: Optional(Schema.Literals(["access_denied", "missing_codex_entitlement"])) })
const RevokeAccount = Schema.Struct({ email: Schema.NonEmptyString })
const Expire = Schema.Struct({ email: Optional(Schema.String), access: Optional(Schema.Boolean), refresh: Optional(Schema.Boolean) })
const Mint = Schema.Struct({
  email: Optional(Schema.String),
  workspaceId: Optional(Schema.String),
  accessTokenTtlSeconds: Optional(Schema.Int),
  idTokenTtlSeconds: Optional(Schema.Int)
})
const Faults = Schema.Struct({ endpoint: FaultEndpoint, rules: Schema.Array(FaultRule) })
const FaultsClear = Schema.Struct({ endpoint: Optional(FaultEndpoint) })
const Clock = Schema.Struct({ offsetSeconds: Schema.Finite })
const AutoApprove = Schema.Struct({ enabled: Schema.Boolean })

const reply = (status: number, body: unknown): MockResponse => ({ _tag: "Json", status, body, headers: { "cache-control": "no-store" } })

const decodeBody = <S extends Schema.Decoder<unknown>>(schema: S, req: MockRequest): Result.Result<S["Type"], MockResponse> => {
  const normalised = normaliseKeys(parseBody(req) ?? {})
  const decoded = Schema.decodeUnknownResult(schema as Schema.Decoder<S["Type"]>)(normalised, { onExcessProperty: "error", errors: "all" })
  return Result.isFailure(decoded)
    ? Result.fail(reply(400, { error: { code: "invalid_request", message: `Invalid body for ${req.method} ${req.path}: ${decoded.failure.message.replace(/\n\s*/g, " ")}` } }))
    : Result.succeed(decoded.success)
}

const fromControl = <A>(result: ControlResult<A>): MockResponse =>
  result.ok ? reply(200, result.value) : reply(result.failure.status, { error: { code: result.failure.code, message: result.failure.message } })

const withBody = <S extends Schema.Decoder<unknown>>(schema: S, req: MockRequest, f: (body: S["Type"]) => MockResponse): MockResponse => {
  const body = decodeBody(schema, req)
  return Result.isFailure(body) ? body.failure : f(body.success)
}

/** Handles one `/_harness/*` request. */
export const handle = (engine: IssuerEngine, req: MockRequest): MockResponse => {
  const route = `${req.method} ${req.path.slice(CONTROL_PREFIX.length - 1)}`
  switch (route) {
    case "GET /health":
      return reply(200, { ok: true, issuer: engine.issuer })
    case "GET /config":
      return reply(200, engine.config())
    case "GET /requests": {
      const kind = req.query.get("kind")
      const since = Number(req.query.get("since") ?? "0")
      return reply(200, engine.requests().filter((r) => (kind === null || r.kind === kind) && r.seq > since))
    }
    case "DELETE /requests":
      engine.clearRequests()
      return reply(200, { ok: true })
    case "GET /outbox":
      return reply(200, engine.outbox())
    case "GET /device":
      return reply(200, engine.devices())
    case "POST /device/approve":
      return withBody(DeviceChoice, req, (b) => fromControl(engine.approveDevice(b.userCode, b)))
    case "POST /device/deny":
      return withBody(DeviceDeny, req, (b) => fromControl(engine.denyDevice(b.userCode)))
    case "GET /authorize/pending":
      return reply(200, engine.pendingAuthorizations())
    case "POST /authorize/approve":
      return withBody(AuthorizeApprove, req, (b) => fromControl(engine.approveAuthorization(b)))
    case "POST /authorize/deny":
      return withBody(AuthorizeDeny, req, (b) => fromControl(engine.denyAuthorization(b)))
    case "POST /tokens/revoke":
      return withBody(RevokeAccount, req, (b) => fromControl(engine.revokeAccount(b.email)))
    case "POST /tokens/expire":
      return withBody(Expire, req, (b) => fromControl(engine.expireTokens(b)))
    case "POST /tokens/mint":
      return withBody(Mint, req, (b) => fromControl(engine.mintTokens(b)))
    case "GET /faults":
      return reply(200, engine.faults.snapshot())
    case "POST /faults":
      return withBody(Faults, req, (b) => {
        engine.faults.add(b.endpoint, b.rules)
        return reply(200, engine.faults.snapshot())
      })
    case "DELETE /faults":
      return withBody(FaultsClear, req, (b) => {
        engine.faults.clear(b.endpoint)
        return reply(200, engine.faults.snapshot())
      })
    case "POST /clock":
      return withBody(Clock, req, (b) => {
        engine.setClockOffset(b.offsetSeconds)
        return reply(200, { offsetSeconds: b.offsetSeconds, now: new Date(engine.now()).toISOString() })
      })
    case "GET /clock":
      return reply(200, { offsetSeconds: engine.config().clockOffsetSeconds, now: new Date(engine.now()).toISOString() })
    case "POST /auto-approve":
      return withBody(AutoApprove, req, (b) => {
        engine.setAutoApprove(b.enabled)
        return reply(200, { autoApprove: b.enabled })
      })
    case "POST /reset":
      engine.reset()
      return reply(200, { ok: true })
    default:
      return reply(404, { error: { code: "not_found", message: `No control route ${req.method} ${req.path}. See docs/mock-server.md.` } })
  }
}
