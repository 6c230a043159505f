/**
 * The one way client capabilities read from relays: ask some relays with some filters, cache what
 * came back (with the relays each event was seen on), and report each relay's answer together
 * with the authors it was asked about. Internal.
 *
 * @module
 */
import type { NostrEvent } from '../crypto/event.js'
import { isRendezvousError } from '../errors.js'
import type { Filter } from '../relay-pool/types.js'
import { tryNormalizeRelayUrl } from '../relay-pool/url.js'
import { abortError, type ClientContext } from './context.js'
import type { RelayQueryReport } from './types.js'

/** One relay and what to ask it. @internal */
export interface RelayRequest {
  readonly url: string
  readonly filters: readonly Filter[]
  /** The authors this relay is asked about (for the report). */
  readonly authors?: readonly string[]
}

/** Options of {@link queryRelays}. @internal */
export interface QueryRelaysOptions {
  readonly signal?: AbortSignal | undefined
  readonly eoseTimeoutMs?: number | undefined
  /** Which round of a read this is (the report's `round`). @default 1 */
  readonly round?: 1 | 2
  /** Called each time a relay finishes, with the count finished so far and the distinct events so far. */
  readonly onRelayDone?: (done: number, events: number) => void
  /** Cache the events in storage. @default true */
  readonly remember?: boolean
}

/** What {@link queryRelays} returns. @internal */
export interface QueryRelaysResult {
  /** Distinct events, newest first (ties by id). */
  readonly events: NostrEvent[]
  /** Event id → relays it was found on. */
  readonly seenOn: Map<string, string[]>
  /** One entry per request, in order. */
  readonly relays: RelayQueryReport[]
}

/**
 * Asks each relay its own filters, all relays at once.
 *
 * @throws ClientError `CLIENT_ABORTED` / `CLIENT_CLOSED` when the signal aborts or the client closes.
 * @internal
 */
export async function queryRelays(context: ClientContext, requests: readonly RelayRequest[], options: QueryRelaysOptions = {}): Promise<QueryRelaysResult> {
  context.assertOpen()
  const { signal, release } = context.link(options.signal)
  const round = options.round ?? 1
  const events = new Map<string, NostrEvent>()
  const seenOn = new Map<string, string[]>()
  let done = 0
  // One controller per relay, fanned out from one listener: a read of 30 relays would otherwise
  // put 30 abort listeners on one signal (Node warns past 10).
  const perRequest = requests.map(() => new AbortController())
  const fanOut = (): void => {
    for (const controller of perRequest) controller.abort(signal.reason)
  }
  signal.addEventListener('abort', fanOut, { once: true })
  if (signal.aborted) fanOut()
  try {
    const reports = await Promise.all(
      requests.map(async (request, index): Promise<RelayQueryReport> => {
        const authors = [...(request.authors ?? [])].sort()
        try {
          const result = await context.pool.query(request.filters, {
            relays: [request.url],
            signal: perRequest[index]!.signal,
            ...(options.eoseTimeoutMs !== undefined && { eoseTimeoutMs: options.eoseTimeoutMs }),
          })
          for (const event of result.events) {
            if (!events.has(event.id)) events.set(event.id, event)
            const relays = seenOn.get(event.id) ?? []
            for (const relay of result.seenOn.get(event.id) ?? []) if (!relays.includes(relay)) relays.push(relay)
            seenOn.set(event.id, relays)
          }
          const outcome = result.relays[0] ?? { url: request.url, status: 'failed' as const, events: 0, firstSeen: 0 }
          return { ...outcome, authors, round }
        } catch (error) {
          if (signal.aborted) throw abortError(context, error)
          // The pool rejects only for abort and close; anything else is reported as this relay's failure.
          const code = isRendezvousError(error) ? error.code : undefined
          return {
            url: request.url,
            status: 'failed',
            ...(code !== undefined && { code: code as RelayQueryReport['code'] & string }),
            message: error instanceof Error ? error.message : String(error),
            events: 0,
            firstSeen: 0,
            authors,
            round,
          } as RelayQueryReport
        } finally {
          done += 1
          options.onRelayDone?.(done, events.size)
        }
      }),
    )
    const sorted = [...events.values()].sort((a, b) => b.created_at - a.created_at || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
    if (options.remember !== false) await context.remember(sorted, seenOn)
    return { events: sorted, seenOn, relays: reports }
  } finally {
    signal.removeEventListener('abort', fanOut)
    release()
  }
}

/**
 * The newest event among `events` (highest `created_at`, then lowest id, as NIP-01 says for
 * replaceable events).
 *
 * @internal
 */
export function newestOf(events: Iterable<NostrEvent>): NostrEvent | undefined {
  let best: NostrEvent | undefined
  for (const event of events) {
    if (best === undefined || event.created_at > best.created_at || (event.created_at === best.created_at && event.id < best.id)) best = event
  }
  return best
}

/**
 * Runs tasks at most `limit` at a time, in the order given. Decrypting is the reason: with a NIP-07
 * or NIP-46 signer each gift wrap is a round trip (or a prompt), and a relay full of wraps must not
 * start hundreds at once.
 *
 * @internal
 */
export function createLimiter(limit: number): <T>(task: () => Promise<T>) => Promise<T> {
  let running = 0
  const waiting: Array<() => void> = []
  const next = (): void => {
    running -= 1
    waiting.shift()?.()
  }
  return async <T>(task: () => Promise<T>): Promise<T> => {
    if (running >= limit) await new Promise<void>((resolve) => waiting.push(resolve))
    running += 1
    try {
      return await task()
    } finally {
      next()
    }
  }
}

/**
 * Normalised, deduplicated relay URLs from untrusted input (tags, hints, zap requests), at most
 * `max`; anything that is not a relay URL is skipped.
 *
 * @example
 * ```ts
 * relayUrls(['wss://Relay.example.com/', 'https://example.com', 'wss://relay.example.com'], 5) // ['wss://relay.example.com']
 * ```
 * @internal
 */
export function relayUrls(inputs: Iterable<unknown>, max = Number.POSITIVE_INFINITY): string[] {
  const out: string[] = []
  for (const input of inputs) {
    if (out.length >= max) break
    const url = tryNormalizeRelayUrl(input)
    if (url !== undefined && !out.includes(url)) out.push(url)
  }
  return out
}
