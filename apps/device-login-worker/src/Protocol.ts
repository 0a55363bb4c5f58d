/**
 * The device-login worker's wire protocol: one JSON object per line on stdout, nothing else on
 * stdout. Every object has a `type`; consumers must ignore types and fields they do not know
 * (the protocol only grows by addition). See docs/device-login-worker.md.
 *
 * | type | when | fields |
 * |---|---|---|
 * | `code_issued` | a code exists; show it | `url`, `user_code`, `expires_at` (RFC 3339), `interval_seconds` |
 * | `waiting` | after each poll that says "not yet" | `remaining_seconds` |
 * | `retrying` | the issuer answered abnormally; the worker backs off and keeps going | `detail`, `delay_seconds` |
 * | `approved` | the user approved; the code is being exchanged | — |
 * | `stored` | credentials are stored (last line of a success) | `store`, `location`, `email`, `account_id`, `plan`, `superseded_revoked` |
 * | `failed` | the run ended without credentials (last line) | `reason`, `message`, `hint`, `exit_code` |
 *
 * @since 0.1.0
 */
import { type CredentialStore, SafeText } from "@codex-auth/core"

export type WorkerEvent =
  | {
    readonly type: "code_issued"
    readonly url: string
    readonly user_code: string
    readonly expires_at: string
    readonly interval_seconds: number
  }
  | { readonly type: "waiting"; readonly remaining_seconds: number }
  | { readonly type: "retrying"; readonly detail: string; readonly delay_seconds: number }
  | { readonly type: "approved" }
  | {
    readonly type: "stored"
    readonly store: CredentialStore.StoreBackend
    readonly location: string
    readonly email: string | null
    readonly account_id: string | null
    readonly plan: string | null
    /** `true`/`false`: a previous ChatGPT session was replaced and its refresh token was (not) revoked; `null`: nothing replaced. */
    readonly superseded_revoked: boolean | null
  }
  | {
    readonly type: "failed"
    /** Stable: a `LoginFailed` code (`device_auth_disabled`, `device_code_expired`, `access_denied`, …) or `cancelled`, `policy_violation`, `storage`, `network`, `config`, `usage`, `internal`. */
    readonly reason: string
    readonly message: string
    readonly hint: string | null
    readonly exit_code: number
  }

/**
 * One protocol line (with the trailing newline): compact JSON in which control, bidi and
 * invisible characters from outside (claims, issuer texts) are `\uXXXX` escapes (`SafeText.json`),
 * so the line decodes to the exact values and never holds a raw control character.
 */
export const encode = (event: WorkerEvent): string => `${SafeText.json(event, 0)}\n`

/** What a line on stdin asks for; anything else is ignored (and reported on stderr). */
export const parseCommand = (line: string): "cancel" | undefined => (line.trim().toLowerCase() === "cancel" ? "cancel" : undefined)
