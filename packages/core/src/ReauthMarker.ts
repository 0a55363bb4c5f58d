/**
 * The "sign in again" marker: `$CODEX_HOME/.codex-auth-reauth-required`, written by the
 * AuthManager when the issuer rejects the stored refresh token for good (`refresh_token_expired`,
 * `_reused`, `_invalidated`, HTTP 401). The credentials themselves are kept, as Codex keeps them;
 * the marker lets every process (and `login status`) see the verdict without sending the dead
 * token again.
 *
 * **Details**
 *
 * The file (mode 0600) holds `{"reason", "at", "refresh_token_sha256"}`, the last being the first
 * 16 hex characters of SHA-256 of the rejected refresh token. A marker only counts while the
 * stored refresh token still has that digest: after any new sign-in (or a refresh by another
 * client) it is stale and ignored, even if nobody removed it. A successful refresh removes it.
 *
 * @since 0.1.0
 */
import { createHash } from "node:crypto"
import { closeSync, openSync, readFileSync, renameSync, rmSync, writeSync } from "node:fs"
import { join } from "node:path"
import { Redacted } from "effect"
import type { AuthDocument } from "./AuthDotJson.ts"

export const MARKER_FILE = ".codex-auth-reauth-required"

export interface ReauthMarker {
  /** Issuer error code (`refresh_token_reused`, …) or `http_401`. */
  readonly reason: string
  /** RFC 3339 time of the rejection. */
  readonly at: string
  readonly refreshTokenDigest: string
}

export const markerPath = (codexHome: string): string => join(codexHome, MARKER_FILE)

/** First 16 hex characters of SHA-256 of a refresh token (not reversible, enough to match). */
export const digest = (refreshToken: string): string => createHash("sha256").update(refreshToken).digest("hex").slice(0, 16)

/** The marker file's contents, if present and well-formed; never throws. */
export const read = (codexHome: string): ReauthMarker | undefined => {
  try {
    const v: unknown = JSON.parse(readFileSync(markerPath(codexHome), "utf8"))
    if (typeof v !== "object" || v === null) return undefined
    const o = v as Record<string, unknown>
    const reason = o["reason"]
    const at = o["at"]
    const d = o["refresh_token_sha256"]
    return typeof reason === "string" && typeof at === "string" && typeof d === "string"
      ? { reason, at, refreshTokenDigest: d }
      : undefined
  } catch {
    return undefined
  }
}

/**
 * The marker that applies to `doc`: present, and naming the refresh token `doc` holds. This is
 * what `login status` should show as "sign in again" (with `reason` and `at`).
 */
export const activeFor = (codexHome: string, doc: AuthDocument | undefined): ReauthMarker | undefined => {
  if (doc?.tokens === undefined) return undefined
  const marker = read(codexHome)
  return marker !== undefined && marker.refreshTokenDigest === digest(Redacted.value(doc.tokens.refreshToken)) ? marker : undefined
}

/** Writes the marker atomically (0600); best-effort, never throws. */
export const write = (codexHome: string, refreshToken: string, reason: string, now: Date): void => {
  const path = markerPath(codexHome)
  const tmp = `${path}.tmp-${process.pid}`
  try {
    const fd = openSync(tmp, "w", 0o600)
    try {
      writeSync(fd, JSON.stringify({ reason, at: now.toISOString(), refresh_token_sha256: digest(refreshToken) }))
    } finally {
      closeSync(fd)
    }
    renameSync(tmp, path)
  } catch {
    try {
      rmSync(tmp, { force: true })
    } catch {
      // nothing more to do
    }
  }
}

/** Removes the marker (after a successful refresh or sign-in); best-effort, never throws. */
export const clear = (codexHome: string): void => {
  try {
    rmSync(markerPath(codexHome), { force: true })
  } catch {
    // best-effort
  }
}
