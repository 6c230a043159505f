/**
 * Spam-safe reading (`ClientOptions.spamFilter`): the pool's `admitEvent` hook that accepts an
 * event from a stranger only from a relay the user flagged spam-safe.
 *
 * A copy is accepted when any of these holds:
 * - its trust is checked elsewhere, by what it is: a gift wrap (kind 1059, signed by a one-time
 *   key, so its author says nothing; the seal inside is checked when opened), a NIP-46 message
 *   (kind 24133: the remote signer and the bunker authenticate and rate-limit their peers), a zap
 *   receipt (kind 9735: valid only when signed by the recipient's LNURL server key);
 * - its author is the user, or someone the user follows (the newest kind 3 known);
 * - the REQ it arrived on names its author (`authors`) or its id (`ids`): the user asked for it;
 * - the relay is spam-safe (`relayConfig.isSpamSafe`).
 *
 * So feeds (by author) and direct lookups (by id) are untouched; what is filtered is what strangers
 * can push at the user: mentions in inboxes (`#p`), replies in threads (`#e`), hashtag reads.
 *
 * The follow list comes from storage when the client starts, and is replaced whenever a newer
 * kind 3 of the user passes by: one the client caches (every follow edit is cached when published)
 * or one a relay sends.
 *
 * @module
 */
import type { NostrEvent } from '../crypto/event.js'
import { GIFT_WRAP_KIND } from '../crypto/nip59.js'
import { FOLLOW_LIST_KIND } from '../outbox/relay-lists.js'
import type { Filter } from '../relay-pool/types.js'
import type { ClientContext } from './context.js'

/** The admission rule and what it learns from. @internal */
export interface SpamFilter {
  /** The pool hook: whether to take this copy from this relay. */
  admit(event: NostrEvent, relay: string, filters: readonly Filter[]): boolean
  /** Events the client cached: a newer follow list of the user replaces the one in use. */
  observe(events: readonly NostrEvent[]): void
}

const HEX64 = /^[0-9a-f]{64}$/

/** Kinds whose authenticity is checked by what reads them (see the module documentation). */
const EXEMPT_KINDS: ReadonlySet<number> = new Set([GIFT_WRAP_KIND, 24133, 9735])

/** The authors and ids a REQ names, as sets (built once per REQ's filter list). */
interface Named {
  readonly authors: ReadonlySet<string>
  readonly ids: ReadonlySet<string>
}

/**
 * Builds the rule. The user's pubkey and follow list load in the background; until they are
 * known, strangers' events from relays that are not spam-safe are refused (the safe side).
 *
 * @internal
 */
export function createSpamFilter(context: () => ClientContext): SpamFilter {
  let me: string | undefined
  let follows: ReadonlySet<string> = new Set()
  /** `created_at` and id of the kind 3 in use, to keep only the newest. */
  let current: { at: number; id: string } | undefined
  const named = new WeakMap<readonly Filter[], Named>()

  const apply = (event: NostrEvent): void => {
    if (event.kind !== FOLLOW_LIST_KIND || event.pubkey !== me) return
    if (current !== undefined && (event.created_at < current.at || (event.created_at === current.at && event.id >= current.id))) return
    current = { at: event.created_at, id: event.id }
    const next = new Set<string>()
    for (const tag of event.tags) if (tag[0] === 'p' && typeof tag[1] === 'string' && HEX64.test(tag[1])) next.add(tag[1])
    follows = next
  }

  const load = async (): Promise<void> => {
    const ctx = context()
    try {
      me = await ctx.me()
    } catch {
      return // Nobody is "me": every author is a stranger.
    }
    try {
      for (const event of await ctx.storage.queryEvents([{ kinds: [FOLLOW_LIST_KIND], authors: [me] }])) apply(event)
    } catch (error) {
      ctx.reportError(error)
    }
  }
  // The context exists once the synchronous construction that creates this filter has finished.
  queueMicrotask(() => void load())

  const namedBy = (filters: readonly Filter[]): Named => {
    let entry = named.get(filters)
    if (entry === undefined) {
      const authors = new Set<string>()
      const ids = new Set<string>()
      for (const filter of filters) {
        for (const author of filter.authors ?? []) authors.add(author)
        for (const id of filter.ids ?? []) ids.add(id)
      }
      entry = { authors, ids }
      named.set(filters, entry)
    }
    return entry
  }

  return {
    admit(event, relay, filters) {
      if (EXEMPT_KINDS.has(event.kind)) return true
      if (event.pubkey === me) {
        apply(event)
        return true
      }
      if (follows.has(event.pubkey)) return true
      const asked = namedBy(filters)
      if (asked.authors.has(event.pubkey) || asked.ids.has(event.id)) return true
      return context().relayConfig.isSpamSafe(relay)
    },
    observe(events) {
      for (const event of events) apply(event)
    },
  }
}
