/**
 * Loading rarely used capabilities on first use. Zaps (LNURL, BOLT-11, NIP-57) and NIP-05 lookups
 * are a quarter of the client's code but many apps never call them: behind a dynamic `import()`
 * an app's bundler puts them in a separate chunk, fetched only when the app first zaps or looks up
 * an identifier.
 *
 * @module
 */

/**
 * Memoises an async loader. A failed load (a chunk that did not download) is forgotten, so the next
 * call tries again instead of failing for the client's whole life.
 *
 * @param load - loads and builds the capability.
 * @returns a function giving the one instance.
 * @example
 * ```ts
 * const zaps = lazy(() => import('./zaps.js').then((m) => m.createZapsApi(context)))
 * const api = await zaps()
 * ```
 * @internal
 */
export function lazy<T>(load: () => Promise<T>): () => Promise<T> {
  let loaded: Promise<T> | undefined
  return () => {
    if (loaded === undefined) {
      const attempt = load()
      loaded = attempt
      attempt.catch(() => {
        if (loaded === attempt) loaded = undefined
      })
    }
    return loaded
  }
}

/** The methods of `T` that return promises: the only ones a lazily loaded API can forward. */
type AsyncMethods<T> = { [K in keyof T]: T[K] extends (...args: never[]) => Promise<unknown> ? K : never }[keyof T]

/**
 * An object whose methods load the real API on first call and forward to it. Every method listed
 * must return a promise (a load can only be awaited).
 *
 * @param load - loads the API (memoised with {@link lazy}).
 * @param methods - the method names to forward.
 * @returns the forwarding object.
 * @example
 * ```ts
 * const lists = forwardTo(lazy(() => import('./lists.js').then((m) => m.createListsApi(context))), ['get', 'edit'])
 * ```
 * @internal
 */
export function forwardTo<T extends object>(load: () => Promise<T>, methods: ReadonlyArray<AsyncMethods<T>>): Pick<T, AsyncMethods<T>> {
  const api: Record<string, (...args: unknown[]) => Promise<unknown>> = {}
  for (const name of methods) {
    api[name as string] = async (...args: unknown[]) => {
      const target = (await load()) as Record<string, (...a: unknown[]) => Promise<unknown>>
      return target[name as string]!(...args)
    }
  }
  return api as unknown as Pick<T, AsyncMethods<T>>
}
