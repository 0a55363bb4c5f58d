/**
 * One soak worker process: for a bounded time it logs in (stores a fresh ChatGPT grant), refreshes
 * (under the refresh lock: load → `POST /oauth/token` with the stored refresh token → save the
 * rotated tokens, as the AuthManager does), reads status (load, no lock) and logs out (remove under
 * the lock, then revoke) on one CODEX_HOME shared with other workers, against the mock issuer.
 *
 * Input (stdin, one JSON document: tokens never travel in argv): `SoakWorkerInput`.
 * Output (stdout, one JSON line at the end): `SoakWorkerReport`.
 *
 * `kind: "nolock"` refreshes without holding the lock around load → POST → save: the teeth check.
 */
import * as fs from "node:fs"
import { AuthDotJson, type Errors } from "@codex-auth/core"
import { FileStore } from "@codex-auth/storage"
import { Cause, Effect, Exit, Option, Redacted } from "effect"

export interface SoakGrant {
  readonly id_token: string
  readonly access_token: string
  readonly refresh_token: string
}

export interface SoakWorkerInput {
  readonly codexHome: string
  readonly issuer: string
  readonly clientId: string
  readonly durationMs: number
  readonly kind: "safe" | "nolock"
  /** Relative weights of the operations. */
  readonly weights: { readonly refresh: number; readonly status: number; readonly login: number; readonly logout: number }
  /** Fresh grants this worker alone may log in with (each used once). */
  readonly grants: ReadonlyArray<SoakGrant>
}

export interface SoakWorkerReport {
  readonly operations: Readonly<Record<string, number>>
  readonly failures: Readonly<Record<string, number>>
  /** Milliseconds spent waiting for the credential lock, one entry per locked operation. */
  readonly lockWaits: ReadonlyArray<number>
}

const input = JSON.parse(fs.readFileSync(0, "utf8")) as SoakWorkerInput
const store = await Effect.runPromise(FileStore.makeFileStore({ codexHome: input.codexHome, lockTimeoutMs: 60_000 }))
const operations: Record<string, number> = {}
const failures: Record<string, number> = {}
const lockWaits: Array<number> = []
const count = (bag: Record<string, number>, key: string) => (bag[key] = (bag[key] ?? 0) + 1)

/**
 * Runs `body` under the lock codex-auth takes around a session change that may touch the network
 * (refresh, login, logout): its refresh lock; the writes inside take Codex's commit locks.
 * Records how long the lock took.
 */
const locked = <A, E>(body: Effect.Effect<A, E>) => {
  const asked = performance.now()
  return store.withRefreshLock(Effect.suspend(() => {
    lockWaits.push(performance.now() - asked)
    return body
  }))
}

const docFor = (g: SoakGrant) =>
  AuthDotJson.fromChatGptTokens({
    idToken: Redacted.make(g.id_token),
    accessToken: Redacted.make(g.access_token),
    refreshToken: Redacted.make(g.refresh_token),
    provenance: { issuer: input.issuer, clientId: input.clientId },
    now: new Date()
  })

const post = (path: string, body: unknown) =>
  Effect.promise(async () => {
    const res = await fetch(`${input.issuer}${path}`, {
      method: "POST",
      headers: { "content-type": "application/json", originator: "codex_cli_rs" },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(10_000)
    })
    const text = await res.text()
    let json: Record<string, unknown> = {}
    try {
      json = JSON.parse(text) as Record<string, unknown>
    } catch {
      // not JSON
    }
    return { status: res.status, json }
  })

const errorCode = (json: Record<string, unknown>): string => {
  const e = json["error"]
  if (typeof e === "string") return e
  if (typeof e === "object" && e !== null && typeof (e as Record<string, unknown>)["code"] === "string") return (e as Record<string, string>)["code"]!
  return "unknown"
}

/** load → refresh at the issuer → save: the read-modify-write the lock protects. */
const refreshBody: Effect.Effect<string, Errors.StorageError | Errors.CorruptCredentials> = Effect.gen(function*() {
  const current = yield* store.load
  if (Option.isNone(current) || current.value.tokens === undefined) return "refresh-skipped"
  const res = yield* post("/oauth/token", {
    client_id: input.clientId,
    grant_type: "refresh_token",
    refresh_reason: "proactive_expiry",
    refresh_token: Redacted.value(current.value.tokens.refreshToken)
  })
  if (res.status !== 200) {
    count(failures, `refresh:${errorCode(res.json)}`)
    return "refresh-failed"
  }
  const t = res.json as unknown as SoakGrant
  yield* store.save(docFor(t))
  return "refresh"
})

let nextGrant = 0
const runOp = (op: keyof SoakWorkerInput["weights"]): Effect.Effect<string, unknown> => {
  switch (op) {
    case "refresh":
      return input.kind === "nolock" ? refreshBody : locked(refreshBody)
    case "status":
      return Effect.as(store.load, "status")
    case "login": {
      const g = input.grants[nextGrant++]
      return g === undefined ? Effect.succeed("login-skipped") : Effect.as(locked(store.save(docFor(g))), "login")
    }
    case "logout":
      return Effect.gen(function*() {
        const removed = yield* locked(Effect.gen(function*() {
          const doc = yield* store.load
          yield* store.remove
          return doc
        }))
        const rt = Option.isSome(removed) ? removed.value.tokens?.refreshToken : undefined
        if (rt !== undefined) {
          yield* post("/oauth/revoke", { token: Redacted.value(rt), token_type_hint: "refresh_token", client_id: input.clientId })
        }
        return "logout"
      })
  }
}

const ops = Object.entries(input.weights).flatMap(([op, w]) => Array.from({ length: w }, () => op as keyof SoakWorkerInput["weights"]))
const deadline = Date.now() + input.durationMs
while (Date.now() < deadline) {
  const op = ops[Math.floor(Math.random() * ops.length)] ?? "status"
  const exit = await Effect.runPromiseExit(runOp(op))
  if (Exit.isSuccess(exit)) count(operations, exit.value)
  else {
    const e = Cause.pretty(exit.cause)
    count(failures, `${op}:${/CorruptCredentials/.test(e) ? "torn_read" : /lock/.test(e) ? "lock" : "error"}`)
  }
}
process.stdout.write(`${JSON.stringify({ operations, failures, lockWaits } satisfies SoakWorkerReport)}\n`)
