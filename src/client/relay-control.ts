/**
 * `client.relays`: the user's per-relay rank and read / write / advertise / spam-safe flags
 * (persisted), the relays blocked by their NIP-51 kind 10006, where the relay list is advertised
 * and why, and one table joining it all with the pool's health for a relay-settings screen.
 * `docs/relay-management.md` explains every rule.
 *
 * @module
 */
import type { RelayPreference, RelayPreferenceChange } from '../outbox/relay-config.js'
import type { AdvertisePlan, AdvertiseReason } from '../outbox/router.js'
import { relayHealthFactor } from '../outbox/scorer.js'
import type { RelayStats } from '../relay-pool/health.js'
import { ownRelayUrls } from '../outbox/relay-lists.js'
import { abortError, type ClientContext, optionalMe } from './context.js'
import { ensureLists } from './publish.js'
import { chooseAdvertiseTargets, readRelaySettings } from './settings.js'

/** Options of {@link RelayControlApi.advertiseTargets}. */
export interface AdvertiseTargetsOptions {
  /** More relays to advertise to (never cut), as `setRelays({ advertiseTo })` takes them. */
  readonly extraRelays?: readonly string[]
  /**
   * Fetch the relay lists of the people the user follows when they are stale (the broad part of
   * the choice rests on them); `false` answers from what the client knows.
   * @default true
   */
  readonly fetch?: boolean
  /** Aborts the fetches (`CLIENT_ABORTED`). */
  readonly signal?: AbortSignal
}

/** Options of {@link RelayControlApi.table}. */
export interface RelayTableOptions {
  /**
   * Also list every relay the pool has statistics for (every relay this client talked to), so
   * that the user can rank or block them.
   * @default false
   */
  readonly includeSeen?: boolean
  /** Aborts the fetch of the user's lists (`CLIENT_ABORTED`). */
  readonly signal?: AbortSignal
}

/** One row of the relay-settings table. */
export interface RelayRow extends RelayPreference {
  /** Never used: rank 0, or on the blocked-relays list. */
  readonly blocked: boolean
  /** On the user's blocked-relays list (NIP-51 kind 10006). */
  readonly onBlockedList: boolean
  /** When its settings were last changed (ms), if ever. */
  readonly changedAt?: number
  /** In the user's published kind 10002 as an inbox (`read`). */
  readonly inbox: boolean
  /** In the user's published kind 10002 as an outbox (`write`). */
  readonly outbox: boolean
  /** In the user's published kind 10050 (DM relays). */
  readonly dm: boolean
  /** Why the relay list is advertised there, when it is (from what the client knows). */
  readonly advertised?: readonly AdvertiseReason[]
  /** The pool's statistics, when the pool has used the relay. */
  readonly stats?: RelayStats
  /** The health factor the router multiplies into scores (0..1; 0.8 for a relay never used). */
  readonly health: number
}

/** The client's per-relay settings and relay-list advertising. */
export interface RelayControlApi {
  /**
   * One relay's settings (defaults for a relay never configured: rank 3, no flag).
   *
   * @param url - a relay URL (normalised).
   * @returns the settings.
   * @throws OutboxError `OUTBOX_RELAY_URL_INVALID`.
   * @example
   * ```ts
   * client.relays.get('wss://relay.example.com') // { url: 'wss://relay.example.com', rank: 3 }
   * ```
   */
  get(url: string): RelayPreference
  /**
   * Every relay with an explicit setting, sorted by URL.
   *
   * @returns the settings.
   * @example
   * ```ts
   * for (const relay of client.relays.list()) console.log(relay.url, relay.rank)
   * ```
   */
  list(): RelayPreference[]
  /**
   * Changes one relay's settings, persisted in the client's storage (written before they apply).
   * `rank` 0-9 (0 = never use it), `read`, `write`, `advertise`, `spamSafe` booleans; `null`
   * clears a setting back to its default. Reads, publishes and the relay-list targets follow at
   * the next call.
   *
   * @param url - a relay URL.
   * @param change - the settings to change.
   * @returns the relay's settings after the change.
   * @throws OutboxError `OUTBOX_RELAY_URL_INVALID`; TypeError / RangeError for a malformed change;
   * ClientError `CLIENT_CLOSED`; the storage's errors (nothing changed).
   * @example
   * ```ts
   * await client.relays.configure('wss://spam.example', { rank: 0 })
   * await client.relays.configure('wss://paid.example', { rank: 8, write: true, spamSafe: true })
   * await client.relays.configure('wss://paid.example', { write: null }) // back to "as my lists say"
   * ```
   */
  configure(url: string, change: RelayPreferenceChange): Promise<RelayPreference>
  /**
   * Clears every setting of one relay (rank 3, no flags).
   *
   * @param url - a relay URL.
   * @returns the defaults.
   * @throws as {@link RelayControlApi.configure}.
   * @example
   * ```ts
   * await client.relays.reset('wss://relay.example.com')
   * ```
   */
  reset(url: string): Promise<RelayPreference>
  /**
   * The blocked-relays list in effect (the user's NIP-51 kind 10006, as last applied), sorted.
   *
   * @returns normalised URLs.
   * @example
   * ```ts
   * client.relays.blocked() // ['wss://blocked.example']
   * ```
   */
  blocked(): string[]
  /**
   * Where the user's relay list goes on the next `setRelays`, and why each relay was chosen: the
   * user's outboxes and inboxes, relays marked `advertise: true`, the indexers, then the relays
   * most of the people the user follows write to (bounded, healthy, open to writes). Blocked and
   * `advertise: false` relays are listed in `excluded`.
   *
   * @param options - extra relays, whether to fetch the follows' lists, `signal`.
   * @returns the targets with their reasons, the same in batches, and the relays left out.
   * @throws ClientError `CLIENT_NO_SIGNER` (no user), `CLIENT_ABORTED`, `CLIENT_CLOSED`; OutboxError
   * `OUTBOX_RELAY_URL_INVALID` (an extra relay).
   * @example
   * ```ts
   * const { targets } = await client.relays.advertiseTargets()
   * for (const t of targets) console.log(t.url, t.reasons.join(', '), t.usedBy ?? '')
   * ```
   */
  advertiseTargets(options?: AdvertiseTargetsOptions): Promise<AdvertisePlan>
  /**
   * The relay-settings table: every configured or blocked relay and every relay of the user's
   * published lists (and with `includeSeen`, every relay the pool used), joined with the pool's
   * health, sorted by URL. Without a user (no signer, no pubkey) the list columns are all false.
   *
   * @param options - `includeSeen`, `signal`.
   * @returns one row per relay.
   * @throws ClientError `CLIENT_ABORTED`, `CLIENT_CLOSED`; the storage's errors.
   * @example
   * ```ts
   * for (const row of await client.relays.table()) {
   *   console.log(row.url, row.rank, row.blocked ? 'blocked' : '', row.outbox ? 'outbox' : '', row.health.toFixed(2))
   * }
   * ```
   */
  table(options?: RelayTableOptions): Promise<RelayRow[]>
  /**
   * Resolves once the settings saved by an earlier run are loaded (the client starts loading them
   * at creation; until then every relay answers its defaults). Never rejects: a failed load is
   * reported to `onError`.
   *
   * @returns when loaded.
   * @example
   * ```ts
   * await client.relays.ready()
   * client.relays.get('wss://spam.example').rank // 0, as set in an earlier session
   * ```
   */
  ready(): Promise<void>
}

function checkOptions(options: unknown): void {
  if (options === null || typeof options !== 'object') throw new TypeError('options must be an object')
  const { signal } = options as { signal?: unknown }
  if (signal !== undefined && !(signal instanceof AbortSignal)) throw new TypeError('options.signal must be an AbortSignal')
}


async function advertiseTargets(context: ClientContext, options: AdvertiseTargetsOptions): Promise<AdvertisePlan> {
  checkOptions(options)
  if (options.fetch !== undefined && typeof options.fetch !== 'boolean') throw new TypeError('options.fetch must be a boolean')
  // Checked before any fetch: a typo fails at once.
  const extraRelays = ownRelayUrls(options.extraRelays ?? [], 'options.extraRelays')
  context.assertOpen()
  const me = await context.me()
  await ensureLists(context, [me], options.signal)
  const plan = await chooseAdvertiseTargets(context, me, { extraRelays, fetchFollows: options.fetch ?? true, ...(options.signal && { signal: options.signal }) })
  if (options.signal?.aborted) throw abortError(context, options.signal.reason)
  return plan
}

async function table(context: ClientContext, options: RelayTableOptions): Promise<RelayRow[]> {
  checkOptions(options)
  if (options.includeSeen !== undefined && typeof options.includeSeen !== 'boolean') throw new TypeError('options.includeSeen must be a boolean')
  context.assertOpen()
  const { relayConfig, pool } = context
  const me = await optionalMe(context)
  let inboxes = new Set<string>()
  let outboxes = new Set<string>()
  let dm = new Set<string>()
  const advertised = new Map<string, readonly AdvertiseReason[]>()
  if (me !== undefined) {
    const settings = await readRelaySettings(context, options.signal === undefined ? {} : { signal: options.signal })
    inboxes = new Set(settings.read)
    outboxes = new Set(settings.write)
    dm = new Set(settings.dm)
    const plan = await chooseAdvertiseTargets(context, me, { fetchFollows: false })
    for (const target of plan.targets) advertised.set(target.url, target.reasons)
  }
  const onList = new Set(relayConfig.blockedList())
  const urls = new Set<string>([...relayConfig.all().map((p) => p.url), ...onList, ...inboxes, ...outboxes, ...dm])
  if (options.includeSeen === true) for (const stats of pool.allRelayStats()) urls.add(stats.url)
  const nowSeconds = context.nowSeconds()
  return [...urls]
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
    .map((url): RelayRow => {
      const stats = pool.relayStats(url)
      const changedAt = relayConfig.changedAt(url)
      const reasons = advertised.get(url)
      return {
        ...relayConfig.get(url),
        blocked: relayConfig.isBlocked(url),
        onBlockedList: onList.has(url),
        ...(changedAt !== undefined && { changedAt }),
        inbox: inboxes.has(url),
        outbox: outboxes.has(url),
        dm: dm.has(url),
        ...(reasons !== undefined && { advertised: reasons }),
        ...(stats !== undefined && { stats }),
        health: relayHealthFactor(stats, nowSeconds),
      }
    })
}

/** @internal */
export function createRelayControlApi(context: ClientContext): RelayControlApi {
  const { relayConfig } = context
  return {
    get: (url) => relayConfig.get(url),
    list: () => relayConfig.all(),
    configure(url, change) {
      context.assertOpen()
      // Not async: a malformed change throws at once, as documented.
      return relayConfig.set(url, change).then((preference) => {
        // A relay the user configured by hand counts as approved: drop a "no" the pool kept from
        // an earlier approval question so the new setting takes effect without a restart.
        if (preference.rank > 0) context.pool.forgetApproval(preference.url)
        return preference
      })
    },
    reset(url) {
      context.assertOpen()
      return relayConfig.set(url, { rank: null, read: null, write: null, advertise: null, spamSafe: null })
    },
    blocked: () => relayConfig.blockedList(),
    advertiseTargets: (options = {}) => advertiseTargets(context, options),
    table: (options = {}) => table(context, options),
    ready: () => relayConfig.loaded(),
  }
}
