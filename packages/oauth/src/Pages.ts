/**
 * The pages the loopback callback server answers with: self-contained HTML (inline CSS, no
 * script, no external resource), served with headers that keep them out of caches and stop any
 * referrer from leaking the callback URL. No token ever appears in them or in a URL: unlike
 * Codex's `/success?id_token=…`, the result is rendered directly in the callback response.
 *
 * @since 0.1.0
 */

export interface Page {
  readonly status: number
  readonly html: string
}

/** Headers for every loopback response. */
export const PAGE_HEADERS: Readonly<Record<string, string>> = {
  "content-type": "text/html; charset=utf-8",
  "cache-control": "no-store, max-age=0",
  pragma: "no-cache",
  "referrer-policy": "no-referrer",
  "x-content-type-options": "nosniff",
  "x-frame-options": "DENY",
  "content-security-policy": "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  connection: "close"
}

export const escapeHtml = (s: string): string =>
  s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", "\"": "&quot;", "'": "&#39;" })[c]!)

const STYLE = `
  :root { color-scheme: light dark; }
  body { font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 0; display: grid; place-items: center; min-height: 100vh; background: Canvas; color: CanvasText; }
  main { max-width: 34rem; padding: 2rem; border: 1px solid color-mix(in srgb, CanvasText 20%, transparent); border-radius: 12px; }
  h1 { font-size: 1.4rem; margin: 0 0 .75rem; }
  p { margin: .5rem 0; }
  .ok h1 { color: #0a7d32; }
  .err h1 { color: #b3261e; }
  code { font: 0.95em ui-monospace, SFMono-Regular, Menlo, monospace; }
  .muted { opacity: .75; font-size: .9rem; }
`

const layout = (kind: "ok" | "err", title: string, paragraphs: ReadonlyArray<string>): string =>
  `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${escapeHtml(title)} · codex-auth</title>
<style>${STYLE}</style>
</head>
<body>
<main class="${kind}" role="main">
<h1>${escapeHtml(title)}</h1>
${paragraphs.map((p) => `<p>${p}</p>`).join("\n")}
</main>
</body>
</html>
`

/** After the tokens were stored. `email` is shown when known. */
export const success = (info: { readonly email?: string | undefined } = {}): Page => ({
  status: 200,
  html: layout("ok", "Signed in to Codex", [
    info.email === undefined ? "You are signed in." : `You are signed in as <strong>${escapeHtml(info.email)}</strong>.`,
    "You can close this tab and return to your terminal.",
    `<span class="muted">codex-auth stored your credentials where the Codex CLI reads them.</span>`
  ])
})

/** The sign-in failed: the same message and next step the terminal shows. */
export const failure = (message: string, hint: string | undefined, status = 200): Page => ({
  status,
  html: layout("err", "Sign-in failed", [escapeHtml(message), ...(hint === undefined ? [] : [escapeHtml(hint)]), "Return to your terminal for details."])
})

/** A callback whose `state` is not this login's: answered, ignored. */
export const stateMismatch = (): Page => ({
  status: 400,
  html: layout("err", "This link is not for the current sign-in", [
    "The sign-in response does not match the login running in your terminal (it may be from an older attempt).",
    "The login in your terminal is still waiting: use the URL it printed."
  ])
})

export const missingCode = (): Page => ({
  status: 400,
  html: layout("err", "Incomplete sign-in response", ["The response has no authorization code. The login in your terminal is still waiting: use the URL it printed."])
})

/** A second callback after one was accepted. */
export const alreadyHandled = (): Page => ({
  status: 409,
  html: layout("err", "Sign-in already received", ["This login already received its response. Return to your terminal."])
})

export const notFound = (): Page => ({ status: 404, html: layout("err", "Not found", ["This address serves only the Codex sign-in callback."]) })

export const methodNotAllowed = (): Page => ({ status: 405, html: layout("err", "Method not allowed", ["Only GET is accepted here."]) })

export const badHost = (): Page => ({ status: 400, html: layout("err", "Bad request", ["Unexpected Host header."]) })

/** The terminal stopped waiting (Ctrl-C, timeout) before the response arrived or was processed. */
export const cancelled = (): Page => failure("The login in your terminal was cancelled or timed out before this response was processed.", "Run `codex-auth login` again.", 410)
