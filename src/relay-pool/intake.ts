/**
 * Where every incoming event copy is authenticated, once per id, in batches.
 *
 * Relays send the same event many times (once per relay, once per overlapping subscription).
 * Signature checks are the expensive part of reading, so the intake:
 * - remembers (in a bounded LRU) the ids already verified together with the signature and author
 *   that verified; a later copy with that id only has its id re-hashed (cheap) and its signature
 *   compared, never re-verified;
 * - collects the copies that arrive in one turn of the event loop (a WebSocket read often carries
 *   many messages) and hands them to `verifyEvents` in one batch, which checks each distinct
 *   signature once;
 * - judges each copy on its own, so a forged copy from one relay never poisons the good copy of
 *   the same id from another.
 *
 * @module
 */

import { hashSerialized, type NostrEvent } from '../crypto/event.js'
import { verifyEvents } from '../crypto/signature.js'
import { LruMap } from './lru.js'

/** What the intake decided about one copy. */
export type IntakeVerdict = 'valid' | 'invalid' | 'overflow'

/** Called once per submitted copy, in submission order, after its batch was checked. */
export type IntakeCallback = (verdict: IntakeVerdict, firstVerification: boolean) => void

interface PendingCopy {
  readonly event: NostrEvent
  readonly callback: IntakeCallback
}

/** Options of {@link EventIntake}. */
export interface EventIntakeOptions {
  /** Verified ids remembered. */
  readonly verifiedCacheSize: number
  /** Copies waiting for one batch before new ones are refused as `overflow`. */
  readonly maxPending: number
  /** Batch verifier; `verifyEvents` from the crypto layer unless a test swaps it. */
  readonly verify?: (events: readonly NostrEvent[]) => boolean[]
}

/** Batches and deduplicates signature checks for the whole pool. Internal. */
export class EventIntake {
  readonly #verified: LruMap<string, string>
  readonly #maxPending: number
  readonly #verify: (events: readonly NostrEvent[]) => boolean[]
  #pending: PendingCopy[] = []
  #flushScheduled = false
  #closed = false

  constructor(options: EventIntakeOptions) {
    this.#verified = new LruMap(options.verifiedCacheSize)
    this.#maxPending = options.maxPending
    this.#verify = options.verify ?? verifyEvents
  }

  /** Queues one shape-checked copy; its callback runs in a microtask with the verdict. */
  submit(event: NostrEvent, callback: IntakeCallback): void {
    if (this.#closed) return
    if (this.#pending.length >= this.#maxPending) {
      callback('overflow', false)
      return
    }
    this.#pending.push({ event, callback })
    if (!this.#flushScheduled) {
      this.#flushScheduled = true
      queueMicrotask(() => this.#flush())
    }
  }

  /** Whether an id has verified before (and is still remembered). */
  isKnownValid(id: string): boolean {
    return this.#verified.peek(id) !== undefined
  }

  /** Drops pending copies without calling back; used when the pool closes. */
  close(): void {
    this.#closed = true
    this.#pending = []
  }

  #flush(): void {
    this.#flushScheduled = false
    const batch = this.#pending
    this.#pending = []
    if (batch.length === 0) return
    const verdicts = new Array<IntakeVerdict>(batch.length)
    const first = new Array<boolean>(batch.length).fill(false)
    const toVerify: NostrEvent[] = []
    const toVerifyIndex: number[] = []
    batch.forEach((copy, index) => {
      const known = this.#verified.get(copy.event.id)
      if (known !== undefined && known === signatureKey(copy.event)) {
        // Same id, signature and author as a copy that verified: only the content could differ,
        // and the id hash catches that.
        verdicts[index] = hashSerialized(copy.event) === copy.event.id ? 'valid' : 'invalid'
      } else {
        toVerify.push(copy.event)
        toVerifyIndex.push(index)
      }
    })
    if (toVerify.length > 0) {
      const results = this.#safeVerify(toVerify)
      toVerify.forEach((event, i) => {
        const index = toVerifyIndex[i] as number
        if (results[i] === true) {
          verdicts[index] = 'valid'
          if (this.#verified.peek(event.id) === undefined) first[index] = true
          this.#verified.set(event.id, signatureKey(event))
        } else {
          verdicts[index] = 'invalid'
        }
      })
    }
    batch.forEach((copy, index) => {
      if (this.#closed) return
      try {
        copy.callback(verdicts[index] ?? 'invalid', first[index] ?? false)
      } catch {
        // A consumer's callback failing must not stop the rest of the batch.
      }
    })
  }

  #safeVerify(events: readonly NostrEvent[]): boolean[] {
    try {
      return this.#verify(events)
    } catch {
      return events.map(() => false)
    }
  }
}

function signatureKey(event: NostrEvent): string {
  return event.sig + event.pubkey
}
