/**
 * The worker's program: the same device-code sign-in as `codex-auth login --device-auth`
 * (`@codex-auth/oauth`), with the same configuration, policy and store selection as the CLI,
 * reporting through protocol events instead of text.
 *
 * Order: configuration → store → startup policy check → `checkLogin("device")` → code issued →
 * polls → approved → exchange → `checkCredentials` → store → revoke the superseded refresh
 * token (best-effort).
 *
 * @since 0.1.0
 */
import { AuthPolicy, Errors, ExitCode } from "@codex-auth/core"
import * as DeviceCode from "@codex-auth/oauth/DeviceCode"
import * as OAuthConfig from "@codex-auth/oauth/OAuthConfig"
import * as Persist from "@codex-auth/oauth/Persist"
import * as SignInServices from "@codex-auth/oauth/SignInServices"
import { Startup } from "@codex-auth/policy"
import { CodexHome } from "@codex-auth/storage"
import { Cause, Effect, Layer } from "effect"
import type { WorkerArgs } from "./Args.ts"
import type { WorkerEvent } from "./Protocol.ts"

/** Store, policy and configuration, as the CLI composes them, with the startup policy check. */
export const baseLayer = (args: WorkerArgs) =>
  Startup.layer({ codexHome: CodexHome.resolveCodexHome(args.codexHome).path, overrides: args.config, storeFlag: args.store })

/** Issuer/client, the TLS/proxy-aware HttpClient, and the revocation transport (as the CLI's sign-in). */
export const oauthLayer = (args: WorkerArgs) => SignInServices.layer({ issuer: args.issuer, clientId: args.clientId })

const seconds = (ms: number) => Math.max(0, Math.round(ms / 1000))

/** Runs the sign-in, emitting protocol events; fails with the error that ended it. */
export const program = (args: WorkerArgs, emit: (event: WorkerEvent) => void, options: DeviceCode.DeviceFlowOptions = {}) =>
  Effect.gen(function*() {
    const policy = yield* AuthPolicy.AuthPolicy
    yield* policy.checkLogin("device")
    const config = yield* OAuthConfig.OAuthConfig
    const tokens = yield* DeviceCode.run({
      onCodeIssued: (code) =>
        Effect.sync(() =>
          emit({
            type: "code_issued",
            url: code.verificationUrl,
            user_code: code.userCode,
            expires_at: code.expiresAt.toISOString(),
            interval_seconds: code.intervalMs / 1000
          })
        ),
      onWaiting: (info) => Effect.sync(() => emit({ type: "waiting", remaining_seconds: seconds(info.remainingMs) })),
      onRetrying: (info) => Effect.sync(() => emit({ type: "retrying", detail: info.detail, delay_seconds: info.delayMs / 1000 })),
      onApproved: () => Effect.sync(() => emit({ type: "approved" }))
    }, options)
    const result = yield* Persist.persist({ tokens, provenance: { issuer: config.issuer, clientId: config.clientId } })
    emit({
      type: "stored",
      store: result.store.backend,
      location: result.store.location,
      email: result.claims?.email ?? null,
      account_id: result.claims?.accountId ?? null,
      plan: result.claims?.planType ?? null,
      superseded_revoked: result.superseded === undefined ? null : result.superseded._tag === "Revoked"
    })
    return result
  }).pipe(Effect.provide(Layer.merge(baseLayer(args), oauthLayer(args))))

const REASONS: Record<string, string> = {
  PolicyViolation: "policy_violation",
  StorageError: "storage",
  CorruptCredentials: "storage",
  NetworkError: "network",
  TlsConfigError: "network",
  ProxyConfigError: "network",
  ConfigError: "config",
  UsageError: "usage",
  ReauthRequired: "reauth_required"
}

/** The `failed` event for a run that ended without credentials. */
export const failureEvent = (cause: Cause.Cause<unknown>): Extract<WorkerEvent, { type: "failed" }> => {
  if (Cause.hasInterruptsOnly(cause)) {
    return { type: "failed", reason: "cancelled", message: "The sign-in was cancelled.", hint: null, exit_code: ExitCode.ExitCode.Interrupted }
  }
  const error = Cause.squash(cause)
  if (Errors.isUserFacing(error)) {
    const tag = (error as { readonly _tag?: string })._tag ?? ""
    const reason = error instanceof Errors.LoginFailed ? error.code : REASONS[tag] ?? "error"
    return { type: "failed", reason, message: error.userMessage, hint: error.hint ?? null, exit_code: error.exitCode }
  }
  return {
    type: "failed",
    reason: "internal",
    message: `unexpected error: ${error instanceof Error ? error.message : String(error)}`,
    hint: "This is a bug in codex-auth; please report it (never include tokens).",
    exit_code: ExitCode.ExitCode.Internal
  }
}
