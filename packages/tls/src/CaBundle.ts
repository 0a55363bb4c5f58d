/**
 * Custom CA bundles, as the Codex CLI reads them: `CODEX_CA_CERTIFICATE`, else `SSL_CERT_FILE`,
 * else nothing (an empty variable counts as unset). The file is a PEM bundle with one or many
 * certificates, LF or CRLF line endings; OpenSSL `TRUSTED CERTIFICATE` blocks are normalized (their
 * trailing trust metadata dropped), and every other block (CRLs, keys, parameters) is ignored.
 * Each certificate is parsed with `node:crypto` `X509Certificate`, so a typo in the bundle fails
 * here, with the variable and the path, instead of as a handshake error later.
 *
 * The bundle is **added to** Node's roots ({@link trustedRoots}): Node's bundled Mozilla roots,
 * `NODE_EXTRA_CA_CERTS`, and the operating system's store where Node exposes it.
 *
 * @since 0.1.0
 */
import { Effect } from "effect"
import { TlsConfigError } from "@codex-auth/core/Errors"
import { X509Certificate } from "node:crypto"
import { readFile } from "node:fs/promises"
import * as tls from "node:tls"

/** The environment, as a plain record (defaults to `process.env` at the call sites that read it). */
export type Env = Readonly<Record<string, string | undefined>>

/** The variables that can select a CA bundle, in precedence order. */
export const CA_VARIABLES = ["CODEX_CA_CERTIFICATE", "SSL_CERT_FILE"] as const
export type CaVariable = (typeof CA_VARIABLES)[number]

/** Which file was chosen, and by which variable. */
export interface CaSelection {
  readonly variable: CaVariable
  readonly path: string
  /** Variables that were set but lost to the winner (for example `SSL_CERT_FILE` when both are set). */
  readonly shadowed: ReadonlyArray<{ readonly variable: CaVariable; readonly path: string }>
}

/** One certificate of a bundle, with what a person needs to recognise it. */
export interface CertificateInfo {
  /** 1-based position among the certificate blocks of the file. */
  readonly index: number
  /** Normalized PEM (`-----BEGIN CERTIFICATE-----`, LF line endings). */
  readonly pem: string
  readonly subject: string
  readonly issuer: string
  readonly notBefore: string
  readonly notAfter: string
  /** SHA-256 fingerprint, colon-separated hex as OpenSSL prints it. */
  readonly fingerprint256: string
  /** basicConstraints CA flag. */
  readonly isCa: boolean
  /** Was the block labelled `TRUSTED CERTIFICATE` (OpenSSL `-trustout`)? */
  readonly trusted: boolean
}

/** A loaded and checked CA bundle. */
export interface CaBundle extends CaSelection {
  readonly certificates: ReadonlyArray<CertificateInfo>
  /** Labels of the PEM blocks that were skipped (for example `X509 CRL`, `PRIVATE KEY`), in file order. */
  readonly ignoredBlocks: ReadonlyArray<string>
}

/**
 * Picks the CA bundle the way Codex does: `CODEX_CA_CERTIFICATE` if non-empty, else `SSL_CERT_FILE`
 * if non-empty, else none (system roots only).
 */
export const selectCaBundle = (env: Env = process.env): CaSelection | undefined => {
  const set = CA_VARIABLES.flatMap((variable) => {
    const path = env[variable]
    return path === undefined || path === "" ? [] : [{ variable, path }]
  })
  const [winner, ...shadowed] = set
  return winner === undefined ? undefined : { variable: winner.variable, path: winner.path, shadowed }
}

const CERTIFICATE_LABELS = new Set(["CERTIFICATE", "TRUSTED CERTIFICATE", "X509 CERTIFICATE"])

const BEGIN = /-----BEGIN ([A-Z0-9][A-Z0-9 ]*[A-Z0-9])-----/g

/** The outcome of parsing PEM text: certificates, or the reason nothing usable was found. */
export type ParseResult =
  | { readonly _tag: "Ok"; readonly certificates: ReadonlyArray<CertificateInfo>; readonly ignoredBlocks: ReadonlyArray<string> }
  | { readonly _tag: "Invalid"; readonly detail: string }

/**
 * Parses a PEM bundle. Pure: no file access, no environment. `detail` in the invalid case is a
 * sentence fragment meant to follow "cannot be used: ".
 */
export const parsePemBundle = (input: string | Uint8Array): ParseResult => {
  const text = typeof input === "string" ? input : Buffer.from(input).toString("latin1")
  if (text.trim() === "") return { _tag: "Invalid", detail: "the file is empty" }

  const certificates: Array<CertificateInfo> = []
  const ignoredBlocks: Array<string> = []
  let blockNumber = 0
  const lineOf = lineCounter(text)
  BEGIN.lastIndex = 0
  for (let match = BEGIN.exec(text); match !== null; match = BEGIN.exec(text)) {
    blockNumber++
    const label = match[1] ?? ""
    const bodyStart = match.index + match[0].length
    const endMarker = `-----END ${label}-----`
    const end = text.indexOf(endMarker, bodyStart)
    const line = lineOf(text, match.index)
    if (end < 0) {
      return { _tag: "Invalid", detail: `PEM block ${blockNumber} (${label}, line ${line}) has no "${endMarker}" line` }
    }
    BEGIN.lastIndex = end + endMarker.length
    if (!CERTIFICATE_LABELS.has(label)) {
      ignoredBlocks.push(label)
      continue
    }
    const certNumber = certificates.length + 1
    const where = `certificate ${certNumber} (PEM block ${blockNumber}, line ${line})`
    const der = decodeBase64Body(text.slice(bodyStart, end))
    if (der === undefined) {
      return { _tag: "Invalid", detail: `${where} is not valid base64` }
    }
    const trusted = label === "TRUSTED CERTIFICATE"
    const certDer = trusted ? firstDerItem(der) : der
    if (certDer === undefined) {
      return { _tag: "Invalid", detail: `${where} is not a DER-encoded certificate (bad ASN.1 length)` }
    }
    let cert: X509Certificate
    try {
      cert = new X509Certificate(certDer)
    } catch (cause) {
      const reason = cause instanceof Error ? cause.message : String(cause)
      return { _tag: "Invalid", detail: `${where} is not a valid X.509 certificate: ${reason}` }
    }
    const notBefore = new Date(cert.validFrom)
    const notAfter = new Date(cert.validTo)
    if (Number.isNaN(notBefore.getTime()) || Number.isNaN(notAfter.getTime())) {
      return { _tag: "Invalid", detail: `${where} has an unreadable validity period (notBefore/notAfter)` }
    }
    certificates.push({
      index: certNumber,
      pem: toPem(certDer),
      subject: oneLine(cert.subject),
      issuer: oneLine(cert.issuer),
      notBefore: notBefore.toISOString(),
      notAfter: notAfter.toISOString(),
      fingerprint256: cert.fingerprint256,
      isCa: cert.ca,
      trusted
    })
  }

  if (certificates.length > 0) return { _tag: "Ok", certificates, ignoredBlocks }
  if (blockNumber === 0) {
    const looksDer = typeof input !== "string" && input.length > 1 && input[0] === 0x30 && (input[1] ?? 0) >= 0x80
    return {
      _tag: "Invalid",
      detail: looksDer
        ? "no PEM certificate found; the file looks like binary DER (convert it: openssl x509 -inform der -in FILE -out FILE.pem)"
        : "no PEM certificate found (expected -----BEGIN CERTIFICATE----- blocks)"
    }
  }
  return {
    _tag: "Invalid",
    detail: `no certificate found among its ${blockNumber} PEM block(s) (${[...new Set(ignoredBlocks)].join(", ")})`
  }
}

/**
 * Reads and checks the bundle selected by the environment. Succeeds with `undefined` when no
 * variable selects one; fails with `TlsConfigError` naming the variable and path otherwise.
 */
export const loadCaBundle = Effect.fn("CaBundle.load")(function*(env: Env = process.env) {
  const selection = selectCaBundle(env)
  if (selection === undefined) return undefined
  return yield* loadSelectedCaBundle(selection)
})

/** Reads and checks one selected bundle file. */
export const loadSelectedCaBundle = Effect.fn("CaBundle.loadSelected")(function*(selection: CaSelection) {
  const fail = (detail: string) =>
    new TlsConfigError({ variable: selection.variable, path: selection.path, detail })
  const bytes = yield* Effect.tryPromise({
    try: () => readFile(selection.path),
    catch: (cause) => fail(describeReadError(cause))
  })
  const parsed = parsePemBundle(bytes)
  if (parsed._tag === "Invalid") return yield* fail(parsed.detail)
  const bundle: CaBundle = { ...selection, certificates: parsed.certificates, ignoredBlocks: parsed.ignoredBlocks }
  return bundle
})

const describeReadError = (cause: unknown): string => {
  const code = typeof cause === "object" && cause !== null && "code" in cause ? String(cause.code) : undefined
  switch (code) {
    case "ENOENT":
      return "the file does not exist"
    case "EISDIR":
      return "it is a directory, not a PEM file"
    case "EACCES":
    case "EPERM":
      return "permission denied while reading it"
    case "ENOTDIR":
      return "a parent of the path is not a directory"
    case "ELOOP":
      return "it is a symbolic link loop"
    default:
      return `it could not be read (${code ?? (cause instanceof Error ? cause.message : String(cause))})`
  }
}

let baseRootsCache: ReadonlyArray<string> | undefined

/**
 * The roots Node trusts without any codex-auth setting: its bundled Mozilla roots plus
 * `NODE_EXTRA_CA_CERTS` (`tls.getCACertificates("default")`), plus the operating system's store
 * (`tls.getCACertificates("system")`, Node ≥ 22.15). Computed once per process.
 */
export const baseRoots = (): ReadonlyArray<string> => {
  if (baseRootsCache !== undefined) return baseRootsCache
  const get = (tls as { getCACertificates?: (type: "default" | "system" | "bundled" | "extra") => Array<string> })
    .getCACertificates
  const sets: Array<ReadonlyArray<string>> = []
  if (get === undefined) {
    sets.push(tls.rootCertificates)
  } else {
    sets.push(safe(() => get("default")) ?? tls.rootCertificates)
    sets.push(safe(() => get("system")) ?? [])
  }
  baseRootsCache = dedupePem(sets.flat())
  return baseRootsCache
}

const safe = <A>(f: () => A): A | undefined => {
  try {
    return f()
  } catch {
    return undefined
  }
}

/** Node's roots with the bundle's certificates added (not replacing them), deduplicated. */
export const trustedRoots = (bundle: CaBundle | undefined): ReadonlyArray<string> =>
  bundle === undefined ? baseRoots() : dedupePem([...baseRoots(), ...bundle.certificates.map((c) => c.pem)])

const dedupePem = (pems: ReadonlyArray<string>): ReadonlyArray<string> => {
  const seen = new Set<string>()
  const out: Array<string> = []
  for (const pem of pems) {
    const key = pem.replace(/-----[^-]+-----|\s/g, "")
    if (seen.has(key)) continue
    seen.add(key)
    out.push(pem)
  }
  return out
}

const decodeBase64Body = (body: string): Uint8Array | undefined => {
  // RFC 1421 encapsulated headers (`Proc-Type: …`) may precede the base64 text.
  const lines = body.split(/\r?\n|\r/).filter((l) => !l.includes(":"))
  const b64 = lines.join("").replace(/[ \t]/g, "")
  if (b64 === "" || !/^[A-Za-z0-9+/]+={0,2}$/.test(b64) || b64.length % 4 === 1) return undefined
  return Buffer.from(b64, "base64")
}

/** The first top-level DER item (drops OpenSSL's trailing X509_AUX trust data). */
const firstDerItem = (der: Uint8Array): Uint8Array | undefined => {
  if (der.length < 2 || der[0] !== 0x30) return undefined
  const first = der[1] ?? 0
  if ((first & 0x80) === 0) return 2 + first <= der.length ? der.subarray(0, 2 + first) : undefined
  const n = first & 0x7f
  if (n === 0 || n > 4 || 2 + n > der.length) return undefined
  let len = 0
  for (let i = 0; i < n; i++) len = len * 256 + (der[2 + i] ?? 0)
  const total = 2 + n + len
  return total <= der.length ? der.subarray(0, total) : undefined
}

const toPem = (der: Uint8Array): string => {
  const b64 = Buffer.from(der).toString("base64")
  const lines = b64.match(/.{1,64}/g) ?? []
  return `-----BEGIN CERTIFICATE-----\n${lines.join("\n")}\n-----END CERTIFICATE-----\n`
}

/** 1-based line numbers for increasing offsets, counted incrementally. */
const lineCounter = (text: string) => {
  let pos = 0
  let line = 1
  return (_text: string, index: number): number => {
    for (; pos < index; pos++) if (text.charCodeAt(pos) === 10) line++
    return line
  }
}

const oneLine = (dn: string): string => dn.split("\n").filter((p) => p !== "").join(", ")
