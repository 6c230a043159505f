/**
 * The client's NIP-05 identifiers: resolve `name@domain` to a person, verify a person's identifier,
 * and use the relays a document names as (weak) evidence of where the person writes.
 *
 * A domain can name any key under any name, so its `relays` are used for a person only when the
 * person's own signed profile (kind 0) claims that identifier and the document names their key for
 * it: otherwise any domain could steer the reads of anyone's posts to relays of its choosing.
 *
 * Lookups go through `context.fetch` (the SOCKS proxy's when one is set), are cached in memory and
 * in the `settings` collection of the client's storage, and end when the client closes. Internal:
 * the public face is `client.nip05`.
 *
 * @module
 */
import { verifyEvent } from '../crypto/signature.js'
import { isRendezvousError } from '../errors.js'
import {
  type Nip05Identifier,
  type Nip05Resolution,
  type Nip05Verdict,
  createNip05Resolver,
  parseNip05,
  tryParseNip05,
} from '../outbox/nip05.js'
import { type ClientContext, withLinkedSignal } from './context.js'
import { parsePerson } from './identifiers.js'
import { profileFromEvent, readProfile } from './profile.js'
import type { Profile } from './types.js'

/** Options of {@link Nip05Api.resolve}. */
export interface Nip05ResolveOptions {
  /**
   * Also read the person's profile (from their outboxes, the indexers and the document's relays)
   * and check that it claims the identifier, as NIP-05 describes for finding people. Only a
   * confirmed identifier's relays become evidence.
   * @default true
   */
  readonly confirm?: boolean
  /** Skip the cache and ask the domain now. @default false */
  readonly fresh?: boolean
  readonly signal?: AbortSignal
}

/** What {@link Nip05Api.resolve} found. */
export interface Nip05Lookup extends Nip05Resolution {
  /** Whether the person's profile claims this identifier (always `false` with `confirm: false`). */
  readonly confirmed: boolean
  /** The profile read to confirm, when one was found. */
  readonly profile?: Profile
  /** Whether the document's relays were given to the router as evidence for the person. */
  readonly relaysApplied: boolean
}

/** Options of {@link Nip05Api.verify} and {@link Nip05Api.profileVerified}. */
export interface Nip05VerifyOptions {
  /** Skip the cache and ask the domain now. @default false */
  readonly fresh?: boolean
  readonly signal?: AbortSignal
}

/** A verification by the client: the outbox verdict, and what it did with the relays. */
export interface PersonNip05Verdict extends Nip05Verdict {
  /** Whether the identifier came from the person's own signed profile (not from the caller). */
  readonly claimed: boolean
  /** Whether the document's relays were given to the router as evidence for the person. */
  readonly relaysApplied: boolean
}

/** The client's NIP-05 identifiers (resolve, verify, relays as evidence). */
export interface Nip05Api {
  /**
   * Parses an identifier without asking anyone (to check a search box's text, or to show
   * `_@domain` as `domain`).
   *
   * @param identifier - `name@domain`, `_@domain` or `domain`.
   * @returns the parsed identifier, or `undefined` when it is not one.
   * @example
   * ```ts
   * client.nip05.parse('_@bob.com')?.display // 'bob.com'
   * ```
   */
  parse(identifier: string): Nip05Identifier | undefined
  /**
   * Finds the person an identifier names: the domain's document, then (unless `confirm: false`)
   * their profile, to check that it claims the identifier. When it does, the relays the document
   * names for them become evidence, so a later feed reads them there even without a relay list.
   * Follow the returned `pubkey`, never the identifier (NIP-05).
   *
   * @param identifier - `name@domain`, `_@domain` or `domain` (e.g. typed into a search box).
   * @param options - `confirm`, `fresh`, `signal`.
   * @returns the key, the document's relays, and whether the profile confirmed it.
   * @throws TypeError for a malformed identifier. OutboxError `NIP05_FETCH_FAILED`,
   * `NIP05_REDIRECTED`, `NIP05_TIMEOUT`, `NIP05_TOO_LARGE`, `NIP05_INVALID_DOCUMENT`,
   * `NIP05_NOT_FOUND` (also from the cache, until the failure expires). ClientError
   * `CLIENT_ABORTED`, `CLIENT_CLOSED`.
   * @example
   * ```ts
   * const found = await client.nip05.resolve('bob@example.com')
   * if (found.confirmed) await client.follow(found.pubkey)
   * ```
   */
  resolve(identifier: string, options?: Nip05ResolveOptions): Promise<Nip05Lookup>
  /**
   * Verifies a person's NIP-05 identifier. Without `identifier`, the one in their newest profile
   * (kind 0) is checked, and when valid the document's relays become evidence for them. With
   * `identifier`, only the document is checked (nothing is applied: the person did not claim it
   * here). What the domain did is in the verdict, never thrown.
   *
   * @param person - hex pubkey, `npub` or `nprofile` (its relays are asked for the profile).
   * @param identifier - the identifier to check instead of the profile's.
   * @param options - `fresh`, `signal`.
   * @returns the verdict: `valid`, `reason` (`verified`, `mismatch`, `not-found`,
   * `invalid-identifier`, `no-identifier`, `unavailable` with a `code`), `claimed`, `relaysApplied`.
   * @throws TypeError for a malformed person or a non-string identifier; ClientError
   * `CLIENT_ABORTED`, `CLIENT_CLOSED`.
   * @example
   * ```ts
   * const verdict = await client.nip05.verify('npub1...')
   * if (verdict.valid) showBadge(verdict.identifier!.display)
   * ```
   */
  verify(person: string, identifier?: string, options?: Nip05VerifyOptions): Promise<PersonNip05Verdict>
  /**
   * Verifies the identifier of a profile already read (`client.profile()`), without reading it
   * again; when valid, the document's relays become evidence for the person.
   *
   * @param profile - a profile from `client.profile()`.
   * @param options - `fresh`, `signal`.
   * @returns the verdict (`no-identifier` when the profile has none).
   * @throws TypeError when `profile` is not a profile whose event is a kind 0 signed by its
   * `pubkey`; ClientError `CLIENT_ABORTED`, `CLIENT_CLOSED`.
   * @example
   * ```ts
   * const profile = await client.profile('npub1...')
   * if (profile && (await client.nip05.profileVerified(profile)).valid) showBadge(profile.nip05)
   * ```
   */
  profileVerified(profile: Profile, options?: Nip05VerifyOptions): Promise<PersonNip05Verdict>
}

/** Per-request limit: longer than the outbox default, as a first request through Tor builds a circuit. */
const DEFAULT_TIMEOUT_MS = 10_000

function checkObject(value: unknown, field: string): void {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new TypeError(`${field} must be an object`)
}

function checkFresh(value: unknown): boolean {
  if (value !== undefined && typeof value !== 'boolean') throw new TypeError('options.fresh must be a boolean')
  return value === true
}

/** @internal */
export function createNip05Api(context: ClientContext): Nip05Api {
  const options = context.options.nip05
  checkObject(options, 'options.nip05')
  const resolver = createNip05Resolver({
    timeoutMs: DEFAULT_TIMEOUT_MS,
    // Only the limits: fetch, storage, clock and life are the client's.
    ...(options.ttlMs !== undefined && { ttlMs: options.ttlMs }),
    ...(options.negativeTtlMs !== undefined && { negativeTtlMs: options.negativeTtlMs }),
    ...(options.timeoutMs !== undefined && { timeoutMs: options.timeoutMs }),
    ...(options.maxBytes !== undefined && { maxBytes: options.maxBytes }),
    // Looked up on each request: the proxy's fetch when one is set (Tor), else the app's.
    fetch: (input, init) => context.fetch(input, init),
    storage: context.storage,
    now: context.now,
    signal: context.closing,
    onError: (error) => context.reportError(error),
  })

  /** Runs a lookup with the caller's signal linked to the client's life; aborts become the client's errors. */
  const guarded = <T>(callerSignal: AbortSignal | undefined, task: (signal: AbortSignal) => Promise<T>): Promise<T> =>
    withLinkedSignal(context, callerSignal, task, (error) => isRendezvousError(error, 'NIP05_ABORTED'))

  /** Gives the document's relays to the evidence store for `pubkey`; whether they were taken. */
  function applyRelays(pubkey: string, relays: readonly string[], fetchedAtMs: number): boolean {
    // A newer fetch replaces the older one as a whole; the scorer weighs `nip05` lightly.
    return context.evidence.applyNip05(pubkey, relays, Math.floor(fetchedAtMs / 1000)) === 'applied'
  }

  /** The verdict for an identifier the person claims, applying the relays when it holds. */
  async function verifyClaimed(pubkey: string, identifier: string | undefined, signal: AbortSignal, fresh: boolean): Promise<PersonNip05Verdict> {
    if (identifier === undefined) return { valid: false, reason: 'no-identifier', pubkey, relays: [], claimed: false, relaysApplied: false }
    const verdict = await resolver.verify(identifier, pubkey, { signal, fresh })
    const relaysApplied = verdict.valid && verdict.fetchedAt !== undefined && applyRelays(pubkey, verdict.relays, verdict.fetchedAt)
    return { ...verdict, claimed: true, relaysApplied }
  }

  return {
    parse: (identifier) => tryParseNip05(identifier),

    async resolve(identifier, options = {}) {
      const id = parseNip05(identifier)
      checkObject(options, 'options')
      if (options.confirm !== undefined && typeof options.confirm !== 'boolean') throw new TypeError('options.confirm must be a boolean')
      const fresh = checkFresh(options.fresh)
      return guarded(options.signal, async (signal) => {
        const found = await resolver.resolve(id.identifier, { signal, fresh })
        if (options.confirm === false) return { ...found, confirmed: false, relaysApplied: false }
        // NIP-05 "finding users": the profile must claim the identifier too. The document's relays
        // are asked as well: they are where a person without a relay list may be found.
        const profile = await readProfile(context, found.pubkey, { signal, relays: found.relays })
        const confirmed = profile !== undefined && tryParseNip05(profile.nip05)?.identifier === id.identifier
        const relaysApplied = confirmed && applyRelays(found.pubkey, found.relays, found.fetchedAt)
        return { ...found, confirmed, relaysApplied, ...(profile !== undefined && { profile }) }
      })
    },

    async verify(input, identifier, options = {}) {
      const person = parsePerson(input, 'person')
      if (identifier !== undefined && typeof identifier !== 'string') throw new TypeError('identifier must be a string')
      checkObject(options, 'options')
      const fresh = checkFresh(options.fresh)
      return guarded(options.signal, async (signal) => {
        if (identifier !== undefined) {
          const verdict = await resolver.verify(identifier, person.pubkey, { signal, fresh })
          return { ...verdict, claimed: false, relaysApplied: false }
        }
        // An nprofile's relays are a clue to where the person writes (and where their profile is).
        const at = context.nowSeconds()
        for (const url of person.relays) context.evidence.addHint(person.pubkey, url, 'nip19-hint', at)
        const profile = await readProfile(context, person.pubkey, { signal, relays: person.relays })
        return verifyClaimed(person.pubkey, profile?.nip05, signal, fresh)
      })
    },

    async profileVerified(profile, options = {}) {
      checkObject(profile, 'profile')
      const event = profile.event
      // The identifier's relays become evidence for this key: only a kind 0 it signed may say so.
      if (typeof event !== 'object' || event === null || event.kind !== 0 || event.pubkey !== profile.pubkey || !verifyEvent(event)) {
        throw new TypeError('profile.event must be a kind 0 event signed by profile.pubkey')
      }
      checkObject(options, 'options')
      const fresh = checkFresh(options.fresh)
      return guarded(options.signal, (signal) => verifyClaimed(event.pubkey, profileFromEvent(event).nip05, signal, fresh))
    },
  }
}
