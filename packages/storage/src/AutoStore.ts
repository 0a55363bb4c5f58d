/**
 * Auto mode (`cli_auth_credentials_store = "auto"`): the keyring when it works, auth.json when it
 * does not — and always saying why. Follows Codex's `AutoAuthStorage`:
 *
 * - load: the keyring entry; when the keyring holds nothing, auth.json; when the keyring is
 *   unavailable, auth.json with a warning (once) naming the reason.
 * - save: the keyring (read back to verify), then the fallback auth.json is deleted; when the
 *   keyring is unavailable, auth.json (warning once).
 * - remove: purges both and reports each; fails only when neither could be purged. A keyring that
 *   cannot exist here (no D-Bus session, no Secret Service) is reported as absent, with the reason.
 *
 * `info` tells which backend served the last operation and, after a fallback, the reason as
 * `<code>: <text>` (codes: `no_dbus_session`, `service_absent`, `no_default_collection`,
 * `locked`, `timeout`, `error`).
 *
 * @since 0.1.0
 */
import { AuthDotJson, CredentialStore, Errors } from "@codex-auth/core"
import { Effect, Layer, Option, Result } from "effect"
import * as AuthFile from "./AuthFile.ts"
import { warnOnce } from "./Warnings.ts"
import * as FileStore from "./FileStore.ts"
import * as KeyringStore from "./KeyringStore.ts"

export type AutoOptions = KeyringStore.KeyringOptions

/** Builds the auto-mode `CredentialStore`. */
export const makeAutoStore = (options: AutoOptions) =>
  Effect.gen(function*() {
    const file = yield* FileStore.makeFileStore(options)
    const keyring = KeyringStore.makeAccess(options)
    const authPath = AuthFile.authFilePath(options.codexHome)

    let backend: "keyring" | "file" | undefined
    let fallback: KeyringStore.KeyringUnavailable | undefined

    const fellBack = (e: KeyringStore.KeyringUnavailable) =>
      Effect.sync(() => {
        backend = "file"
        fallback = e
        // Once per process and CODEX_HOME (the fast path's store and the full CLI's both get here).
        warnOnce(`keyring-fallback:${authPath}`, `the keyring is unavailable [${e.reason}]: ${e.detail}; using ${authPath} instead`, "CODEX_AUTH_KEYRING_FALLBACK")
      })

    const usingKeyring = Effect.sync(() => {
      backend = "keyring"
      fallback = undefined
    })

    const load = Effect.gen(function*() {
      const fromKeyring = yield* Effect.result(keyring.read)
      if (Result.isSuccess(fromKeyring)) {
        if (Option.isSome(fromKeyring.success)) {
          yield* usingKeyring
          return Option.some(yield* KeyringStore.parseSecret(fromKeyring.success.value, keyring.location()))
        }
        // The keyring works but holds nothing: credentials saved to the file earlier still count (Codex does the same).
        const doc = yield* file.load
        backend = Option.isSome(doc) ? "file" : "keyring"
        fallback = undefined
        return doc
      }
      yield* fellBack(fromKeyring.failure)
      return yield* file.load
    })

    const save = (doc: AuthDotJson.AuthDocument) =>
      file.withLock(Effect.gen(function*() {
        const written = yield* Effect.result(keyring.write(AuthDotJson.toCompactText(doc)))
        if (Result.isSuccess(written)) {
          yield* usingKeyring
          // A successful keyring save removes the fallback file, so no stale plaintext copy remains.
          yield* file.remove.pipe(Effect.asVoid, Effect.catch(KeyringStore.warnLeftover))
          return
        }
        yield* fellBack(written.failure)
        yield* file.save(doc)
      }))

    const remove = file.withLock(Effect.gen(function*() {
      const { report } = yield* KeyringStore.eraseKeyringAndFile(keyring, file, authPath, KeyringStore.noKeyringHere)
      if (report.removed.length === 0 && report.failed.length > 0) {
        return yield* new Errors.StorageError({
          backend: "auto",
          operation: "delete",
          location: `${keyring.location()} and ${authPath}`,
          detail: report.failed.map((f) => `${f.location}: ${f.detail}`).join("; "),
          suggestion: "Remove the keyring entry with your keyring manager (e.g. `secret-tool clear service \"Codex Auth\"`) and the file by hand."
        })
      }
      return report
    }))

    /** Before any load or save, find out what a load would use (without warning). */
    const probe = Effect.gen(function*() {
      if (backend !== undefined) return
      const r = yield* Effect.result(keyring.read)
      if (Result.isFailure(r)) {
        backend = "file"
        fallback = r.failure
      } else if (Option.isSome(r.success)) {
        backend = "keyring"
      } else {
        backend = Option.isSome(yield* Effect.orElseSucceed(file.load, () => Option.none())) ? "file" : "keyring"
      }
    })

    const info = Effect.gen(function*() {
      yield* probe
      const b = backend ?? "keyring"
      return {
        mode: "auto",
        backend: b,
        location: b === "keyring" ? keyring.location() : authPath,
        fallbackReason: fallback?.text
      } satisfies CredentialStore.StoreInfo
    })

    // A file has a cheap change marker; the keyring has none, so readers re-read it each time.
    const fingerprint = Effect.suspend(() =>
      backend === "file"
        ? Effect.map(file.fingerprint, (f) => `file:${f}`)
        : Effect.succeed(`keyring:${process.hrtime.bigint()}`)
    )

    // What a save would use: the keyring when it answers, else the file.
    const probeWrite = Effect.flatMap(FileStore.ensureHome(options.codexHome), () =>
      Effect.flatMap(Effect.result(keyring.read), (r) => Result.isSuccess(r) ? Effect.void : file.probeWrite))

    return CredentialStore.CredentialStore.of({
      info,
      load,
      save,
      probeWrite,
      remove,
      withLock: file.withLock,
      withRefreshLock: yield* FileStore.makeRefreshLock(
        options,
        Effect.suspend(() => backend === "file" ? file.fingerprint : KeyringStore.keyringChangeSignal)
      ),
      fingerprint
    })
  })

/** The auto-mode `CredentialStore` for a CODEX_HOME. */
export const layer = (options: AutoOptions): Layer.Layer<CredentialStore.CredentialStore> =>
  Layer.effect(CredentialStore.CredentialStore, makeAutoStore(options))
