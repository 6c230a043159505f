/**
 * Where every incoming event copy is authenticated: once per event, in batches, off the main
 * thread when the pool's verifier runs workers.
 *
 * Relays send the same event many times (once per relay, once per overlapping subscription).
 * Signature checks are nearly the whole cost of reading, so the intake:
 * - remembers (in a bounded LRU) the ids already verified with the signature that verified; a later
 *   copy of that id is never sent to the verifier again. It is compared with a private pristine copy
 *   of the verified event (kept for the most recent ids) and, failing that, has its id re-hashed;
 * - sends a copy whose id, signature and author are already being verified nowhere: it waits for
 *   that verdict (so an event arriving from three relays at once is verified once, even while the
 *   first copy is still in a worker);
 * - collects the copies that arrive in one turn of the event loop and hands them to the verifier as
 *   one batch (bigger batches cost less per event). A forged signature makes that batch fail; the
 *   verifier then finds the bad copies by halving (about half a batch of extra work for one
 *   forgery), and the relay that sent it becomes suspect: its next copies are checked one by one,
 *   apart from everyone else's, so a relay sending forgeries cannot make the client do much more
 *   work than it would without batching, nor slow down the other relays' batches;
 * - judges each copy on its own: a forged copy from one relay never poisons the good copy of the same
 *   id from another, and a copy that differs from the one being verified is checked by itself;
 * - calls back in submission order, whatever order the batches finish in.
 *
 * Duplicates are still parsed, one object per copy: recognising a duplicate frame before parsing
 * it, safely (comparing its exact event text with the text of the verified copy, so that a forged
 * copy reusing a known id is still judged on its own), was measured slower than parsing it
 * (5.6 against 4.8 µs per frame on the main thread, Node 20): `JSON.parse` of a 1 KB event takes
 * about 2 µs, a signature check about a thousand times that.
 *
 * @module
 */

import { hashSerialized, type NostrEvent } from '../crypto/event.js'
import { verifyEvents } from '../crypto/signature.js'
import { LruMap } from './lru.js'
import { createMainThreadVerifier, type EventVerifier, type VerifyHint } from './verifier.js'

/** What the intake decided about one copy. */
export type IntakeVerdict = 'valid' | 'invalid' | 'overflow'

/** Called once per submitted copy, in submission order, after its batch was checked. */
export type IntakeCallback = (verdict: IntakeVerdict, firstVerification: boolean) => void

/** Options of {@link EventIntake}. */
export interface EventIntakeOptions {
  /** Verified ids remembered. */
  readonly verifiedCacheSize: number
  /** Copies waiting for their verdict before new ones are refused as `overflow`. */
  readonly maxPending: number
  /** Pristine copies of verified events kept for comparing duplicates without hashing. @default min(verifiedCacheSize, 4096) */
  readonly recentCacheSize?: number
  /** Synchronous batch check, run on the main thread (tests swap it). Ignored when `verifier` is given. */
  readonly verify?: (events: readonly NostrEvent[]) => boolean[]
  /** The verifier batches go to. @default a main-thread verifier running `verify` (or `verifyEvents`) */
  readonly verifier?: EventVerifier
}

/** What the intake did so far. */
export interface IntakeStats {
  /** Copies submitted (overflow included). */
  submitted: number
  /** Copies sent to the verifier. */
  verified: number
  /** Copies that waited for the verdict of an identical copy already being verified. */
  joinedInFlight: number
  /** Copies of an already verified id judged by comparison with its pristine copy. */
  matchedKnown: number
  /** Copies of an already verified id judged by re-hashing their id. */
  rehashed: number
  /** Copies refused because too many were waiting. */
  overflow: number
  /** Copies sent to be checked one by one because their source recently sent a forgery. */
  suspectChecks: number
}

/** After a forgery, this many of the source's next copies are checked one by one. */
const SUSPECT_COPIES = 256
/** Sources remembered as suspect. */
const MAX_SUSPECTS = 1024

interface Entry {
  readonly event: NostrEvent
  readonly callback: IntakeCallback
  verdict: IntakeVerdict | undefined
  first: boolean
}

/** One copy on its way through the verifier, with the identical copies waiting for it. */
interface Job {
  readonly event: NostrEvent
  readonly key: string
  /** The relay it came from. */
  readonly source: string
  readonly entries: Entry[]
}

/** Batches and deduplicates signature checks for the whole pool. Internal. */
export class EventIntake {
  readonly #verified: LruMap<string, string>
  readonly #recent: LruMap<string, NostrEvent>
  readonly #maxPending: number
  readonly #verifier: EventVerifier
  /** Entries not yet called back, in submission order. */
  #order: Entry[] = []
  #head = 0
  /** Jobs in flight by id + sig + pubkey. */
  readonly #inFlight = new Map<string, Job[]>()
  /** Jobs not yet sent, in order. */
  #unsent: Job[] = []
  /** Sources that sent a forgery lately, with how many more of their copies go one by one. */
  readonly #suspects = new Map<string, number>()
  #flushScheduled = false
  #closed = false
  readonly #stats: IntakeStats = {
    submitted: 0,
    verified: 0,
    joinedInFlight: 0,
    matchedKnown: 0,
    rehashed: 0,
    overflow: 0,
    suspectChecks: 0,
  }

  constructor(options: EventIntakeOptions) {
    this.#verified = new LruMap(options.verifiedCacheSize)
    this.#recent = new LruMap(options.recentCacheSize ?? Math.min(options.verifiedCacheSize, 2048))
    this.#maxPending = options.maxPending
    this.#verifier = options.verifier ?? createMainThreadVerifier(options.verify ?? verifyEvents)
  }

  /**
   * Queues one shape-checked copy; its callback runs later (at the earliest in a microtask) with
   * the verdict, after the callbacks of every copy submitted before it.
   *
   * @param event - the copy.
   * @param callback - called once with the verdict (synchronously only for `overflow`).
   * @param source - where it came from (the relay URL): a source that sent a forgery has its next
   * copies checked apart, one by one.
   */
  submit(event: NostrEvent, callback: IntakeCallback, source = ''): void {
    if (this.#closed) return
    this.#stats.submitted += 1
    if (this.#order.length - this.#head >= this.#maxPending) {
      this.#stats.overflow += 1
      callback('overflow', false)
      return
    }
    const entry: Entry = { event, callback, verdict: undefined, first: false }
    this.#order.push(entry)
    this.#judge(entry, source)
    this.#schedule()
  }

  /** Whether an id has verified before (and is still remembered). */
  isKnownValid(id: string): boolean {
    return this.#verified.peek(id) !== undefined
  }

  /** Counters so far (a copy). */
  stats(): IntakeStats {
    return { ...this.#stats }
  }

  /** Drops pending copies without calling back; used when the pool closes. */
  close(): void {
    this.#closed = true
    this.#order = []
    this.#head = 0
    this.#inFlight.clear()
    this.#unsent = []
  }

  #judge(entry: Entry, source: string): void {
    const event = entry.event
    const knownSig = this.#verified.get(event.id)
    if (knownSig !== undefined && knownSig === event.sig) {
      // The id, signature (and, through the id, the author) verified before: only the other
      // fields could differ, and the id covers them.
      const pristine = this.#recent.peek(event.id)
      if (pristine !== undefined && sameEvent(pristine, event)) {
        this.#stats.matchedKnown += 1
        entry.verdict = 'valid'
      } else {
        this.#stats.rehashed += 1
        entry.verdict = hashSerialized(event) === event.id ? 'valid' : 'invalid'
      }
      return
    }
    const key = event.id + event.sig + event.pubkey
    const jobs = this.#inFlight.get(key)
    if (jobs !== undefined) {
      const same = jobs.find((job) => sameEvent(job.event, event))
      if (same !== undefined) {
        this.#stats.joinedInFlight += 1
        same.entries.push(entry)
        return
      }
      // Same id and signature, other content: at most one of them hashes to the id.
      if (hashSerialized(event) !== event.id) {
        entry.verdict = 'invalid'
        return
      }
    }
    const job: Job = { event, key, source, entries: [entry] }
    if (jobs === undefined) this.#inFlight.set(key, [job])
    else jobs.push(job)
    this.#unsent.push(job)
  }

  #schedule(): void {
    if (this.#flushScheduled) return
    this.#flushScheduled = true
    queueMicrotask(() => this.#flush())
  }

  #flush(): void {
    this.#flushScheduled = false
    if (this.#closed) return
    const unsent = this.#unsent
    this.#unsent = []
    this.#stats.verified += unsent.length
    const trusted: Job[] = []
    const suspect = new Map<string, Job[]>()
    for (const job of unsent) {
      const budget = this.#suspects.get(job.source)
      if (budget === undefined) {
        trusted.push(job)
        continue
      }
      if (budget > 1) this.#suspects.set(job.source, budget - 1)
      else this.#suspects.delete(job.source)
      this.#stats.suspectChecks += 1
      const list = suspect.get(job.source)
      if (list === undefined) suspect.set(job.source, [job])
      else list.push(job)
    }
    if (trusted.length > 0) this.#send(trusted, { key: '' })
    for (const [source, jobs] of suspect) this.#send(jobs, { key: source, single: true })
    this.#drain()
  }

  #send(jobs: readonly Job[], hint: VerifyHint): void {
    this.#verifier.verify(
      jobs.map((job) => job.event),
      hint,
    ).then(
      (verdicts) => this.#decided(jobs, verdicts),
      () => this.#decided(jobs, []),
    )
  }

  #decided(jobs: readonly Job[], verdicts: readonly boolean[]): void {
    if (this.#closed) return
    jobs.forEach((job, i) => {
      const valid = verdicts[i] === true
      // An unknown source ('') is never suspect: that would send everyone's copies one by one.
      if (!valid && job.source !== '') {
        this.#suspects.delete(job.source)
        this.#suspects.set(job.source, SUSPECT_COPIES)
        if (this.#suspects.size > MAX_SUSPECTS) this.#suspects.delete(this.#suspects.keys().next().value as string)
      }
      const remaining = this.#inFlight.get(job.key)?.filter((other) => other !== job)
      if (remaining === undefined || remaining.length === 0) this.#inFlight.delete(job.key)
      else this.#inFlight.set(job.key, remaining)
      let first = false
      if (valid) {
        const id = job.event.id
        first = this.#verified.peek(id) === undefined
        this.#verified.set(id, job.event.sig)
        if (first) this.#recent.set(id, pristineCopy(job.event))
      }
      job.entries.forEach((entry, k) => {
        entry.verdict = valid ? 'valid' : 'invalid'
        entry.first = valid && first && k === 0
      })
    })
    this.#drain()
  }

  /** Calls back every entry at the head of the queue that has its verdict. */
  #drain(): void {
    while (this.#head < this.#order.length && !this.#closed) {
      const entry = this.#order[this.#head] as Entry
      if (entry.verdict === undefined) break
      this.#head += 1
      try {
        entry.callback(entry.verdict, entry.first)
      } catch {
        // A consumer's callback failing must not stop the rest.
      }
    }
    if (this.#head > 1024 && this.#head * 2 > this.#order.length) {
      this.#order = this.#order.slice(this.#head)
      this.#head = 0
    }
  }

}

/** Whether two events have the same seven fields (tags compared element by element). */
function sameEvent(a: NostrEvent, b: NostrEvent): boolean {
  if (a === b) return true
  if (a.id !== b.id || a.sig !== b.sig || a.pubkey !== b.pubkey || a.created_at !== b.created_at || a.kind !== b.kind || a.content !== b.content) {
    return false
  }
  const ta = a.tags
  const tb = b.tags
  if (ta.length !== tb.length) return false
  for (let i = 0; i < ta.length; i++) {
    const x = ta[i] as string[]
    const y = tb[i] as string[]
    if (x.length !== y.length) return false
    for (let j = 0; j < x.length; j++) if (x[j] !== y[j]) return false
  }
  return true
}

/** A copy nobody else holds: what a verified event looked like, whatever its holders do to theirs. */
function pristineCopy(event: NostrEvent): NostrEvent {
  return {
    id: event.id,
    pubkey: event.pubkey,
    created_at: event.created_at,
    kind: event.kind,
    tags: event.tags.map((tag) => tag.slice()),
    content: event.content,
    sig: event.sig,
  }
}
