/**
 * Property and fuzz tests for the PEM bundle parser (CODEX_CA_CERTIFICATE / SSL_CERT_FILE): random
 * text and bytes, real bundles torn, bit-flipped, re-wrapped and mixed with other blocks. It never
 * throws; it finds exactly the certificates that are intact, or says why nothing usable is there —
 * without quoting a private key that shares the file; and the loader turns that into a
 * TlsConfigError naming the variable and the path.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit } from "effect"
import fc from "fast-check"
import { X509Certificate } from "node:crypto"
import { beforeAll } from "vitest"
import { TlsConfigError } from "@codex-auth/core/Errors"
import { type DevCertificates, generateDevCertificates } from "../src/DevCertificates.ts"
import { loadSelectedCaBundle, parsePemBundle, type ParseResult } from "../src/CaBundle.ts"
import { tempDir } from "./support/fixtures.ts"

let ca: DevCertificates
let other: DevCertificates
beforeAll(async () => {
  ca = await generateDevCertificates({ commonName: "property CA one" })
  other = await generateDevCertificates({ commonName: "property CA two" })
})

const assertShape = (r: ParseResult) => {
  if (r._tag === "Ok") {
    assert.isAbove(r.certificates.length, 0)
    r.certificates.forEach((c, i) => {
      assert.strictEqual(c.index, i + 1)
      // What the parser hands on re-parses on its own.
      const again = parsePemBundle(c.pem)
      assert.strictEqual(again._tag, "Ok")
    })
  } else {
    assert.isAbove(r.detail.length, 0)
    assert.isBelow(r.detail.length, 600)
  }
}

/** The base64 body of the private key, which must never appear in a message. */
const keyBody = (pem: string) => pem.split("\n").filter((l) => l.length > 0 && !l.startsWith("-----")).join("")

const noKeyEcho = (detail: string, keyPem: string) => {
  const body = keyBody(keyPem)
  for (let i = 0; i + 12 <= body.length; i += 6) assert.notInclude(detail, body.slice(i, i + 12))
}

/** Does the (single) certificate in `pem` parse with a validity time Node cannot read? */
const hasBadTime = (pem: string): boolean => {
  try {
    const start = pem.indexOf("-----BEGIN CERTIFICATE-----")
    const b64 = pem.slice(start).split(/\r?\n/).filter((l) => !l.startsWith("-----") && !l.includes(":")).join("")
    const cert = new X509Certificate(Buffer.from(b64, "base64"))
    return Number.isNaN(new Date(cert.validFrom).getTime()) || Number.isNaN(new Date(cert.validTo).getTime())
  } catch {
    return false
  }
}

describe("PEM bundle parser (property)", () => {
  it("never throws on arbitrary text or bytes", () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: "binary", maxLength: 400 }), fc.uint8Array({ maxLength: 400 })), (input) => {
        assertShape(parsePemBundle(input))
      }),
      { numRuns: 1000 }
    )
  })

  it("never throws on PEM-shaped noise (markers, labels, base64, headers, line endings)", () => {
    const piece = fc.oneof(
      fc.constantFrom(
        "-----BEGIN CERTIFICATE-----", "-----END CERTIFICATE-----", "-----BEGIN TRUSTED CERTIFICATE-----", "-----END TRUSTED CERTIFICATE-----",
        "-----BEGIN X509 CRL-----", "-----END X509 CRL-----", "-----BEGIN PRIVATE KEY-----", "-----END PRIVATE KEY-----", "-----BEGIN ",
        "-----", "\n", "\r\n", "\r", " ", "\t", "=", "==", "Proc-Type: 4,ENCRYPTED", "MII", "MA==", "AAAA"
      ),
      fc.base64String({ maxLength: 64 })
    )
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 40 }), (pieces) => {
        assertShape(parsePemBundle(pieces.join("")))
      }),
      { numRuns: 1000 }
    )
  })

  it("bundles of real certificates mixed with CRLs, keys and junk, LF or CRLF: exactly the certificates are found", () => {
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom("ca", "server", "other", "key", "junk", "blank"), { minLength: 1, maxLength: 8 }),
        fc.boolean(),
        (parts, crlf) => {
          const pems: Record<string, string> = {
            ca: ca.caCertPem,
            server: ca.serverCertPem,
            other: other.caCertPem,
            key: ca.caKeyPem,
            junk: "# a comment line\nsubject=CN = something\n",
            blank: "\n\n"
          }
          let text = parts.map((p) => pems[p]).join("")
          if (crlf) text = text.replace(/\n/g, "\r\n")
          const expected = parts.filter((p) => p === "ca" || p === "server" || p === "other").length
          const r = parsePemBundle(text)
          assertShape(r)
          if (expected > 0) {
            assert.strictEqual(r._tag, "Ok")
            if (r._tag === "Ok") assert.strictEqual(r.certificates.length, expected)
          } else {
            assert.strictEqual(r._tag, "Invalid")
            if (r._tag === "Invalid") noKeyEcho(r.detail, ca.caKeyPem)
          }
        }
      ),
      { numRuns: 300 }
    )
  })

  it("a certificate torn at any byte or with a flipped base64 character: a certificate or a reason, never a throw", () => {
    fc.assert(
      fc.property(fc.double({ min: 0, max: 1, noNaN: true }), fc.nat(), fc.constantFrom("tear", "flip", "drop-line"), (at, n, how) => {
        const pem = `${ca.caKeyPem}${ca.caCertPem}`
        let text: string
        if (how === "tear") text = pem.slice(0, Math.floor(pem.length * at))
        else if (how === "flip") {
          const body = pem.indexOf("-----BEGIN CERTIFICATE-----") + 28
          const i = body + (n % (pem.length - body - 30))
          const c = pem[i] === "\n" ? "\n" : pem[i] === "A" ? "B" : "A"
          text = pem.slice(0, i) + c + pem.slice(i + 1)
        } else {
          const lines = pem.split("\n")
          lines.splice(1 + (n % (lines.length - 2)), 1)
          text = lines.join("\n")
        }
        const r: ParseResult = parsePemBundle(text)
        assertShape(r)
        if (r._tag === "Invalid") noKeyEcho(r.detail, ca.caKeyPem)
      }),
      { numRuns: 500 }
    )
  })

  // Was a known bug (RangeError from `new Date(cert.validFrom).toISOString()`); fixed in CaBundle.ts.
  it("a certificate with a corrupted validity time is a reason, not a RangeError", () => {
    const der = Buffer.from(keyBody(ca.caCertPem), "base64")
    // The first UTCTime (tag 0x17, 13 bytes "YYMMDDhhmmssZ"): notBefore. Make its month "X1".
    const at = der.indexOf(Buffer.from([0x17, 0x0d]))
    assert.isAbove(at, 0)
    der[at + 4] = "X".charCodeAt(0)
    const pem = `-----BEGIN CERTIFICATE-----\n${der.toString("base64").replace(/(.{64})/g, "$1\n")}\n-----END CERTIFICATE-----\n`
    assert.strictEqual(hasBadTime(pem), true)
    const r = parsePemBundle(pem)
    assert.strictEqual(r._tag, "Invalid")
    if (r._tag === "Invalid") assert.match(r.detail, /certificate 1 .*(unreadable validity period|not a valid X\.509)/)
  })

  it("pathological sizes are answered quickly: 50 000 unterminated BEGIN markers, a 5 MB base64 block", () => {
    const started = Date.now()
    assertShape(parsePemBundle("-----BEGIN CERTIFICATE-----\n".repeat(50_000)))
    assertShape(parsePemBundle(`-----BEGIN ${"A ".repeat(200_000)}`))
    assertShape(parsePemBundle(`-----BEGIN CERTIFICATE-----\n${"QUFB".repeat(1_250_000)}\n-----END CERTIFICATE-----\n`))
    assert.isBelow(Date.now() - started, 5_000)
  })

  it.effect("the loader turns any bad file into a TlsConfigError naming the variable and the path", () =>
    Effect.promise(async () => {
      const dir = tempDir()
      try {
        await fc.assert(
          fc.asyncProperty(fc.oneof(fc.uint8Array({ maxLength: 200 }), fc.constant(new Uint8Array(0))), async (bytes) => {
            const path = dir.file("bundle.pem", bytes)
            const exit = await Effect.runPromiseExit(loadSelectedCaBundle({ variable: "SSL_CERT_FILE", path, shadowed: [] }))
            if (Exit.isFailure(exit)) {
              const e = exit.cause.reasons[0]
              assert.strictEqual(e?._tag, "Fail")
              const error = (e as { error: unknown }).error
              assert.instanceOf(error, TlsConfigError)
              assert.include((error as TlsConfigError).userMessage, path)
              assert.include((error as TlsConfigError).userMessage, "SSL_CERT_FILE")
            }
          }),
          { numRuns: 100 }
        )
      } finally {
        dir.cleanup()
      }
    }))
})
