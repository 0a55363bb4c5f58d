/**
 * Environment variables read through the current `ConfigProvider` (so tests can inject one)
 * without `Config`, whose Schema machinery would load on every CLI start.
 *
 * @since 0.1.0
 */
import { ConfigProvider, Effect } from "effect"

/**
 * The variable's value, or `undefined` when it is unset or empty (with `trim`, blank); a provider
 * error counts as unset. With `trim` the value is returned trimmed.
 */
export const envString = (name: string, options: { readonly trim?: boolean } = {}): Effect.Effect<string | undefined> =>
  ConfigProvider.ConfigProvider.use((provider) => provider.load([name])).pipe(
    Effect.map((node) => {
      const raw = node?.value
      const v = options.trim === true ? raw?.trim() : raw
      return v !== undefined && v.length > 0 ? v : undefined
    }),
    Effect.orElseSucceed(() => undefined)
  )
