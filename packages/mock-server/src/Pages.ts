/**
 * Server-rendered sign-in and device pages: self-contained HTML (inline CSS, no scripts, no
 * external assets), plain forms with labelled controls, so the flow works in any browser and in
 * tests that only speak HTTP. Pages carry a sign-in session id in hidden fields, never a token.
 *
 * @since 0.1.0
 */
import type { Account, Workspace } from "./MockConfig.ts"

/** Escapes text for HTML element content and attribute values. */
export const escapeHtml = (text: string): string =>
  text.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", "\"": "&quot;", "'": "&#39;" })[c]!)

const STYLE = `
*{box-sizing:border-box}
body{margin:0;font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;background:#f4f4f5;color:#18181b}
main{max-width:26rem;margin:3rem auto;background:#fff;border-radius:12px;padding:2rem;box-shadow:0 1px 3px rgba(0,0,0,.12)}
h1{font-size:1.4rem;margin:0 0 .5rem}
p{line-height:1.45}
.muted{color:#52525b;font-size:.9rem}
fieldset{border:0;margin:1rem 0;padding:0}
legend{font-weight:600;margin-bottom:.5rem}
.choice{display:flex;gap:.75rem;align-items:flex-start;border:1px solid #d4d4d8;border-radius:8px;padding:.75rem;margin:.5rem 0;cursor:pointer}
.choice:has(input:checked){border-color:#10a37f;background:#f0fdf9}
.choice span{display:flex;flex-direction:column}
label.field{display:block;font-weight:600;margin:1rem 0 .35rem}
input[type=text]{width:100%;font-size:1.2rem;padding:.6rem;border:1px solid #a1a1aa;border-radius:8px;letter-spacing:.08em}
.actions{display:flex;gap:.75rem;margin-top:1.25rem}
button{font-size:1rem;padding:.65rem 1.1rem;border-radius:8px;border:1px solid #a1a1aa;background:#fff;cursor:pointer}
button.primary{background:#10a37f;border-color:#10a37f;color:#fff}
button:focus-visible,input:focus-visible{outline:3px solid #2563eb;outline-offset:2px}
.error{background:#fef2f2;border:1px solid #fecaca;color:#991b1b;border-radius:8px;padding:.75rem}
.ok{background:#f0fdf4;border:1px solid #bbf7d0;color:#166534;border-radius:8px;padding:.75rem}
.badge{font-size:.75rem;color:#3f3f46;background:#e4e4e7;border-radius:999px;padding:.1rem .5rem;align-self:flex-start}
footer{margin-top:1.5rem;font-size:.8rem;color:#71717a}
`

/** Wraps content in the page layout. */
export const layout = (title: string, content: string): string => `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${escapeHtml(title)} · Mock OpenAI sign-in</title>
<style>${STYLE}</style>
</head>
<body>
<main>
${content}
<footer>codex-auth mock issuer: a local test double of auth.openai.com. Never enter real credentials here.</footer>
</main>
</body>
</html>`

const errorBlock = (error: string | undefined): string => (error === undefined ? "" : `<p class="error" role="alert">${escapeHtml(error)}</p>`)

const hidden = (name: string, value: string): string => `<input type="hidden" name="${name}" value="${escapeHtml(value)}">`

/** Who is asking: the browser flow (redirect host) or a device code. */
export type Requester = { readonly kind: "authorize"; readonly redirectHost: string } | { readonly kind: "device"; readonly userCode: string }

const requesterText = (r: Requester): string =>
  r.kind === "authorize"
    ? `<p class="muted">Codex CLI wants to sign in. After sign-in you will be sent back to <strong>${escapeHtml(r.redirectHost)}</strong>.</p>`
    : `<p class="muted">Approving device code <strong>${escapeHtml(r.userCode)}</strong> for Codex CLI. Continue only if you started this sign-in yourself.</p>`

export const accountPage = (options: {
  readonly session: string
  readonly requester: Requester
  readonly accounts: ReadonlyArray<Account>
  readonly selected: string
  readonly error?: string | undefined
}): string =>
  layout(
    "Choose an account",
    `<h1>Sign in to Codex</h1>
${requesterText(options.requester)}
${errorBlock(options.error)}
<form method="post" action="/signin/account">
${hidden("session", options.session)}
<fieldset>
<legend>Choose an account</legend>
${options.accounts
  .map(
    (a, i) => `<label class="choice" for="account-${i}"><input type="radio" id="account-${i}" name="account" value="${escapeHtml(a.email)}"${a.email === options.selected ? " checked" : ""}>
<span><strong>${escapeHtml(a.email)}</strong><span class="muted">${escapeHtml(a.name)} · ${escapeHtml(a.plan)}${a.passwordOnly && !a.mfa ? " · password only" : ""}</span></span></label>`
  )
  .join("\n")}
</fieldset>
<div class="actions"><button class="primary" type="submit" name="action" value="continue">Continue</button><button type="submit" name="action" value="cancel">Cancel</button></div>
</form>`
  )

export const otpPage = (options: { readonly session: string; readonly email: string; readonly error?: string | undefined }): string =>
  layout(
    "Check your email",
    `<h1>Check your email</h1>
<p>This account signs in with a password only and has no multi-factor authentication, so we sent a one-time code to <strong>${escapeHtml(options.email)}</strong>.</p>
${errorBlock(options.error)}
<form method="post" action="/signin/otp">
${hidden("session", options.session)}
<label class="field" for="otp">One-time code</label>
<input type="text" id="otp" name="otp" inputmode="numeric" autocomplete="one-time-code" pattern="[0-9]{6}" maxlength="6" required>
<div class="actions"><button class="primary" type="submit" name="action" value="continue">Verify</button><button type="submit" name="action" value="cancel" formnovalidate>Cancel</button></div>
</form>`
  )

export const workspacePage = (options: {
  readonly session: string
  readonly email: string
  readonly workspaces: ReadonlyArray<Workspace>
  readonly allowed: ReadonlyArray<string> | undefined
  readonly error?: string | undefined
}): string =>
  layout(
    "Choose a workspace",
    `<h1>Choose a workspace</h1>
<p class="muted">Signed in as <strong>${escapeHtml(options.email)}</strong>.</p>
${errorBlock(options.error)}
<form method="post" action="/signin/workspace">
${hidden("session", options.session)}
<fieldset>
<legend>Workspace</legend>
${options.workspaces
  .map(
    (w, i) => `<label class="choice" for="workspace-${i}"><input type="radio" id="workspace-${i}" name="workspace" value="${escapeHtml(w.id)}"${i === 0 ? " checked" : ""}>
<span><strong>${escapeHtml(w.name)}</strong><span class="muted">${escapeHtml(w.plan)} · ${escapeHtml(w.role)} · ${escapeHtml(w.id)}</span></span>${
      options.allowed !== undefined && !options.allowed.includes(w.id) ? `<span class="badge">not allowed by your administrator</span>` : ""
    }</label>`
  )
  .join("\n")}
</fieldset>
<div class="actions"><button class="primary" type="submit" name="action" value="continue">Continue</button><button type="submit" name="action" value="cancel">Cancel</button></div>
</form>`
  )

export const deviceCodePage = (options: { readonly error?: string | undefined; readonly value?: string | undefined }): string =>
  layout(
    "Enter code",
    `<h1>Sign in to Codex on another device</h1>
<p>Enter the one-time code shown in your terminal. Device codes are a common phishing target: continue only if you started this sign-in yourself.</p>
${errorBlock(options.error)}
<form method="post" action="/codex/device">
<label class="field" for="user_code">Code</label>
<input type="text" id="user_code" name="user_code" autocomplete="off" autocapitalize="characters" spellcheck="false" required value="${escapeHtml(options.value ?? "")}">
<div class="actions"><button class="primary" type="submit">Continue</button></div>
</form>`
  )

export const messagePage = (options: { readonly title: string; readonly message: string; readonly tone: "ok" | "error" }): string =>
  layout(options.title, `<h1>${escapeHtml(options.title)}</h1>\n<p class="${options.tone}" role="${options.tone === "error" ? "alert" : "status"}">${escapeHtml(options.message)}</p>`)
