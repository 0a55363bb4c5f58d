/**
 * The credential cache every codex-auth program shares, as a service. Layers live in
 * `@codex-auth/storage` (file, keyring, auto, ephemeral); core only names the contract.
 *
 * @since 0.1.0
 */
import { Context, type Effect, type Option } from "effect"
import type { AuthDocument } from "./AuthDotJson.ts"
import type { CorruptCredentials, StorageError } from "./Errors.ts"

/**
 * `cli_auth_credentials_store`, in the Codex CLI's words: the one spelling of a store mode for
 * configuration, flags, `login status`, errors and the device-login worker's protocol.
 * `ephemeral` keeps the credentials in this process's memory only.
 */
export type StoreMode = "file" | "keyring" | "auto" | "ephemeral"

/** The backend a mode resolves to (`auto` picks the keyring or the file). */
export type StoreBackend = Exclude<StoreMode, "auto">

/** Which backend holds (or would hold) the credentials, and why. */
export interface StoreInfo {
  /** What `cli_auth_credentials_store` (or `--store`) asked for. */
  readonly mode: StoreMode
  /** The backend actually in use. */
  readonly backend: StoreBackend
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
  /**
   * Proves that a save (and a removal) can happen now, changing nothing stored: the location is
   * the user's own and writable, with room for a document (a file store writes, fsyncs and
   * removes a temp file the size of one), and a keyring answers. Called before a refresh POST and
   * before a logout revokes, so a refresh token is never spent when its successor cannot be
   * stored, and a revoked session is never left on disk.
   */
  readonly probeWrite: Effect.Effect<void, StorageError>
  /** Purges every backend (file and keyring); reports each. Fails only if nothing could be purged. */
  readonly remove: Effect.Effect<RemoveReport, StorageError>
  /**
   * Runs `self` while holding the commit lock: the Codex CLI's own `auth.lock` then
   * `auth.json.lock` in CODEX_HOME (`flock(2)` / `LockFileEx`). Every write of credentials by
   * anyone happens under it, so `self` must be short: a re-read and a write, never a network call
   * (the real Codex gives up on `auth.json.lock` after about 5 s). Reentrant within one fiber tree.
   */
  readonly withLock: <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E | StorageError, R>
  /**
   * Runs `self` while holding codex-auth's refresh lock (`codex-auth-refresh.lock` in CODEX_HOME,
   * which the Codex CLI never waits on): one refresh POST at a time among codex-auth processes and
   * fibers. While another holder has it, `whileWaiting` runs each time the stored credentials may
   * have changed; a value from it ends the wait without running `self` (another process already
   * refreshed). Reentrant within one fiber tree; take it before `withLock`, never inside.
   */
  readonly withRefreshLock: <A, E, R, E2 = never, R2 = never>(
    self: Effect.Effect<A, E, R>,
    whileWaiting?: Effect.Effect<Option.Option<A>, E2, R2>
  ) => Effect.Effect<A, E | E2 | StorageError, R | R2>
  /**
   * A cheap fingerprint that changes whenever the stored credentials change (for a file: inode,
   * size, mtime). Lets hot paths skip re-reading. Backends without one return a fresh value each call.
   */
  readonly fingerprint: Effect.Effect<string, StorageError>
}

export class CredentialStore extends Context.Service<CredentialStore, CredentialStoreShape>()(
  "@codex-auth/core/CredentialStore"
) {}
