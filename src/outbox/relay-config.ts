/**
 * The user's own per-relay settings: a rank (0 = never use) and read / write / advertise /
 * spam-safe flags, persisted in storage, plus the relays the user blocked (NIP-51 kind 10006).
 * The selector, router and pool gates consult it. SCAFFOLD: filled in by issue 9.
 *
 * @module
 */

/** Rank given to relays the user has not ranked. 0 = never use; 9 = most preferred. */
export const DEFAULT_RELAY_RANK = 3

/** One relay's settings, defaults filled in. */
export interface RelayPreference {
  /** Normalised relay URL. */
  readonly url: string
  /** 0 = never connect, read, write or advertise; 1-9 = preference (default 3). */
  readonly rank: number
  /** `false`: never read from it; `true`: one of the user's own read relays; unset: as relay lists say. */
  readonly read?: boolean
  /** `false`: never publish to it; `true`: one of the user's own write relays; unset: as relay lists say. */
  readonly write?: boolean
  /** `false`: never send the relay list there; `true`: always; unset: automatic. */
  readonly advertise?: boolean
  /** Events from people the user does not follow are accepted from this relay. */
  readonly spamSafe?: boolean
}

/** A change to one relay's settings; `null` clears a flag back to unset. */
export type RelayPreferenceChange = {
  readonly [K in Exclude<keyof RelayPreference, 'url'>]?: RelayPreference[K] | null
}

/** The per-relay settings store. */
export interface RelayConfig {
  /** One relay's settings (defaults when never set). */
  get(url: string): RelayPreference
  /** Every relay with an explicit setting. */
  all(): RelayPreference[]
  /** Changes one relay's settings and persists them. */
  set(url: string, change: RelayPreferenceChange): Promise<RelayPreference>
  /** `true` when the relay must not be used at all: rank 0, or on the blocked-relays list. */
  isBlocked(url: string): boolean
  /** `true` when the relay is flagged spam-safe (and not blocked). */
  isSpamSafe(url: string): boolean
  /** Replaces the blocked-relays list (the user's NIP-51 kind 10006). */
  setBlocked(urls: readonly string[]): void
  /** Loads the persisted settings; the others answer defaults until it resolves. */
  load(): Promise<void>
}

/** Options of {@link createRelayConfig}. */
export interface RelayConfigOptions {
  /** Where the settings persist (the `settings` collection). SCAFFOLD: not persisted yet. */
  readonly storage?: unknown
}

/**
 * Creates the per-relay settings store. SCAFFOLD: in memory only until issue 9 fills it in.
 *
 * @param _options - storage.
 * @returns the store.
 */
export function createRelayConfig(_options: RelayConfigOptions = {}): RelayConfig {
  const settings = new Map<string, RelayPreference>()
  let blocked = new Set<string>()
  const get = (url: string): RelayPreference => settings.get(url) ?? { url, rank: DEFAULT_RELAY_RANK }
  return {
    get,
    all: () => [...settings.values()],
    async set(url, change) {
      const next: Record<string, unknown> = { ...get(url) }
      for (const [key, value] of Object.entries(change)) {
        if (value === null) delete next[key]
        else if (value !== undefined) next[key] = value
      }
      if (next.rank === undefined) next.rank = DEFAULT_RELAY_RANK
      settings.set(url, next as unknown as RelayPreference)
      return get(url)
    },
    isBlocked: (url) => blocked.has(url) || get(url).rank === 0,
    isSpamSafe: (url) => !blocked.has(url) && get(url).rank !== 0 && get(url).spamSafe === true,
    setBlocked(urls) {
      blocked = new Set(urls)
    },
    load: async () => undefined,
  }
}
