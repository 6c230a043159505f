/**
 * People and events as users write them: hex, `npub`/`nprofile`, `note`/`nevent`, or a `nostr:`
 * URI of one of those. The client accepts all of them wherever it takes a pubkey or an event.
 *
 * @module
 */
import { decode } from '../crypto/nip19.js'
import { isValidPublicKey } from '../crypto/keys.js'

const HEX64 = /^[0-9a-f]{64}$/

/** A person: their pubkey and any relay hints that came with it. */
export interface PersonRef {
  readonly pubkey: string
  readonly relays: readonly string[]
}

/** An event: its id and any hints that came with it. */
export interface EventRef {
  readonly id: string
  readonly relays: readonly string[]
  readonly author?: string
}

function stripUri(input: string): string {
  return input.startsWith('nostr:') ? input.slice('nostr:'.length) : input
}

/**
 * Reads a person from hex, `npub`, `nprofile` or `nostr:` + one of those.
 *
 * @param input - what the user gave.
 * @param field - the argument's name, for the error.
 * @returns the pubkey (hex) and relay hints.
 * @throws TypeError naming `field` when it is none of those.
 * @example
 * ```ts
 * import { parsePerson } from 'nostr-rendezvous'
 * parsePerson('npub180cvv07tjdrrgpa0j7j7tmnyl2yr6yr7l8j4s3evf6u64th6gkwsyjh6w6').pubkey
 * // '3bf0c63fcb93463407af97a5e5ee64fa883d107ef9e558472c4eb9aaaefa459d'
 * ```
 */
export function parsePerson(input: string, field = 'pubkey'): PersonRef {
  if (typeof input !== 'string') throw new TypeError(`${field} must be a hex pubkey, an npub or an nprofile`)
  const text = stripUri(input.trim())
  if (HEX64.test(text)) {
    if (!isValidPublicKey(text)) throw new TypeError(`${field} is not a valid public key`)
    return { pubkey: text, relays: [] }
  }
  if (text.startsWith('npub1') || text.startsWith('nprofile1')) {
    let decoded
    try {
      decoded = decode(text)
    } catch (error) {
      throw new TypeError(`${field} is not a valid ${text.startsWith('npub1') ? 'npub' : 'nprofile'}`, { cause: error })
    }
    if (decoded.type === 'npub') return { pubkey: decoded.data, relays: [] }
    if (decoded.type === 'nprofile') return { pubkey: decoded.data.pubkey, relays: decoded.data.relays }
  }
  throw new TypeError(`${field} must be a hex pubkey, an npub or an nprofile`)
}

/**
 * Reads an event reference from a hex id, `note`, `nevent` or `nostr:` + one of those.
 *
 * @param input - what the user gave.
 * @param field - the argument's name, for the error.
 * @returns the id (hex), relay hints and the author when the `nevent` names one.
 * @throws TypeError naming `field` when it is none of those.
 * @example
 * ```ts
 * import { parseEventRef } from 'nostr-rendezvous'
 * parseEventRef('nostr:nevent1...').relays // the relay hints it carries
 * ```
 */
export function parseEventRef(input: string, field = 'event'): EventRef {
  if (typeof input !== 'string') throw new TypeError(`${field} must be a hex event id, a note or an nevent`)
  const text = stripUri(input.trim())
  if (HEX64.test(text)) return { id: text, relays: [] }
  if (text.startsWith('note1') || text.startsWith('nevent1')) {
    let decoded
    try {
      decoded = decode(text)
    } catch (error) {
      throw new TypeError(`${field} is not a valid ${text.startsWith('note1') ? 'note' : 'nevent'}`, { cause: error })
    }
    if (decoded.type === 'note') return { id: decoded.data, relays: [] }
    if (decoded.type === 'nevent') {
      return { id: decoded.data.id, relays: decoded.data.relays, ...(decoded.data.author !== undefined && { author: decoded.data.author }) }
    }
  }
  throw new TypeError(`${field} must be a hex event id, a note or an nevent`)
}
