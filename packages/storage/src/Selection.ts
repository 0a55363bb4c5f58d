/**
 * Picks the credential backend for `cli_auth_credentials_store` / `--store`: `file`, `keyring`
 * or `auto` (keyring first, file as fallback).
 *
 * @since 0.1.0
 */
import { CredentialStore, Errors } from "@codex-auth/core"
import { Effect, Layer } from "effect"
import * as FileStore from "./FileStore.ts"

export type StoreMode = "file" | "keyring" | "auto"

export interface SelectionOptions {
  readonly mode: StoreMode
  readonly codexHome: string
  readonly lockTimeoutMs?: number
}

export const layer = (options: SelectionOptions): Layer.Layer<CredentialStore.CredentialStore, Errors.StorageError> => {
  switch (options.mode) {
    case "file":
      return FileStore.layer(options)
    case "keyring":
    case "auto":
      return Layer.effect(
        CredentialStore.CredentialStore,
        Effect.fail(new Errors.StorageError({
          backend: "keyring",
          operation: "read",
          location: "keyring",
          detail: "the keyring backend is not available in this build",
          suggestion: "Use --store file (or cli_auth_credentials_store = \"file\")."
        }))
      )
  }
}
