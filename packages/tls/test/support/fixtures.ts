/** Test fixtures: temp dirs, dev certificates, a CRL, OpenSSL TRUSTED CERTIFICATE conversion. */
import "reflect-metadata"
import * as x509 from "@peculiar/x509"
import { execFileSync } from "node:child_process"
import { webcrypto } from "node:crypto"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { generateDevCertificates, type DevCertificates } from "../../src/DevCertificates.ts"

export const tempDir = (): { readonly dir: string; readonly file: (name: string, content: string | Uint8Array) => string; readonly cleanup: () => void } => {
  const dir = mkdtempSync(join(tmpdir(), "codex-auth-tls-"))
  return {
    dir,
    file: (name, content) => {
      const path = join(dir, name)
      writeFileSync(path, content)
      return path
    },
    cleanup: () => rmSync(dir, { recursive: true, force: true })
  }
}

let shared: Promise<DevCertificates> | undefined
/** One set of dev certificates per test file (generation is cheap, but keep it to one). */
export const devCerts = (): Promise<DevCertificates> => (shared ??= generateDevCertificates({ commonName: "codex-auth test CA" }))

/** A real CRL signed by the given CA key. */
export const makeCrlPem = async (certs: DevCertificates): Promise<string> => {
  const der = x509.PemConverter.decodeFirst(certs.caKeyPem)
  const alg = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" }
  const key = await webcrypto.subtle.importKey("pkcs8", der, alg, false, ["sign"])
  const ca = new x509.X509Certificate(certs.caCertPem)
  const crl = await x509.X509CrlGenerator.create(
    { issuer: ca.subject, signingAlgorithm: alg, signingKey: key, thisUpdate: new Date(), nextUpdate: new Date(Date.now() + 86_400_000) },
    webcrypto
  )
  return crl.toString("pem")
}

/** `openssl x509 -trustout`: a TRUSTED CERTIFICATE block with X509_AUX trust settings appended. */
export const toTrustedCertificatePem = (pem: string): string =>
  execFileSync("openssl", ["x509", "-trustout", "-addtrust", "serverAuth", "-setalias", "corp root"], { input: pem }).toString("utf8")
