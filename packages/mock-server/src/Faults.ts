/**
 * Fault injection per endpoint: added latency, HTTP 5xx/429 answers, dropped connections,
 * malformed JSON and `slow_down` answers, each applied a given number of times, in order, then
 * cleared.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"

/**
 * The endpoints a fault can target. `token` is every `POST /oauth/token`; `refresh` is only the
 * `refresh_token` grant and is consulted before `token`.
 */
export const FaultEndpoint = Schema.Literals(["authorize", "token", "refresh", "usercode", "devicetoken", "revoke", "userinfo", "jwks", "discovery"])
export type FaultEndpoint = typeof FaultEndpoint.Type

export const FaultRule = Schema.Struct({
  /** Answer with this HTTP status (e.g. 500, 503, 429) and an OpenAI-style error body. */
  status: Schema.optionalKey(Schema.Int.check(Schema.isGreaterThanOrEqualTo(400), Schema.isLessThanOrEqualTo(599))),
  /** How many requests the rule applies to (default 1). */
  times: Schema.optionalKey(Schema.Int.check(Schema.isGreaterThanOrEqualTo(1))),
  /** Delay before answering (or before dropping), in milliseconds. */
  latencyMs: Schema.optionalKey(Schema.Int.check(Schema.isGreaterThanOrEqualTo(0))),
  /** Destroy the socket without answering. */
  drop: Schema.optionalKey(Schema.Boolean),
  /** Answer 200 with a truncated JSON body. */
  malformed: Schema.optionalKey(Schema.Boolean),
  /** Answer 400 `{"error":"slow_down"}` (RFC 8628 §3.5 style). */
  slowDown: Schema.optionalKey(Schema.Boolean),
  /** `Retry-After` seconds sent with a 429/503 status. */
  retryAfterSeconds: Schema.optionalKey(Schema.Int.check(Schema.isGreaterThanOrEqualTo(0)))
})
export type FaultRule = typeof FaultRule.Type

/** What to do with one request. */
export type FaultAction =
  | { readonly _tag: "Drop"; readonly latencyMs: number }
  | { readonly _tag: "Status"; readonly latencyMs: number; readonly status: number; readonly retryAfterSeconds: number | undefined }
  | { readonly _tag: "Malformed"; readonly latencyMs: number }
  | { readonly _tag: "SlowDown"; readonly latencyMs: number }
  | { readonly _tag: "Delay"; readonly latencyMs: number }

interface Pending {
  readonly rule: FaultRule
  remaining: number
}

const toAction = (rule: FaultRule): FaultAction => {
  const latencyMs = rule.latencyMs ?? 0
  if (rule.drop === true) return { _tag: "Drop", latencyMs }
  if (rule.malformed === true) return { _tag: "Malformed", latencyMs }
  if (rule.slowDown === true) return { _tag: "SlowDown", latencyMs }
  if (rule.status !== undefined) return { _tag: "Status", latencyMs, status: rule.status, retryAfterSeconds: rule.retryAfterSeconds }
  return { _tag: "Delay", latencyMs }
}

/** The per-endpoint queues of fault rules. */
export class FaultQueue {
  readonly #queues = new Map<FaultEndpoint, Array<Pending>>()

  add(endpoint: FaultEndpoint, rules: ReadonlyArray<FaultRule>): void {
    const queue = this.#queues.get(endpoint) ?? []
    for (const rule of rules) queue.push({ rule, remaining: rule.times ?? 1 })
    this.#queues.set(endpoint, queue)
  }

  clear(endpoint?: FaultEndpoint): void {
    if (endpoint === undefined) this.#queues.clear()
    else this.#queues.delete(endpoint)
  }

  /** Takes the next action for the first endpoint (in order) that has a rule left. */
  take(endpoints: ReadonlyArray<FaultEndpoint>): FaultAction | undefined {
    for (const endpoint of endpoints) {
      const queue = this.#queues.get(endpoint)
      const head = queue?.[0]
      if (queue === undefined || head === undefined) continue
      head.remaining -= 1
      if (head.remaining <= 0) queue.shift()
      return toAction(head.rule)
    }
    return undefined
  }

  snapshot(): Record<string, ReadonlyArray<FaultRule & { readonly remaining: number }>> {
    return Object.fromEntries([...this.#queues].filter(([, q]) => q.length > 0).map(([e, q]) => [e, q.map((p) => ({ ...p.rule, remaining: p.remaining }))]))
  }
}
