/** Builds unsigned JWTs with the OpenAI claims, for tests. */
export const b64url = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString("base64url")

export const makeJwt = (claims: Record<string, unknown>): string =>
  `${b64url({ alg: "none", typ: "JWT" })}.${b64url(claims)}.c2lnbmF0dXJl`

export const idTokenFor = (options: {
  readonly email?: string
  readonly accountId?: string
  readonly plan?: string
  readonly userId?: string
  readonly exp?: number
}): string =>
  makeJwt({
    email: options.email ?? "user@example.com",
    exp: options.exp ?? Math.floor(Date.now() / 1000) + 3600,
    "https://api.openai.com/auth": {
      chatgpt_plan_type: options.plan ?? "plus",
      chatgpt_account_id: options.accountId ?? "acct-123",
      chatgpt_user_id: options.userId ?? "user-abc",
      organizations: [{ id: "org-1", title: "Personal", role: "owner", is_default: true }]
    }
  })
