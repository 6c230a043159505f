/**
 * Types shared across the outbox layer: a person's scored relays (the scorer's output and the
 * selector's input) and the selection the selector returns.
 *
 * @module
 */

/** One relay for one author, with how strongly the evidence says the author's events are there. */
export interface ScoredRelay {
  /** Normalised relay URL. */
  readonly url: string
  /** Non-negative score; larger is better. Zero means "known, but do not use". */
  readonly weight: number
}

/**
 * Each author's candidate relays, as a `Map` or a plain object keyed by pubkey (hex). The order of
 * an author's list does not matter; the selector sorts by weight, then URL.
 */
export type Candidates =
  | ReadonlyMap<string, readonly ScoredRelay[]>
  | Readonly<Record<string, readonly ScoredRelay[]>>

/**
 * Why an author got fewer than `perAuthor` relays:
 * - `no-relays`: nothing is known about where they write (fewer candidates than k, none unhealthy);
 * - `unhealthy`: they have candidates, but the ones that would have filled their quota are unhealthy
 *   (listed in `unhealthy`) or weighted 0 (ruled out, e.g. by the user);
 * - `budget`: usable relays exist but the connection budget ran out before reaching them;
 * - `blocked`: they have candidates, but the ones that would have filled their quota are ruled out
 *   by the user's relay settings (rank 0, the blocked-relays list, `read: false`), and none of the
 *   others is unhealthy.
 */
export type ShortReason = 'no-relays' | 'budget' | 'unhealthy' | 'blocked'

/** An author left with fewer relays than asked for. */
export interface ShortAuthor {
  readonly reason: ShortReason
  /** How many relays the author got. */
  readonly have: number
  /**
   * How many were wanted: for `budget`, min(k, usable candidates); for `unhealthy`, min(k, usable +
   * unhealthy candidates) — what they would have with those relays back; for `blocked`, min(k,
   * usable + ruled-out candidates); for `no-relays`, k.
   */
  readonly want: number
}

/** What {@link selectRelays} returns. All maps iterate in a deterministic order. */
export interface RelaySelection {
  /** Chosen relay → the authors it serves (sorted), in the order the relays were chosen. */
  readonly relays: ReadonlyMap<string, readonly string[]>
  /** Author → the relays chosen for them, best first. Authors with none are absent. */
  readonly byAuthor: ReadonlyMap<string, readonly string[]>
  /** Authors with fewer than `perAuthor` relays, and why. */
  readonly short: ReadonlyMap<string, ShortAuthor>
  /** Sum over authors of min(k, relays chosen for them): what the selector maximises. */
  readonly coverage: number
  /** The redundancy asked for. */
  readonly perAuthor: number
  /** The budget asked for. */
  readonly maxRelays: number
}
