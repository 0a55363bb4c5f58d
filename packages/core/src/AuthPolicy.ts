/**
 * The resolved login policy as a port: `@codex-auth/policy` builds it from config.toml and managed
 * configuration; core (AuthManager) and the apps enforce it through this contract.
 *
 * @since 0.1.0
 */
import { Context, Effect, Layer } from "effect"
import type { AuthDocument } from "./AuthDotJson.ts"
import type { PolicyViolation } from "./Errors.ts"

export type LoginMethod = "chatgpt" | "api"

/** A configured value and where it came from (`/etc/codex/managed_config.toml`, `-c`, `~/.codex/config.toml`, `default`). */
export interface Sourced<A> {
  readonly value: A
  readonly source: string
}

export interface AuthPolicyShape {
  readonly forcedLoginMethod: Sourced<LoginMethod> | undefined
  /** `undefined`: any workspace. An empty list allows none. */
  readonly forcedWorkspaceIds: Sourced<ReadonlyArray<string>> | undefined
  readonly deviceAuthAllowed: Sourced<boolean>
  /** Refuses a login method before any flow starts. `device` is checked as ChatGPT plus the device switch. */
  readonly checkLogin: (method: LoginMethod | "device") => Effect.Effect<void, PolicyViolation>
  /** Checks credentials about to be stored, or already stored; `loggedOut` is false in the error. */
  readonly checkCredentials: (doc: AuthDocument) => Effect.Effect<void, PolicyViolation>
}

export class AuthPolicy extends Context.Service<AuthPolicy, AuthPolicyShape>()("@codex-auth/core/AuthPolicy") {
  /** No restrictions: for library users without managed configuration, and tests. */
  static readonly layerAllowAll = Layer.succeed(AuthPolicy, AuthPolicy.of({
    forcedLoginMethod: undefined,
    forcedWorkspaceIds: undefined,
    deviceAuthAllowed: { value: true, source: "default" },
    checkLogin: () => Effect.void,
    checkCredentials: () => Effect.void
  }))
}
