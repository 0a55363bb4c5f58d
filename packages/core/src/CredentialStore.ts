/**
 * The credential cache every codex-auth program shares, as a service. Layers live in
 * `@codex-auth/storage` (file, keyring, auto, memory); core only names the contract.
 *
 * @since 0.1.0
 */
import { Context, type Effect, type Option } from "effect"
import type { AuthDocument } from "./AuthDotJson.ts"
import type { CorruptCredentials, StorageError } from "./Errors.ts"

/** Which backend holds (or would hold) the credentials, and why. */
export interface StoreInfo {
  /** What `cli_auth_credentials_store` (or `--store`) asked for. */
  readonly mode: "file" | "keyring" | "auto" | "memory"
  /** The backend actually in use. */
  readonly backend: "file" | "keyring" | "memory"
  /** `$CODEX_HOME/auth.json`, or `keyring: Codex Auth / cli|…`; never a secret. */
  readonly location: string
  /** Set in auto mode when the keyring could not be used (no D-Bus session, locked, timeout, …). */
  readonly fallbackReason: string | undefined
}

/** What `remove` did to each backend it knows. */
export interface RemoveReport {
  readonly removed: ReadonlyArray<string>
  readonly absent: ReadonlyArray<string>
  readonly failed: ReadonlyArray<{ readonly location: string; readonly detail: string }>
}

export interface CredentialStoreShape {
  readonly info: Effect.Effect<StoreInfo>
  readonly load: Effect.Effect<Option.Option<AuthDocument>, StorageError | CorruptCredentials>
  /** Atomic replace. Takes the cross-process lock unless the caller already holds it (reentrant). */
  readonly save: (doc: AuthDocument) => Effect.Effect<void, StorageError>
  /** Purges every backend (file and keyring); reports each. Fails only if nothing could be purged. */
  readonly remove: Effect.Effect<RemoveReport, StorageError>
  /**
   * Runs `self` while holding the exclusive cross-process credential lock (`auth.json.lock` in
   * CODEX_HOME, `flock`-compatible with the Codex CLI). Reentrant within one fiber tree.
   */
  readonly withLock: <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E | StorageError, R>
  /**
   * A cheap fingerprint that changes whenever the stored credentials change (for a file: inode,
   * size, mtime). Lets hot paths skip re-reading. Backends without one return a fresh value each call.
   */
  readonly fingerprint: Effect.Effect<string, StorageError>
}

export class CredentialStore extends Context.Service<CredentialStore, CredentialStoreShape>()(
  "@codex-auth/core/CredentialStore"
) {}
