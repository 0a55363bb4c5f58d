/**
 * Picks the credential backend for `cli_auth_credentials_store` / `--store`: `file`, `keyring`
 * (fails clearly when the keyring is unavailable), `auto` (keyring first, file as fallback) or
 * `ephemeral` (this process's memory, nothing written).
 *
 * Whatever the mode, `remove` (logout, policy-driven logout) purges every store: in file mode it
 * also deletes this CODEX_HOME's keyring entry when a keyring is reachable — a leftover from an
 * earlier keyring or auto run must not outlive a logout. Where no keyring can exist (no D-Bus
 * session, no Secret Service), that is reported as absent; a keyring that could not be checked
 * (locked, timeout) is reported as failed.
 *
 * @since 0.1.0
 */
import type { CredentialStore, Errors } from "@codex-auth/core"
import { CredentialStore as Port } from "@codex-auth/core"
import { Effect, Layer } from "effect"
import * as FileStore from "./FileStore.ts"
import * as MemoryStore from "./MemoryStore.ts"
import type * as KeyringStore from "./KeyringStore.ts"

// The keyring and auto backends are imported when they are used: in file mode only `remove`
// needs the keyring (to purge a leftover entry), so `login status` and `token` never evaluate them.
const keyringStore = () => import("./KeyringStore.ts")
const autoStore = () => import("./AutoStore.ts")

/** The modes `--store` offers (configuration may also say `ephemeral`). */
export type StoreFlag = Exclude<CredentialStore.StoreMode, "ephemeral">

export interface SelectionOptions {
  readonly mode: CredentialStore.StoreMode
  readonly codexHome: string
  readonly lockTimeoutMs?: number
  /** Keyring read timeout (ms); default CODEX_AUTH_KEYRING_TIMEOUT_MS, else 3000. */
  readonly keyringTimeoutMs?: number
  /** Environment of the keyring helper (D-Bus address); default `process.env`. */
  readonly env?: NodeJS.ProcessEnv
  /** File mode: also purge the keyring entry on remove (default true). */
  readonly purgeKeyringOnRemove?: boolean
}

const keyringOptions = (options: SelectionOptions): KeyringStore.KeyringOptions => ({
  codexHome: options.codexHome,
  ...(options.lockTimeoutMs !== undefined ? { lockTimeoutMs: options.lockTimeoutMs } : {}),
  ...(options.keyringTimeoutMs !== undefined ? { timeoutMs: options.keyringTimeoutMs } : {}),
  ...(options.env !== undefined ? { env: options.env } : {})
})

/** The file store, whose `remove` also clears a keyring entry left by an earlier keyring/auto run. */
export const makeFileStorePurgingKeyring = (options: SelectionOptions) =>
  Effect.gen(function*() {
    const file = yield* FileStore.makeFileStore({
      codexHome: options.codexHome,
      ...(options.lockTimeoutMs !== undefined ? { lockTimeoutMs: options.lockTimeoutMs } : {})
    })
    if (options.purgeKeyringOnRemove === false) return file
    // auth.json first: file mode fails when its own file cannot be removed.
    const remove: Effect.Effect<CredentialStore.RemoveReport, Errors.StorageError> = file.withLock(Effect.gen(function*() {
      const keyring = yield* Effect.promise(keyringStore)
      const access = keyring.makeAccess(keyringOptions(options))
      const report = yield* file.remove
      const fromKeyring = yield* Effect.result(access.erase)
      return keyring.mergeRemoveReports(report, keyring.keyringEraseReport(access.location(), fromKeyring, keyring.noKeyringHere))
    }))
    return Port.CredentialStore.of({ ...file, remove })
  })

export const layer = (options: SelectionOptions): Layer.Layer<CredentialStore.CredentialStore, Errors.StorageError> => {
  switch (options.mode) {
    case "file":
      return Layer.effect(Port.CredentialStore, makeFileStorePurgingKeyring(options))
    case "keyring":
      return Layer.unwrap(Effect.map(Effect.promise(keyringStore), (m) => m.layer(keyringOptions(options))))
    case "auto":
      return Layer.unwrap(Effect.map(Effect.promise(autoStore), (m) => m.layer(keyringOptions(options))))
    case "ephemeral":
      return MemoryStore.layer()
  }
}
