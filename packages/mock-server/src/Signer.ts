/**
 * The issuer's signing key: an RSA key generated at start, RS256 compact JWS signing and
 * verification, and the public JWKS.
 *
 * @since 0.1.0
 */
import { createHash, generateKeyPairSync, type KeyObject, randomBytes, sign, verify } from "node:crypto"

export interface Signer {
  readonly kid: string
  readonly sign: (payload: Record<string, unknown>) => string
  /** The payload of a JWT signed by this key, or `undefined` (bad signature, not a JWT). */
  readonly verify: (jwt: string) => Record<string, unknown> | undefined
  readonly jwks: { readonly keys: ReadonlyArray<Record<string, unknown>> }
}

const b64url = (data: Buffer | string): string => Buffer.from(data).toString("base64url")

/** Generates a fresh 2048-bit RSA signing key. */
export const make = (): Signer => {
  const { privateKey, publicKey }: { privateKey: KeyObject; publicKey: KeyObject } = generateKeyPairSync("rsa", { modulusLength: 2048 })
  const jwk = publicKey.export({ format: "jwk" })
  // RFC 7638 thumbprint as the key id.
  const kid = b64url(createHash("sha256").update(JSON.stringify({ e: jwk.e, kty: jwk.kty, n: jwk.n })).digest())
  const header = b64url(JSON.stringify({ alg: "RS256", typ: "JWT", kid }))
  return {
    kid,
    sign: (payload) => {
      const input = `${header}.${b64url(JSON.stringify(payload))}`
      return `${input}.${b64url(sign("sha256", Buffer.from(input), privateKey))}`
    },
    verify: (jwt) => {
      const parts = jwt.split(".")
      if (parts.length !== 3) return undefined
      const [h, p, s] = parts as [string, string, string]
      try {
        if (!verify("sha256", Buffer.from(`${h}.${p}`), publicKey, Buffer.from(s, "base64url"))) return undefined
        const payload: unknown = JSON.parse(Buffer.from(p, "base64url").toString("utf8"))
        return typeof payload === "object" && payload !== null ? (payload as Record<string, unknown>) : undefined
      } catch {
        return undefined
      }
    },
    jwks: { keys: [{ ...jwk, kid, alg: "RS256", use: "sig" }] }
  }
}

/** A URL-safe random string of `bytes` random bytes. */
export const randomToken = (bytes = 32): string => randomBytes(bytes).toString("base64url")
