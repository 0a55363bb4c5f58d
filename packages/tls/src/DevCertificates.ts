/**
 * Throw-away certificates for tests and local development: a private certificate authority and a
 * server certificate signed by it, valid for `localhost`, `127.0.0.1` and `::1` by default.
 *
 * Built with `@peculiar/x509` on Node's WebCrypto (ECDSA P-256, SHA-256), so generation takes a
 * few milliseconds and needs no `openssl` binary. Clients trust the server by adding
 * `caCertPem` to their roots (for example through `CODEX_CA_CERTIFICATE`); the private keys never
 * leave the process unless the caller writes them out.
 *
 * The X.509 library (and the `reflect-metadata` polyfill its dependency injection needs) is loaded
 * on the first call, so importing this module, or the package index, costs nothing.
 *
 * @since 0.1.0
 */
import type * as X509 from "@peculiar/x509"
import { isIP } from "node:net"
import { webcrypto } from "node:crypto"

/** Options for {@link generateDevCertificates}. */
export interface DevCertificateOptions {
  /** Common name of the CA certificate. Default `codex-auth dev CA`. */
  readonly commonName?: string
  /** Validity of both certificates in days, starting one hour ago. Default 30. */
  readonly validDays?: number
  /** DNS names and IP addresses in the server certificate's subjectAltName. Default localhost, 127.0.0.1, ::1. */
  readonly hosts?: ReadonlyArray<string>
}

/** PEM-encoded CA certificate and key, plus a server certificate and key signed by that CA. */
export interface DevCertificates {
  readonly caCertPem: string
  readonly caKeyPem: string
  readonly serverCertPem: string
  readonly serverKeyPem: string
}

const DEFAULT_HOSTS: ReadonlyArray<string> = ["localhost", "127.0.0.1", "::1"]

type CryptoKey = webcrypto.CryptoKey
type CryptoKeyPair = webcrypto.CryptoKeyPair

const keyAlgorithm: webcrypto.EcKeyGenParams & webcrypto.EcdsaParams = {
  name: "ECDSA",
  namedCurve: "P-256",
  hash: "SHA-256"
}

const crypto = webcrypto

/** PEM text ending with a newline, so that bundles can be built by plain concatenation. */
const toPem = (x509: typeof X509, der: ArrayBuffer, label: string): string =>
  `${x509.PemConverter.encode(der, label).trimEnd()}\n`

let x509Module: Promise<typeof X509> | undefined
/** `@peculiar/x509`, after `reflect-metadata` (tsyringe refuses to load without it). */
const loadX509 = (): Promise<typeof X509> =>
  (x509Module ??= import("reflect-metadata").then(() => import("@peculiar/x509")))

const exportKeyPem = async (x509: typeof X509, key: CryptoKey): Promise<string> =>
  toPem(x509, await crypto.subtle.exportKey("pkcs8", key), "PRIVATE KEY")

/** Escapes characters that are special in RFC 4514 distinguished names. */
const escapeDn = (value: string): string => value.replace(/([,+"\\<>;=])/g, "\\$1").replace(/^([ #])/, "\\$1").replace(/ $/, "\\ ")

/**
 * Generates a fresh private CA (basicConstraints CA, keyCertSign/cRLSign) and a server certificate
 * signed by it (subjectAltName for every host, serverAuth extended key usage).
 *
 * @since 0.1.0
 */
export const generateDevCertificates = async (options: DevCertificateOptions = {}): Promise<DevCertificates> => {
  const commonName = options.commonName ?? "codex-auth dev CA"
  const validDays = options.validDays ?? 30
  const hosts = options.hosts ?? DEFAULT_HOSTS
  if (!(validDays > 0)) throw new RangeError(`validDays must be positive, got ${validDays}`)
  if (hosts.length === 0) throw new RangeError("hosts must name at least one DNS name or IP address")
  const x509 = await loadX509()

  const notBefore = new Date(Date.now() - 60 * 60 * 1000)
  const notAfter = new Date(Date.now() + validDays * 24 * 60 * 60 * 1000)

  const caKeys = (await crypto.subtle.generateKey(keyAlgorithm, true, ["sign", "verify"])) as CryptoKeyPair
  const caName = `CN=${escapeDn(commonName)}, O=codex-auth development`
  const caCert = await x509.X509CertificateGenerator.createSelfSigned(
    {
      serialNumber: randomSerial(),
      name: caName,
      notBefore,
      notAfter,
      keys: caKeys,
      signingAlgorithm: keyAlgorithm,
      extensions: [
        new x509.BasicConstraintsExtension(true, 0, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
        await x509.SubjectKeyIdentifierExtension.create(caKeys.publicKey, false, crypto)
      ]
    },
    crypto
  )

  const serverKeys = (await crypto.subtle.generateKey(keyAlgorithm, true, ["sign", "verify"])) as CryptoKeyPair
  const firstDns = hosts.find((h) => isIP(h) === 0) ?? hosts[0] ?? "localhost"
  const serverCert = await x509.X509CertificateGenerator.create(
    {
      serialNumber: randomSerial(),
      subject: `CN=${escapeDn(firstDns)}`,
      issuer: caCert.subject,
      notBefore,
      notAfter,
      publicKey: serverKeys.publicKey,
      signingKey: caKeys.privateKey,
      signingAlgorithm: keyAlgorithm,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth], false),
        new x509.SubjectAlternativeNameExtension(
          hosts.map((h) => (isIP(h) === 0 ? { type: "dns" as const, value: h } : { type: "ip" as const, value: h })),
          false
        ),
        await x509.SubjectKeyIdentifierExtension.create(serverKeys.publicKey, false, crypto),
        await x509.AuthorityKeyIdentifierExtension.create(caKeys.publicKey, false, crypto)
      ]
    },
    crypto
  )

  return {
    caCertPem: toPem(x509, caCert.rawData, "CERTIFICATE"),
    caKeyPem: await exportKeyPem(x509, caKeys.privateKey),
    serverCertPem: toPem(x509, serverCert.rawData, "CERTIFICATE"),
    serverKeyPem: await exportKeyPem(x509, serverKeys.privateKey)
  }
}

/** A positive 16-byte serial number in hex (high bit cleared so it stays positive in DER). */
const randomSerial = (): string => {
  const bytes = crypto.getRandomValues(new Uint8Array(16))
  bytes[0] = (bytes[0] ?? 0) & 0x7f | 0x01
  return Buffer.from(bytes).toString("hex")
}
