/**
 * Where Codex keeps its files: `--codex-home`, else `CODEX_HOME`, else `~/.codex`.
 *
 * @since 0.1.0
 */
import { createHash } from "node:crypto"
import { realpathSync } from "node:fs"
import { homedir } from "node:os"
import { isAbsolute, join, resolve } from "node:path"

export interface CodexHome {
  /** The directory as given (absolute). */
  readonly path: string
  /** Where it came from, for `status` and `doctor`. */
  readonly source: "flag" | "env" | "default"
}

/** Resolves CODEX_HOME the way Codex does (an empty variable counts as unset). */
export const resolveCodexHome = (flag: string | undefined, env: NodeJS.ProcessEnv = process.env): CodexHome => {
  if (flag !== undefined && flag.length > 0) return { path: resolve(flag), source: "flag" }
  const fromEnv = env["CODEX_HOME"]
  if (fromEnv !== undefined && fromEnv.length > 0) {
    return { path: isAbsolute(fromEnv) ? fromEnv : resolve(fromEnv), source: "env" }
  }
  return { path: join(homedir(), ".codex"), source: "default" }
}

/** The canonical path (symlinks resolved) when it exists; the path itself otherwise. */
export const canonicalPath = (path: string): string => {
  try {
    return realpathSync.native(path)
  } catch {
    return path
  }
}

/** The keyring account Codex uses for a CODEX_HOME: `cli|` + first 16 hex chars of SHA-256(canonical path). */
export const keyringAccount = (codexHome: string): string =>
  `cli|${createHash("sha256").update(canonicalPath(codexHome)).digest("hex").slice(0, 16)}`

export const KEYRING_SERVICE = "Codex Auth"

/**
 * The lock files in CODEX_HOME (see `CredentialLocks`): the Codex CLI's commit locks `auth.lock`
 * (created 0666 before the umask) and `auth.json.lock` (0600), and codex-auth's own refresh lock.
 */
export const LOCK_FILES = {
  auth: { name: "auth.lock", mode: 0o666 },
  authJson: { name: "auth.json.lock", mode: 0o600 },
  refresh: { name: "codex-auth-refresh.lock", mode: 0o600 }
} as const

/** `$CODEX_HOME/codex-auth-refresh.lock`. */
export const refreshLockPath = (codexHome: string): string => join(codexHome, LOCK_FILES.refresh.name)
