/**
 * The transport both NIP-46 sides share: listen on some relays for kind 24133 events `p`-tagging
 * our key, decrypt them (NIP-44, or NIP-04 from old peers), and send encrypted, signed kind 24133
 * events through a relay pool.
 *
 * Everything from the network is checked before use and dropped when it does not fit: wrong kind,
 * no `p` tag for us, our own echo, oversized content, refused by the caller's `admit` (rate limits,
 * author checks: applied before the decryption, which costs an ECDH), undecryptable, not JSON.
 * Drops are counted by reason; nothing from the network throws or rejects.
 *
 * @module
 */
import { nowSeconds, type NostrEvent } from '../crypto/event.js'
import type { Signer } from '../crypto/signer.js'
import { LruSet } from '../relay-pool/lru.js'
import type { PublishReport, RelayPool } from '../relay-pool/pool.js'
import type { Subscription } from '../relay-pool/subscription.js'
import type { Filter, RelayOrigin } from '../relay-pool/types.js'
import { cipherSchemeOf, NIP46_KIND, type CipherScheme } from './protocol.js'

/** Why an incoming kind 24133 event was not used. */
export type DropReason =
  /** Not kind 24133, or no `p` tag naming us. */
  | 'not-for-us'
  /** Our own event, echoed back by a relay. */
  | 'own-echo'
  /** Already handled (the same event from another relay, or replayed). */
  | 'duplicate'
  /** Content longer than the bound. */
  | 'too-large'
  /** Refused before decryption: rate limit, unexpected author, stale date. */
  | 'refused'
  /** The content does not decrypt with our key and the author's. */
  | 'undecryptable'
  /** Decrypted, but not a request or response at all (bad JSON, no id). */
  | 'malformed'
  /** A well-formed message nobody waits for: an unknown or settled request id, a wrong secret. */
  | 'unexpected'

/** A decrypted incoming message. */
export interface ChannelMessage {
  /** The verified event it came in (the pool checked the signature). */
  readonly event: NostrEvent
  /** The relay that delivered it first. */
  readonly relay: string
  /** The encryption the sender used (answer in kind). */
  readonly scheme: CipherScheme
  /** The decrypted text. */
  readonly text: string
}

/** Options of {@link Nip46Channel}. */
export interface ChannelOptions {
  readonly pool: RelayPool
  /** Our key on the wire (the client key, or the bunker's remote-signer key). */
  readonly signer: Signer
  /** `signer`'s public key. */
  readonly pubkey: string
  /** Largest content read. */
  readonly maxContentLength: number
  /** Checked before decrypting; false drops the event as `refused`. */
  readonly admit: (event: NostrEvent, relay: string) => boolean
  /** A decrypted message. Errors it throws are passed to `onError`. */
  readonly onMessage: (message: ChannelMessage) => void | Promise<void>
  /** A listener error or an undelivered send: never thrown at the network's pace. */
  readonly onError: (error: unknown) => void
}

/** A live subscription on some relays. */
export interface Listening {
  /** The relays listened on. */
  readonly relays: readonly string[]
  /** Stops listening. Idempotent. */
  close(): void
}

/** Relays to publish to, and where their URLs came from. */
export interface SendTarget {
  readonly relays: readonly string[]
  readonly origin: RelayOrigin
}

/** Counts of dropped events, by reason. */
export type DropCounts = Record<DropReason, number>

/** Fresh zero counts. */
export function emptyDropCounts(): DropCounts {
  return { 'not-for-us': 0, 'own-echo': 0, duplicate: 0, 'too-large': 0, refused: 0, undecryptable: 0, malformed: 0, unexpected: 0 }
}

/** Event ids remembered to drop copies that arrive from a second relay or are replayed. */
const SEEN_IDS = 4096

/**
 * Listens and sends NIP-46 messages for one key. Internal to `nostr-rendezvous/nip46`.
 */
export class Nip46Channel {
  readonly dropped: DropCounts = emptyDropCounts()
  readonly #options: ChannelOptions
  readonly #seen = new LruSet<string>(SEEN_IDS)
  readonly #subscriptions = new Set<Subscription>()
  #closed = false

  constructor(options: ChannelOptions) {
    this.#options = options
  }

  /** Counts a drop decided by the caller after decryption. */
  drop(reason: DropReason): void {
    this.dropped[reason] += 1
  }

  /**
   * Subscribes on `relays` to kind 24133 events tagging us, dated from `slackSeconds` ago on
   * (kind 24133 is ephemeral, so relays hold nothing older to replay), and resolves once
   * every relay reached EOSE or an outcome (so a request sent afterwards cannot be answered before
   * we listen).
   */
  async listen(relays: readonly string[], options: { slackSeconds: number; authors?: readonly string[]; origin: RelayOrigin }): Promise<Listening> {
    const filter: Filter = { kinds: [NIP46_KIND], '#p': [this.#options.pubkey], since: nowSeconds() - options.slackSeconds }
    if (options.authors !== undefined) filter.authors = options.authors
    const subscription = this.#options.pool.subscribe([filter], {
      relays,
      origin: options.origin,
      // The peer's clock may lag ours: read (and resume after a reconnect) with that much slack.
      resumeSlackSeconds: options.slackSeconds,
      onEvent: (event, relay) => this.#receive(event, relay),
    })
    this.#subscriptions.add(subscription)
    await subscription.settled
    let open = true
    return {
      relays: [...relays],
      close: () => {
        if (!open) return
        open = false
        subscription.close()
        this.#subscriptions.delete(subscription)
      },
    }
  }

  /**
   * Encrypts `body` for `to` with `scheme`, signs one kind 24133 event `p`-tagging `to`, and
   * publishes it to every group of relays (each group with its own origin, for the connect policy).
   *
   * @returns one report for all groups: every relay's outcome, and how many accepted.
   */
  async send(to: string, body: object, scheme: CipherScheme, targets: readonly SendTarget[]): Promise<PublishReport> {
    const { signer, pool } = this.#options
    const text = JSON.stringify(body)
    const content = scheme === 'nip04' ? await signer.nip04.encrypt(to, text) : await signer.nip44.encrypt(to, text)
    const event = await signer.signEvent({ kind: NIP46_KIND, content, tags: [['p', to]] })
    // Our own copy coming back is dropped as an echo by author; remembering the id saves the check.
    this.#seen.add(event.id)
    const groups = targets.filter((target) => target.relays.length > 0)
    const reports = await Promise.all(groups.map((target) => pool.publish(event, { relays: target.relays, origin: target.origin })))
    return {
      eventId: event.id,
      relays: reports.flatMap((report) => report.relays),
      accepted: reports.reduce((sum, report) => sum + report.accepted, 0),
    }
  }

  /** Closes every subscription of this channel. Idempotent. */
  close(): void {
    this.#closed = true
    for (const subscription of this.#subscriptions) subscription.close()
    this.#subscriptions.clear()
  }

  #receive(event: NostrEvent, relay: string): void {
    if (this.#closed) return
    const { pubkey, maxContentLength } = this.#options
    if (event.kind !== NIP46_KIND || !event.tags.some((tag) => tag[0] === 'p' && tag[1] === pubkey)) return this.drop('not-for-us')
    if (event.pubkey === pubkey) return this.drop('own-echo')
    if (!this.#seen.addIfAbsent(event.id)) return this.drop('duplicate')
    if (event.content.length > maxContentLength) return this.drop('too-large')
    let admitted: boolean
    try {
      admitted = this.#options.admit(event, relay)
    } catch (error) {
      this.#options.onError(error)
      admitted = false
    }
    if (!admitted) return this.drop('refused')
    void this.#decryptAndDeliver(event, relay)
  }

  async #decryptAndDeliver(event: NostrEvent, relay: string): Promise<void> {
    const scheme = cipherSchemeOf(event.content)
    let text: string
    try {
      const cipher = scheme === 'nip04' ? this.#options.signer.nip04 : this.#options.signer.nip44
      text = await cipher.decrypt(event.pubkey, event.content)
    } catch {
      if (!this.#closed) this.drop('undecryptable')
      return
    }
    if (this.#closed) return
    try {
      await this.#options.onMessage({ event, relay, scheme, text })
    } catch (error) {
      this.#options.onError(error)
    }
  }
}

/** A one-line account of a publish report, for error details. */
export function describeReport(report: PublishReport): string {
  return report.relays.map((outcome) => `${outcome.url}: ${outcome.status}${outcome.message ? ` (${outcome.message.slice(0, 80)})` : ''}`).join('; ')
}
