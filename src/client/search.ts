/**
 * NIP-50 full-text search at one relay the caller names. The relay is asked only when its NIP-11
 * document lists NIP-50: a relay that does not know `search` would ignore the field and answer the
 * rest of the filter (the latest events of the kinds asked), which would look like results.
 *
 * Specs: https://github.com/nostr-protocol/nips/blob/master/50.md,
 * https://github.com/nostr-protocol/nips/blob/master/11.md
 *
 * @module
 */
import type { NostrEvent } from '../crypto/event.js'
import { ClientError } from '../errors.js'
import { tryNormalizeRelayUrl } from '../relay-pool/url.js'
import type { Filter } from '../relay-pool/types.js'
import type { RelayReadOutcome } from '../relay-pool/subscription.js'
import { abortError, type ClientContext } from './context.js'
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
  if (typeof query !== 'string' || query.trim() === '') throw new TypeError('query must be a non-empty string')
  if (options === null || typeof options !== 'object') throw new TypeError('options must be an object')
  if (options.kinds !== undefined && (!Array.isArray(options.kinds) || !options.kinds.every((k) => Number.isSafeInteger(k) && k >= 0 && k <= 65535))) {
    throw new TypeError('options.kinds must be an array of integers from 0 to 65535')
  }
  const limit = options.limit ?? DEFAULT_LIMIT
  if (!Number.isSafeInteger(limit) || limit < 1) throw new RangeError('options.limit must be a positive integer')
  if (options.signal !== undefined && !(options.signal instanceof AbortSignal)) throw new TypeError('options.signal must be an AbortSignal')
  context.assertOpen()

  const { signal, release } = context.link(options.signal)
  try {
    const info = await context.pool.relayInformation(url, { signal })
    if (signal.aborted) throw abortError(context)
    if (info === undefined) {
      throw new ClientError('CLIENT_SEARCH_UNSUPPORTED', 'The relay does not offer NIP-50 search', { details: `${url}: no NIP-11 document` })
    }
    if (!(info.supported_nips ?? []).includes(SEARCH_NIP)) {
      throw new ClientError('CLIENT_SEARCH_UNSUPPORTED', 'The relay does not offer NIP-50 search', { details: `${url}: supported_nips does not list 50` })
    }
    const filter: Filter = { search: query, ...(options.kinds !== undefined && { kinds: [...options.kinds] }), limit }
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
  } finally {
    release()
  }
}
