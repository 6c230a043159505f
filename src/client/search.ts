/**
 * NIP-50 full-text search at one relay the caller names, or at the user's search relays (NIP-51
 * kind 10007) when none is named. A relay is asked only when its NIP-11 document lists NIP-50: a
 * relay that does not know `search` would ignore the field and answer the rest of the filter (the
 * latest events of the kinds asked), which would look like results.
 *
 * Specs: https://github.com/nostr-protocol/nips/blob/master/50.md,
 * https://github.com/nostr-protocol/nips/blob/master/11.md
 *
 * @module
 */
import type { NostrEvent } from '../crypto/event.js'
import { ClientError, isRendezvousError } from '../errors.js'
import { LIST_KINDS } from '../outbox/lists.js'
import { tryNormalizeRelayUrl } from '../relay-pool/url.js'
import type { Filter } from '../relay-pool/types.js'
import type { RelayReadOutcome } from '../relay-pool/subscription.js'
import { abortError, type ClientContext } from './context.js'
import { ownList, relayValues } from './list-store.js'
import type { SearchOptions, SearchResult } from './types.js'

/** NIP-50's number in a NIP-11 `supported_nips` list. */
const SEARCH_NIP = 50

/** Results asked for when the caller does not say. */
const DEFAULT_LIMIT = 20

/**
 * Searches one relay (NIP-50). Its NIP-11 document is fetched (and cached by the pool) first; only
 * when `supported_nips` includes 50 is the relay sent `{ search, kinds?, limit }`. Events come back
 * in the relay's order (NIP-50 asks for best matches first), deduplicated, and are cached in
 * storage. NIP-11 must be enabled in the pool (`pool.fetch` not `false`), else every relay is
 * unsupported.
 *
 * @param context - the client's shared parts.
 * @param relay - the relay URL (the user's choice: the connect policy's private-address rule for
 * discovered relays does not apply).
 * @param query - the search string, passed as is (it may hold NIP-50 extensions such as `language:en`).
 * @param options - `kinds`, `limit` (default 20), `signal`.
 * @returns the events and how the relay answered.
 * @throws TypeError for an invalid URL, an empty query or malformed kinds; RangeError for a bad
 * limit; ClientError `CLIENT_SEARCH_UNSUPPORTED` (no NIP-11 document, or it does not list 50: no
 * REQ was sent), `CLIENT_ABORTED`, `CLIENT_CLOSED`.
 * @internal
 */
export async function searchRelay(context: ClientContext, relay: string, query: string, options: SearchOptions = {}): Promise<SearchResult> {
  const url = tryNormalizeRelayUrl(relay)
  if (url === undefined) throw new TypeError('relay must be a ws:// or wss:// relay URL')
  const limit = checkSearch(query, options)
  context.assertOpen()
  const { signal, release } = context.link(options.signal)
  try {
    const outcome = await searchOne(context, url, query, options.kinds, limit, signal)
    return { ...outcome, relays: [outcome.relay] }
  } finally {
    release()
  }
}

/**
 * Searches at the user's search relays (their newest kind 10007, public and private entries, in
 * order): each is tried in turn, those whose NIP-11 does not list NIP-50 are skipped unasked, and
 * the first that answers (EOSE) gives the results. One relay at a time, not all at once: a search
 * says what the user is looking for, and each relay asked learns it.
 *
 * @param context - the client's shared parts.
 * @param query - the search string.
 * @param options - `kinds`, `limit` (default 20), `signal`.
 * @returns the first answering relay's events, and every relay asked.
 * @throws TypeError for an empty query or malformed kinds; ClientError `CLIENT_NO_SEARCH_RELAYS`
 * (the user has no search relays, or every one is blocked or `read: false`: nothing sent), `CLIENT_SEARCH_UNSUPPORTED` (none lists NIP-50:
 * none was asked), `CLIENT_NO_SIGNER` (no user), `CLIENT_ABORTED`, `CLIENT_CLOSED`. When every
 * relay asked failed, the last one's outcome is returned (as for a named relay).
 * @internal
 */
export async function searchOwnRelays(context: ClientContext, query: string, options: SearchOptions = {}): Promise<SearchResult> {
  const limit = checkSearch(query, options)
  context.assertOpen()
  await context.me()
  const { signal, release } = context.link(options.signal)
  try {
    const list = await ownList(context, LIST_KINDS.searchRelays, signal)
    const listed = list === undefined ? [] : relayValues(list)
    if (listed.length === 0) {
      throw new ClientError('CLIENT_NO_SEARCH_RELAYS', 'The user has no search relays', { details: 'set some with client.lists.setSearchRelays() or name a relay' })
    }
    // The relay settings hold here too: a blocked (rank 0) or `read: false` relay is not asked,
    // not even for its NIP-11 document over HTTP.
    const urls = listed.filter((url) => !context.relayConfig.isBlocked(url) && context.relayConfig.get(url).read !== false)
    if (urls.length === 0) {
      throw new ClientError('CLIENT_NO_SEARCH_RELAYS', 'Every search relay of the user is blocked or marked read: false', { details: listed.join(', ') })
    }
    const asked: RelayReadOutcome[] = []
    const unsupported: string[] = []
    let last: { events: NostrEvent[]; relay: RelayReadOutcome } | undefined
    for (const url of urls) {
      try {
        last = await searchOne(context, url, query, options.kinds, limit, signal)
      } catch (error) {
        if (isRendezvousError(error, 'CLIENT_SEARCH_UNSUPPORTED')) {
          unsupported.push(error.details ?? url)
          continue
        }
        throw error
      }
      asked.push(last.relay)
      if (last.relay.status === 'eose') break
    }
    if (last === undefined) {
      throw new ClientError('CLIENT_SEARCH_UNSUPPORTED', 'None of the search relays offers NIP-50 search', { details: unsupported.join('; ') })
    }
    return { ...last, relays: asked }
  } finally {
    release()
  }
}

/** Checks a query and its options; returns the limit. */
function checkSearch(query: string, options: SearchOptions): number {
  if (typeof query !== 'string' || query.trim() === '') throw new TypeError('query must be a non-empty string')
  if (options === null || typeof options !== 'object') throw new TypeError('options must be an object')
  if (options.kinds !== undefined && (!Array.isArray(options.kinds) || !options.kinds.every((k) => Number.isSafeInteger(k) && k >= 0 && k <= 65535))) {
    throw new TypeError('options.kinds must be an array of integers from 0 to 65535')
  }
  const limit = options.limit ?? DEFAULT_LIMIT
  if (!Number.isSafeInteger(limit) || limit < 1) throw new RangeError('options.limit must be a positive integer')
  if (options.signal !== undefined && !(options.signal instanceof AbortSignal)) throw new TypeError('options.signal must be an AbortSignal')
  return limit
}

/** One relay: its NIP-11 checked, then the search sent. */
async function searchOne(
  context: ClientContext,
  url: string,
  query: string,
  kinds: readonly number[] | undefined,
  limit: number,
  signal: AbortSignal,
): Promise<{ events: NostrEvent[]; relay: RelayReadOutcome }> {
  const info = await context.pool.relayInformation(url, { signal })
  if (signal.aborted) throw abortError(context)
  if (info === undefined) {
    throw new ClientError('CLIENT_SEARCH_UNSUPPORTED', 'The relay does not offer NIP-50 search', { details: `${url}: no NIP-11 document` })
  }
  if (!(info.supported_nips ?? []).includes(SEARCH_NIP)) {
    throw new ClientError('CLIENT_SEARCH_UNSUPPORTED', 'The relay does not offer NIP-50 search', { details: `${url}: supported_nips does not list 50` })
  }
  const filter: Filter = { search: query, ...(kinds !== undefined && { kinds: [...kinds] }), limit }
  // Collected in arrival order rather than through pool.query (which sorts by time): a search
  // relay sends its best matches first.
  const events: NostrEvent[] = []
  const subscription = context.pool.subscribe([filter], {
    relays: [url],
    origin: 'configured',
    closeOnEose: true,
    signal,
    onEvent: (event) => void events.push(event),
  })
  const report = await subscription.settled
  subscription.close()
  if (signal.aborted) throw abortError(context)
  const outcome: RelayReadOutcome = report.relays[0] ?? { url, status: 'failed', events: 0, firstSeen: 0 }
  await context.remember(events, new Map(events.map((event) => [event.id, [url]])))
  return { events, relay: outcome }
}
