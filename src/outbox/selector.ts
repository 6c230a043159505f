/**
 * The minimal-cover relay selector: which relays to open so that every followed author is read
 * from up to `k` of their relays, within a connection budget.
 *
 * The problem is maximum k-coverage under a budget (NP-hard). The objective is coverage plus a bonus
 * for every author given at least one relay, so that a tight budget goes to authors who have none
 * before second copies. The selector runs a lazy greedy by marginal gain (ties: connected relays
 * when asked, then weight, then URL), then a bounded local search that swaps a chosen relay for an
 * unchosen one whenever the objective rises, which
 * gets it out of the traps greedy falls into on networks with niche community relays. When the
 * budget allows every author a full quota, it then tries to drop relays while keeping the full
 * cover, so no connection is opened that could be saved. `docs/selection.md` explains the
 * algorithm, its guarantees and its measured distance from the exact optimum.
 *
 * Everything here is a pure function of its input: the same candidates, in any Map or object
 * order, give the same selection.
 *
 * @module
 */
import type { Candidates, RelaySelection, ScoredRelay, ShortAuthor, ShortReason } from './types.js'

/**
 * How many of an author's usable relays (best by weight, then URL) the selector considers. An
 * author who names hundreds of relays (junk lists exist) would otherwise make every step slower;
 * the 21st best relay of one author never decides a good cover. When `perAuthor` is larger than
 * this, `perAuthor` relays are considered instead.
 *
 * @example
 * ```ts
 * import { MAX_CANDIDATES_PER_AUTHOR } from 'nostr-rendezvous/outbox'
 * MAX_CANDIDATES_PER_AUTHOR // 20
 * ```
 */
export const MAX_CANDIDATES_PER_AUTHOR = 20

/**
 * Options of {@link selectRelays}, {@link replanAfterFailure} and {@link updateSelection}.
 *
 * @example
 * ```ts
 * import type { SelectRelaysOptions } from 'nostr-rendezvous/outbox'
 * const options: SelectRelaysOptions = {
 *   candidates: new Map([['<pubkey hex>', [{ url: 'wss://relay.example', weight: 100 }]]]),
 *   perAuthor: 2,
 *   maxRelays: 20,
 *   unhealthy: ['wss://down.example'],
 * }
 * ```
 */
export interface SelectRelaysOptions {
  /** Each author's scored relays (a Map or a plain object keyed by pubkey). */
  readonly candidates: Candidates
  /**
   * The redundancy k: how many of their relays each author is read from.
   * @default 2
   */
  readonly perAuthor?: number
  /**
   * The connection budget: at most this many relays are chosen.
   * @default 20
   */
  readonly maxRelays?: number
  /**
   * Relays not to use (penalty box, known down). Their authors are planned around them, and an
   * author left short because of them is reported `unhealthy`.
   * @default none
   */
  readonly unhealthy?: Iterable<string>
  /**
   * Relays already connected; only read when `preferConnected` is true.
   * @default none
   */
  readonly connected?: Iterable<string>
  /**
   * When true, between relays that add the same coverage, an already-connected relay is chosen
   * before the weights are compared, so a re-selection reuses open connections.
   * @default false
   */
  readonly preferConnected?: boolean
  /**
   * How much more a relay is worth to an author who has none yet than to one who already has
   * some, when the budget cannot give everyone `perAuthor` relays: a first relay for an author
   * counts `1 + firstCoverBonus`, each further one up to `perAuthor` counts 1. The selector then
   * maximises `coverage + firstCoverBonus × authorsCovered`. 0 treats a second copy like a first
   * cover; above 1, one author's first relay outweighs two others' second copies and coverage
   * starts to drop (measured: 98.7% of the optimum at 2). With `perAuthor: 1` it changes nothing.
   * `docs/selection.md` gives the measurements behind the default.
   * @default 1
   */
  readonly firstCoverBonus?: number
  /**
   * Relays the user's settings rule out (rank 0, the blocked-relays list, `read: false`): never
   * chosen, like unhealthy ones, but an author left short only because of them is reported
   * `blocked` rather than `unhealthy` (the fix is the user's settings, not waiting).
   * @default none
   */
  readonly blocked?: Iterable<string>
  /**
   * The user's rank of a relay, 0-9 (see `createRelayConfig`): each author's weight for the relay
   * is multiplied by `rank / 3`, so between relays that cover the same authors with the same
   * evidence the higher-ranked one is chosen, assigned first and dropped last; rank 0 rules the
   * relay out like `blocked`. Asked once per relay URL per call.
   * @default every relay ranked 3 (weights unchanged)
   */
  readonly rank?: (url: string) => number
}

/**
 * What {@link selectRelays}, {@link replanAfterFailure} and {@link updateSelection} return: a
 * {@link RelaySelection} plus how many authors got at least one relay.
 *
 * @example
 * ```ts
 * import { selectRelays, type CoverSelection } from 'nostr-rendezvous/outbox'
 * const selection: CoverSelection = selectRelays({ candidates: new Map() })
 * selection.authorsCovered // 0
 * ```
 */
export interface CoverSelection extends RelaySelection {
  /** Authors read from at least one relay (those present in `byAuthor`). */
  readonly authorsCovered: number
}

/**
 * Options of {@link updateSelection}: those of {@link selectRelays}, plus a drift rule.
 *
 * @example
 * ```ts
 * import { updateSelection } from 'nostr-rendezvous/outbox'
 * // On a periodic refresh: switch to a fresh selection if the incremental one fell 2% behind.
 * selection = updateSelection(selection, { candidates, churnTolerance: 0.02 })
 * ```
 */
export interface UpdateSelectionOptions extends SelectRelaysOptions {
  /**
   * When set, also run a selection from scratch and return it instead of the incremental one when
   * the incremental one's coverage is more than this fraction below it (0.02 = 2%). This doubles
   * the cost of the call, so set it on a periodic refresh rather than on every change.
   * @default undefined (never re-select from scratch)
   */
  readonly churnTolerance?: number
}

/**
 * Chooses the relays to read a set of authors from: each author covered by up to `perAuthor` of
 * their relays, at most `maxRelays` relays in all, as few as possible.
 *
 * The selector maximises coverage (the sum over authors of min(k, chosen relays serving them)) plus
 * `firstCoverBonus` for each author given at least one relay: when the budget binds, a relay that
 * reaches authors who have none counts for more than one that only adds second copies. Then fewer
 * relays when the budget allows a full cover; weights (scaled by the user's `rank`) and URLs break
 * ties. Relays with weight 0, rank 0, or listed in `unhealthy` or `blocked` are never chosen. Each
 * author is assigned their best chosen relays by weight; authors left with fewer than `perAuthor`
 * are listed in `short` with the reason.
 *
 * @param options The candidates and the limits.
 * @returns The chosen relays with the authors each serves, the relays per author, the short authors.
 * @throws TypeError when `candidates` or an entry has the wrong type (the message names the field).
 * @throws RangeError when `perAuthor` or `maxRelays` is not an integer ≥ 1, a weight is negative,
 *   NaN or infinite, `firstCoverBonus` is negative or not finite, or `rank` returns anything but an
 *   integer 0-9.
 * @example
 * ```ts
 * import { selectRelays } from 'nostr-rendezvous/outbox'
 * const alice = 'a'.repeat(64)
 * const bob = 'b'.repeat(64)
 * const selection = selectRelays({
 *   candidates: {
 *     [alice]: [{ url: 'wss://a.example', weight: 100 }],
 *     [bob]: [{ url: 'wss://a.example', weight: 30 }, { url: 'wss://b.example', weight: 100 }],
 *   },
 *   perAuthor: 2,
 *   maxRelays: 10,
 * })
 * selection.byAuthor.get(bob) // ['wss://b.example', 'wss://a.example']
 * selection.short.get(alice) // { reason: 'no-relays', have: 1, want: 2 }
 * ```
 */
export function selectRelays(options: SelectRelaysOptions): CoverSelection {
  const settings = readSettings(options, 'options')
  const problem = buildProblem(options.candidates, settings)
  const cover = new Cover(problem, settings)
  optimise(cover)
  return toSelection(cover)
}

/**
 * Re-plans a selection after some of its relays failed: the failed relays are dropped, every other
 * chosen relay is kept (no churn), and the authors who lost relays are topped up on their
 * next-best relays with the freed budget.
 *
 * The failed relays are treated as unhealthy for this call; pass them in `options.unhealthy`
 * later too if they should stay out of future selections.
 *
 * @param previous The selection in use.
 * @param failed The relays that failed.
 * @param options The current candidates and limits (usually those that produced `previous`).
 * @returns A selection without the failed relays.
 * @throws TypeError when `previous` is not a selection, `failed` not an iterable of strings, or the
 *   options are malformed (see {@link selectRelays}).
 * @throws RangeError as {@link selectRelays}.
 * @example
 * ```ts
 * import { replanAfterFailure, selectRelays } from 'nostr-rendezvous/outbox'
 * const candidates = new Map([['a'.repeat(64), [
 *   { url: 'wss://down.example', weight: 100 },
 *   { url: 'wss://up.example', weight: 30 },
 * ]]])
 * const options = { candidates, perAuthor: 1, maxRelays: 20 }
 * let selection = selectRelays(options)
 * selection = replanAfterFailure(selection, ['wss://down.example'], options)
 * [...selection.relays.keys()] // ['wss://up.example']
 * ```
 */
export function replanAfterFailure(
  previous: RelaySelection,
  failed: Iterable<string>,
  options: SelectRelaysOptions,
): CoverSelection {
  checkPrevious(previous)
  const failedSet = readUrlSet(failed, 'failed')
  const settings = readSettings(options, 'options')
  const unhealthy = new Set(settings.unhealthy)
  for (const url of failedSet) unhealthy.add(url)
  const problem = buildProblem(options.candidates, { ...settings, unhealthy })
  const cover = new Cover(problem, settings)
  keepPrevious(cover, previous)
  cover.greedy(settings.maxRelays)
  // Only the relays added here may be swapped out: the kept ones are open connections.
  if (cover.coverage < problem.totalNeed) cover.localSearch(swapLimit(settings.maxRelays))
  cover.prune(false)
  return toSelection(cover)
}

/**
 * Updates a selection after a small change (a follow added or removed, one relay's weight or
 * health changed) without starting over: the previous relays that still serve someone are kept,
 * those that serve nobody are dropped, and the authors now short are topped up within the budget.
 *
 * Repeated updates can drift below what a fresh selection would reach (a new follow may be best
 * served by a relay the budget no longer has room for). Set `churnTolerance` (e.g. 0.02) on a
 * periodic refresh to switch to a fresh selection when the drift exceeds it.
 *
 * @param previous The selection in use.
 * @param options The new candidates and limits; `churnTolerance` as described above.
 * @returns The updated selection.
 * @throws TypeError when `previous` is not a selection or the options are malformed.
 * @throws RangeError as {@link selectRelays}, or when `churnTolerance` is not in [0, 1].
 * @example
 * ```ts
 * import { selectRelays, updateSelection } from 'nostr-rendezvous/outbox'
 * const candidates = new Map([['a'.repeat(64), [{ url: 'wss://a.example', weight: 100 }]]])
 * let selection = selectRelays({ candidates })
 * const carol = 'c'.repeat(64)
 * candidates.set(carol, [{ url: 'wss://c.example', weight: 100 }])
 * selection = updateSelection(selection, { candidates })
 * selection.byAuthor.get(carol) // ['wss://c.example'] (the budget had room)
 * ```
 */
export function updateSelection(previous: RelaySelection, options: UpdateSelectionOptions): CoverSelection {
  checkPrevious(previous)
  const settings = readSettings(options, 'options')
  const tolerance = options.churnTolerance
  if (tolerance !== undefined && (typeof tolerance !== 'number' || !(tolerance >= 0 && tolerance <= 1))) {
    throw new RangeError(`options.churnTolerance must be a number in [0, 1], got ${String(tolerance)}`)
  }
  const problem = buildProblem(options.candidates, settings)
  const cover = new Cover(problem, settings)
  keepPrevious(cover, previous)
  cover.greedy(settings.maxRelays)
  cover.prune(false)
  const updated = toSelection(cover)
  if (tolerance === undefined) return updated
  const fresh = new Cover(problem, settings)
  optimise(fresh)
  return updated.coverage < fresh.coverage * (1 - tolerance) ? toSelection(fresh) : updated
}

// ---------------------------------------------------------------------------------------------
// Input
// ---------------------------------------------------------------------------------------------

interface Settings {
  readonly k: number
  readonly maxRelays: number
  readonly unhealthy: ReadonlySet<string>
  readonly connected: ReadonlySet<string>
  readonly preferConnected: boolean
  readonly bonus: number
  readonly blocked: ReadonlySet<string>
  readonly rank: ((url: string) => number) | undefined
}

function readSettings(options: SelectRelaysOptions, name: string): Settings {
  if (typeof options !== 'object' || options === null) throw new TypeError(`${name} must be an object`)
  const preferConnected = options.preferConnected ?? false
  if (typeof preferConnected !== 'boolean') throw new TypeError(`${name}.preferConnected must be a boolean`)
  const bonus = options.firstCoverBonus ?? DEFAULT_FIRST_COVER_BONUS
  if (typeof bonus !== 'number') throw new TypeError(`${name}.firstCoverBonus must be a number, got ${typeof bonus}`)
  if (!(bonus >= 0) || bonus === Number.POSITIVE_INFINITY) {
    throw new RangeError(`${name}.firstCoverBonus must be a finite number ≥ 0, got ${String(bonus)}`)
  }
  const rank = options.rank
  if (rank !== undefined && typeof rank !== 'function') throw new TypeError(`${name}.rank must be a function`)
  return {
    blocked: readUrlSet(options.blocked ?? [], `${name}.blocked`),
    rank,
    k: readCount(options.perAuthor, 2, `${name}.perAuthor`),
    maxRelays: readCount(options.maxRelays, 20, `${name}.maxRelays`),
    unhealthy: readUrlSet(options.unhealthy ?? [], `${name}.unhealthy`),
    connected: preferConnected ? readUrlSet(options.connected ?? [], `${name}.connected`) : new Set(),
    preferConnected,
    bonus,
  }
}

/** Measured on the recall simulation; `docs/selection.md` has the figures. */
const DEFAULT_FIRST_COVER_BONUS = 1

function readCount(value: unknown, fallback: number, field: string): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number') throw new TypeError(`${field} must be a number, got ${typeof value}`)
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new RangeError(`${field} must be an integer ≥ 1, got ${String(value)}`)
  }
  return value
}

function readUrlSet(value: unknown, field: string): Set<string> {
  if (typeof value === 'string' || value === null || typeof value !== 'object' || !(Symbol.iterator in value)) {
    throw new TypeError(`${field} must be an iterable of relay URLs`)
  }
  const out = new Set<string>()
  for (const url of value as Iterable<unknown>) {
    if (typeof url !== 'string') throw new TypeError(`${field} must contain only strings, got ${typeof url}`)
    out.add(url)
  }
  return out
}

function checkPrevious(previous: RelaySelection): void {
  if (typeof previous !== 'object' || previous === null || !(previous.relays instanceof Map)) {
    throw new TypeError('previous must be a RelaySelection (its relays a Map)')
  }
}

/**
 * The candidates in canonical form: authors and relays sorted (so input order never matters),
 * each author's usable relays deduplicated (largest weight), sorted best first and capped, and
 * both directions of the author-relay graph as flat arrays (compressed sparse rows).
 */
interface Problem {
  readonly k: number
  readonly authors: readonly string[]
  readonly relays: readonly string[]
  readonly relayIndex: ReadonlyMap<string, number>
  /** Author a's candidates are candRelay/candWeight[candStart[a] .. candStart[a + 1]), best first. */
  readonly candStart: Int32Array
  readonly candRelay: Int32Array
  readonly candWeight: Float64Array
  /** Relay r's authors are relAuthor/relWeight[relStart[r] .. relStart[r + 1]), by author index. */
  readonly relStart: Int32Array
  readonly relAuthor: Int32Array
  readonly relWeight: Float64Array
  /** min(k, usable candidates): the most an author can count towards coverage. */
  readonly need: Int32Array
  /** Known relays of the author that may not be used (unhealthy or weight 0). */
  readonly unusable: Int32Array
  /** Known relays of the author that the user's settings rule out (`blocked`, rank 0). */
  readonly excluded: Int32Array
  readonly totalNeed: number
  /** Sum of the weights of a relay's authors: which of two redundant relays matters less. */
  readonly relayWeight: Float64Array
  readonly connected: Uint8Array
}

/** The authors in code-unit order, and a way to read each one's list. */
function authorsOf(candidates: Candidates): { authors: string[]; listOf: (author: string) => unknown } {
  if (candidates instanceof Map) {
    const authors: string[] = []
    for (const author of candidates.keys()) {
      if (typeof author !== 'string') throw new TypeError(`candidates keys must be pubkey strings, got ${typeof author}`)
      authors.push(author)
    }
    // The default sort of strings is code-unit order, the same everywhere.
    authors.sort()
    return { authors, listOf: (author) => candidates.get(author) }
  }
  if (typeof candidates !== 'object' || candidates === null || Array.isArray(candidates)) {
    throw new TypeError('candidates must be a Map or a plain object keyed by pubkey')
  }
  const record = candidates as Readonly<Record<string, readonly ScoredRelay[]>>
  return { authors: Object.keys(record).sort(), listOf: (author) => record[author] }
}

/**
 * Builds the canonical problem. Measured: this is most of the cost of a selection at 1,000
 * follows, so it works on flat arrays with one Map lookup per (author, relay) pair and no
 * per-pair objects.
 */
function buildProblem(candidates: Candidates, settings: Settings): Problem {
  const { k, unhealthy, blocked: ruledOut, rank: rankOf } = settings
  const cap = Math.max(MAX_CANDIDATES_PER_AUTHOR, k)
  const { authors, listOf } = authorsOf(candidates)
  const A = authors.length
  // Relays get a provisional id in order of appearance, renumbered by URL at the end.
  const idOf = new Map<string, number>()
  const urls: string[] = []
  const blocked: boolean[] = []
  // Per relay id: 0 usable, 1 ruled out by the user, and its rank factor.
  const excludedRelay: boolean[] = []
  const factor: number[] = []
  const seg = new ListBuffer()
  const candStart = new Int32Array(A + 1)
  const unusable = new Int32Array(A)
  const excluded = new Int32Array(A)
  for (let a = 0; a < A; a++) {
    const author = authors[a]!
    const list = listOf(author)
    if (!Array.isArray(list)) throw new TypeError(`${fieldOf(author)} must be an array of { url, weight }`)
    const from = seg.length
    const index = list.length > 32 ? new Map<number, number>() : null
    for (let i = 0; i < list.length; i++) {
      const entry: unknown = list[i]
      if (typeof entry !== 'object' || entry === null) throw new TypeError(`${fieldOf(author)}[${i}] must be an object { url, weight }`)
      const { url, weight } = entry as { url?: unknown; weight?: unknown }
      if (typeof url !== 'string' || url.length === 0) throw new TypeError(`${fieldOf(author)}[${i}].url must be a non-empty string`)
      if (typeof weight !== 'number') throw new TypeError(`${fieldOf(author)}[${i}].weight must be a number, got ${typeof weight}`)
      if (!(weight >= 0) || weight === Number.POSITIVE_INFINITY) {
        throw new RangeError(`${fieldOf(author)}[${i}].weight must be a finite number ≥ 0, got ${String(weight)}`)
      }
      let id = idOf.get(url)
      if (id === undefined) {
        id = urls.length
        idOf.set(url, id)
        urls.push(url)
        blocked.push(unhealthy.has(url))
        const rank = rankOf === undefined ? 3 : readRank(rankOf(url), url)
        excludedRelay.push(rank === 0 || ruledOut.has(url))
        factor.push(rank / 3)
      }
      // The user's rank scales the evidence (rank 3: unchanged, exactly).
      const ranked = factor[id] === 1 ? weight : weight * factor[id]!
      // The same relay from two sources (a hint and a write relay): the stronger evidence counts.
      const at = index !== null ? index.get(id) : seg.find(from, id)
      if (at === undefined) {
        index?.set(id, seg.length)
        seg.push(id, ranked)
      } else if (ranked > seg.weight[at]!) seg.weight[at] = ranked
    }
    // Relays the user ruled out, weight 0 ("known, do not use") and unhealthy relays are counted,
    // then dropped. The user's choice counts first: it holds whatever the relay's health.
    let kept = from
    for (let i = from; i < seg.length; i++) {
      const id = seg.relay[i]!
      if (excludedRelay[id]) excluded[a]!++
      else if (seg.weight[i] === 0 || blocked[id]) unusable[a]!++
      else {
        seg.relay[kept] = id
        seg.weight[kept] = seg.weight[i]!
        kept++
      }
    }
    seg.length = kept
    seg.sortBestFirst(from, urls)
    if (seg.length - from > cap) seg.length = from + cap
    candStart[a + 1] = seg.length
  }

  // Renumber the relays that are usable somewhere by URL.
  const used: number[] = []
  const rank = new Int32Array(urls.length).fill(-1)
  for (let i = 0; i < seg.length; i++) {
    const id = seg.relay[i]!
    if (rank[id] === -1) {
      rank[id] = 0
      used.push(id)
    }
  }
  // The default sort of strings is code-unit order (and twice as fast as a comparator here).
  const relays = used.map((id) => urls[id]!).sort()
  const R = relays.length
  const relayIndex = new Map<string, number>()
  for (let r = 0; r < R; r++) {
    const url = relays[r]!
    rank[idOf.get(url)!] = r
    relayIndex.set(url, r)
  }

  const edges = seg.length
  const candRelay = new Int32Array(edges)
  const candWeight = new Float64Array(edges)
  const need = new Int32Array(A)
  const relStart = new Int32Array(R + 1)
  let totalNeed = 0
  for (let i = 0; i < edges; i++) {
    const r = rank[seg.relay[i]!]!
    candRelay[i] = r
    candWeight[i] = seg.weight[i]!
    relStart[r + 1]!++
  }
  for (let a = 0; a < A; a++) {
    need[a] = Math.min(k, candStart[a + 1]! - candStart[a]!)
    totalNeed += need[a]!
  }
  for (let r = 0; r < R; r++) relStart[r + 1]! += relStart[r]!
  const fill = relStart.slice(0, R)
  const relAuthor = new Int32Array(edges)
  const relWeight = new Float64Array(edges)
  const relayWeight = new Float64Array(R)
  for (let a = 0; a < A; a++) {
    for (let i = candStart[a]!; i < candStart[a + 1]!; i++) {
      const r = candRelay[i]!
      const j = fill[r]!++
      relAuthor[j] = a
      relWeight[j] = candWeight[i]!
      relayWeight[r]! += candWeight[i]!
    }
  }
  const connected = new Uint8Array(R)
  for (const url of settings.connected) {
    const r = relayIndex.get(url)
    if (r !== undefined) connected[r] = 1
  }
  return {
    k,
    authors,
    relays,
    relayIndex,
    candStart,
    candRelay,
    candWeight,
    relStart,
    relAuthor,
    relWeight,
    need,
    unusable,
    excluded,
    totalNeed,
    relayWeight,
    connected,
  }
}

function readRank(value: unknown, url: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 9) {
    throw new RangeError(`options.rank(${JSON.stringify(url)}) must return an integer from 0 to 9, got ${String(value)}`)
  }
  return value
}

// Only for error messages: building it per author is measurable at 10,000 follows.
function fieldOf(author: string): string {
  return `candidates[${JSON.stringify(author)}]`
}

/** Growable parallel arrays of (relay id, weight): every author's list, one after the other. */
class ListBuffer {
  relay = new Int32Array(1024)
  weight = new Float64Array(1024)
  length = 0

  push(relay: number, weight: number): void {
    if (this.length === this.relay.length) {
      const relayGrown = new Int32Array(this.length * 2)
      relayGrown.set(this.relay)
      const weightGrown = new Float64Array(this.length * 2)
      weightGrown.set(this.weight)
      this.relay = relayGrown
      this.weight = weightGrown
    }
    this.relay[this.length] = relay
    this.weight[this.length] = weight
    this.length++
  }

  find(from: number, relay: number): number | undefined {
    for (let i = from; i < this.length; i++) if (this.relay[i] === relay) return i
    return undefined
  }

  /** Sorts [from, length) by weight, largest first, then URL. */
  sortBestFirst(from: number, urls: readonly string[]): void {
    const { relay, weight } = this
    if (this.length - from > 32) {
      const pairs = Array.from({ length: this.length - from }, (_, i) => ({ r: relay[from + i]!, w: weight[from + i]! }))
      pairs.sort((x, y) => y.w - x.w || compareStrings(urls[x.r]!, urls[y.r]!))
      pairs.forEach((p, i) => {
        relay[from + i] = p.r
        weight[from + i] = p.w
      })
      return
    }
    // Insertion sort: most lists hold a handful of relays.
    for (let i = from + 1; i < this.length; i++) {
      const r = relay[i]!
      const w = weight[i]!
      let j = i - 1
      while (j >= from && (weight[j]! < w || (weight[j] === w && urls[relay[j]!]! > urls[r]!))) {
        relay[j + 1] = relay[j]!
        weight[j + 1] = weight[j]!
        j--
      }
      relay[j + 1] = r
      weight[j + 1] = w
    }
  }
}

// Code-unit order, not localeCompare: the same on every machine and locale.
function compareStrings(x: string, y: string): number {
  return x < y ? -1 : x > y ? 1 : 0
}

// ---------------------------------------------------------------------------------------------
// The search
// ---------------------------------------------------------------------------------------------

/** Local-search swaps allowed per call: each one raises the objective, so this only bounds bad cases. */
function swapLimit(maxRelays: number): number {
  return 2 * Math.min(maxRelays, 500) + 16
}

/** From scratch: greedy, local search while the budget binds, then shrink a full cover. */
function optimise(cover: Cover): void {
  const { maxRelays } = cover.settings
  cover.greedy(maxRelays)
  // A swap can leave a relay redundant; dropping it frees budget for another greedy step.
  for (let round = 0; round < 4 && cover.coverage < cover.problem.totalNeed; round++) {
    cover.localSearch(swapLimit(maxRelays))
    const before = cover.order.length
    cover.prune()
    if (cover.order.length === before) break
    cover.greedy(maxRelays)
  }
  if (cover.coverage === cover.problem.totalNeed) cover.shrink()
  else cover.prune()
}

/** Seeds a cover with the previous selection's relays that are still usable, locked in place. */
function keepPrevious(cover: Cover, previous: RelaySelection): void {
  const { relayIndex } = cover.problem
  for (const url of previous.relays.keys()) {
    const r = relayIndex.get(url)
    if (r !== undefined && cover.chosen[r] === 0) {
      cover.add(r)
      cover.locked[r] = 1
    }
  }
  // A kept relay that now serves nobody (its authors left, or better relays of theirs are chosen)
  // would only hold a slot of the budget. Dropping it changes no one's assignment.
  for (const r of cover.order.slice()) if (!cover.servesSomeone(r)) cover.remove(r)
  // The budget may have shrunk since: give up the relays that cost the least coverage.
  while (cover.order.length > cover.settings.maxRelays) cover.remove(cover.cheapest())
}

/**
 * A set of chosen relays and, kept up to date on every add and remove, what each relay would gain
 * or lose: the state the greedy, the swaps and the pruning all read.
 */
class Cover {
  readonly problem: Problem
  readonly settings: Settings
  /** Chosen relays serving each author. */
  readonly count: Int32Array
  readonly chosen: Uint8Array
  /** Relays that may not be swapped out (kept from a previous selection). */
  readonly locked: Uint8Array
  /** Per relay: its authors still below their quota (the coverage it would add if chosen). */
  readonly deficit: Int32Array
  /** Per relay: its authors at or below their quota (the coverage it would cost if removed). */
  readonly critical: Int32Array
  /** Per relay: its authors with no chosen relay yet (each worth the first-cover bonus on top). */
  readonly uncovered: Int32Array
  /** Per relay: its authors with exactly one chosen relay (each loses the bonus if it is removed). */
  readonly single: Int32Array
  /** Per relay: the weights of its authors still below their quota (greedy tie-breaker). */
  readonly gainWeight: Float64Array
  /** The first-cover bonus; 0 skips the `uncovered` and `single` bookkeeping. */
  readonly bonus: number
  /** Chosen relays in the order they were chosen. */
  order: number[] = []
  coverage = 0
  /** When not null, every add (r) and remove (~r) is recorded so that it can be undone. */
  private journal: number[] | null = null
  private readonly scratch: Float64Array

  constructor(problem: Problem, settings: Settings) {
    this.problem = problem
    this.settings = settings
    const A = problem.authors.length
    const R = problem.relays.length
    this.count = new Int32Array(A)
    this.chosen = new Uint8Array(R)
    this.locked = new Uint8Array(R)
    this.deficit = new Int32Array(R)
    this.critical = new Int32Array(R)
    this.gainWeight = new Float64Array(R)
    this.uncovered = new Int32Array(R)
    this.single = new Int32Array(R)
    this.bonus = settings.bonus
    this.scratch = new Float64Array(R)
    for (let r = 0; r < R; r++) {
      const degree = problem.relStart[r + 1]! - problem.relStart[r]!
      this.deficit[r] = degree
      this.critical[r] = degree
      if (this.bonus > 0) this.uncovered[r] = degree
      this.gainWeight[r] = problem.relayWeight[r]!
    }
  }

  add(r: number): void {
    this.chosen[r] = 1
    this.order.push(r)
    this.journal?.push(r)
    const { relStart, relAuthor } = this.problem
    for (let i = relStart[r]!; i < relStart[r + 1]!; i++) this.changeCount(relAuthor[i]!, 1)
  }

  remove(r: number): void {
    this.chosen[r] = 0
    this.order.splice(this.order.indexOf(r), 1)
    this.journal?.push(~r)
    const { relStart, relAuthor } = this.problem
    for (let i = relStart[r]!; i < relStart[r + 1]!; i++) this.changeCount(relAuthor[i]!, -1)
  }

  private changeCount(a: number, step: 1 | -1): void {
    const { need, candStart, candRelay, candWeight } = this.problem
    const n = need[a]!
    const before = this.count[a]!
    const after = before + step
    this.count[a] = after
    this.coverage += Math.min(n, after) - Math.min(n, before)
    // Crossing the quota changes what each of the author's relays would gain; crossing one above
    // it, what each would cost.
    const deficitStep = (after < n ? 1 : 0) - (before < n ? 1 : 0)
    const criticalStep = (after <= n ? 1 : 0) - (before <= n ? 1 : 0)
    // Going from 0 to 1 relay or from 1 to 2 changes who is worth the first-cover bonus.
    const track = this.bonus > 0
    const uncoveredStep = track ? (after === 0 ? 1 : 0) - (before === 0 ? 1 : 0) : 0
    const singleStep = track ? (after === 1 ? 1 : 0) - (before === 1 ? 1 : 0) : 0
    if (deficitStep === 0 && criticalStep === 0 && uncoveredStep === 0 && singleStep === 0) return
    for (let i = candStart[a]!; i < candStart[a + 1]!; i++) {
      const s = candRelay[i]!
      if (deficitStep !== 0) {
        this.deficit[s]! += deficitStep
        this.gainWeight[s]! += deficitStep * candWeight[i]!
      }
      if (criticalStep !== 0) this.critical[s]! += criticalStep
      if (uncoveredStep !== 0) this.uncovered[s]! += uncoveredStep
      if (singleStep !== 0) this.single[s]! += singleStep
    }
  }

  /**
   * What adding relay r would raise the objective by: one per author below their quota, plus the
   * bonus for each of them who has no relay yet.
   */
  gain(r: number): number {
    return this.deficit[r]! + this.bonus * this.uncovered[r]!
  }

  /** What removing relay r would lower the objective by (the mirror of {@link gain}). */
  loss(r: number): number {
    return this.critical[r]! + this.bonus * this.single[r]!
  }

  /**
   * Lazy greedy: adds the relay with the largest gain until the budget is used or no relay adds
   * coverage. Gains only fall as relays are added (the objective, a sum over authors of a concave
   * function of their count, is submodular), so a relay
   * whose recorded gain is still current when it reaches the top of the heap is the best one.
   */
  greedy(limit: number): void {
    const R = this.problem.relays.length
    const heap = new GainHeap(this)
    for (let r = 0; r < R; r++) if (this.chosen[r] === 0 && this.deficit[r]! > 0) heap.push(r)
    while (this.order.length < limit && heap.size > 0) {
      const r = heap.pop()
      if (this.deficit[r] === 0) continue
      if (heap.isStale(r)) heap.push(r)
      else this.add(r)
    }
  }

  /**
   * Best-improvement swaps: replace a chosen (unlocked) relay by an unchosen one while that raises
   * the objective. The gain of swapping `out` for `in` is gain(in) − loss(out) plus, for each
   * author of both, what loss(out) counted for them and gain(in) did not (they keep their count):
   * 1 if they sit exactly at their quota, plus the bonus if they have exactly one relay. That
   * correction is gathered per `in` from its authors.
   */
  localSearch(maxSwaps: number): void {
    const { relStart, relAuthor, need, candStart, candRelay } = this.problem
    const R = this.problem.relays.length
    const { bonus } = this
    const corr = this.scratch
    const gainOf = new Float64Array(R)
    const touched: number[] = []
    for (let swaps = 0; swaps < maxSwaps; swaps++) {
      const ins: number[] = []
      for (let r = 0; r < R; r++) if (this.chosen[r] === 0 && this.deficit[r]! > 0) ins.push(r)
      const outs = this.order.filter((r) => this.locked[r] === 0)
      if (ins.length === 0 || outs.length === 0) return
      for (const r of ins) gainOf[r] = this.gain(r)
      ins.sort((x, y) => gainOf[y]! - gainOf[x]! || x - y)
      let bestDelta = 0
      let bestIn = -1
      let bestOut = -1
      for (const rin of ins) {
        // A swap never gains more than the incoming relay's gain.
        if (gainOf[rin]! <= bestDelta) break
        for (let i = relStart[rin]!; i < relStart[rin + 1]!; i++) {
          const a = relAuthor[i]!
          const c = this.count[a]!
          const shared = (c === need[a] ? 1 : 0) + (c === 1 ? bonus : 0)
          if (shared === 0) continue
          for (let j = candStart[a]!; j < candStart[a + 1]!; j++) {
            const s = candRelay[j]!
            if (this.chosen[s] === 0) continue
            if (corr[s] === 0) touched.push(s)
            corr[s]! += shared
          }
        }
        for (const rout of outs) {
          const delta = gainOf[rin]! - this.loss(rout) + corr[rout]!
          // Equal gains: the heavier incoming relay, then the lighter outgoing one.
          if (
            delta > bestDelta ||
            (delta === bestDelta && bestIn >= 0 &&
              (rin === bestIn ? this.removalBefore(rout, bestOut) : this.gainWeight[rin]! > this.gainWeight[bestIn]!))
          ) {
            bestDelta = delta
            bestIn = rin
            bestOut = rout
          }
        }
        for (const s of touched) corr[s] = 0
        touched.length = 0
      }
      if (bestIn < 0) return
      this.remove(bestOut)
      this.add(bestIn)
    }
  }

  /**
   * Removes chosen relays that cost no coverage, one at a time, lightest first; locked relays only
   * when `withLocked` (an incremental update keeps a redundant old relay that still serves someone).
   */
  prune(withLocked = true): void {
    for (;;) {
      let pick = -1
      for (const r of this.order) {
        if (this.critical[r] !== 0 || (!withLocked && this.locked[r] === 1)) continue
        if (pick < 0 || this.removalBefore(r, pick)) pick = r
      }
      if (pick < 0) return
      // Removing a redundant relay only makes others more needed, so no relay becomes redundant.
      this.remove(pick)
    }
  }

  /** Whether relay x should be dropped before relay y when both are redundant. */
  removalBefore(x: number, y: number): boolean {
    if (this.locked[x] !== this.locked[y]) return this.locked[x] === 0
    const wx = this.problem.relayWeight[x]!
    const wy = this.problem.relayWeight[y]!
    return wx !== wy ? wx < wy : x > y
  }

  /** The chosen relay whose removal costs the least (coverage and first covers), then the lightest. */
  cheapest(): number {
    let pick = -1
    for (const r of this.order) {
      if (pick < 0 || this.loss(r) < this.loss(pick) ||
        (this.loss(r) === this.loss(pick) && this.removalBefore(r, pick))) pick = r
    }
    return pick
  }

  /** Whether chosen relay r is among the best min(k, …) chosen relays of at least one author. */
  servesSomeone(r: number): boolean {
    const { relStart, relAuthor, candStart, candRelay } = this.problem
    const { k } = this.settings
    for (let i = relStart[r]!; i < relStart[r + 1]!; i++) {
      const a = relAuthor[i]!
      let better = 0
      for (let j = candStart[a]!; j < candStart[a + 1]! && better < k; j++) {
        const s = candRelay[j]!
        if (s === r) return true
        if (this.chosen[s] === 1) better++
      }
    }
    return false
  }

  /**
   * With a full cover, tries to do with one relay fewer: remove a relay, then swap to restore the
   * full cover; undo when that fails. Each relay is tried once per pass, two passes at most.
   */
  shrink(): void {
    const total = this.problem.totalNeed
    this.prune()
    for (let pass = 0; pass < 2; pass++) {
      const candidates = this.order
        .filter((r) => this.locked[r] === 0)
        .sort((x, y) => this.critical[x]! - this.critical[y]! || (this.removalBefore(x, y) ? -1 : 1))
      let removed = false
      for (const r of candidates) {
        if (this.chosen[r] === 0) continue
        const savedOrder = this.order.slice()
        this.journal = []
        this.remove(r)
        // Each swap restores at least one unit, so the lost units (plus slack) bound the swaps.
        this.localSearch(total - this.coverage + 4)
        const journal = this.journal
        this.journal = null
        if (this.coverage === total) {
          this.prune()
          removed = true
          continue
        }
        for (let i = journal.length - 1; i >= 0; i--) {
          const op = journal[i]!
          if (op >= 0) this.remove(op)
          else this.add(~op)
        }
        this.order = savedOrder
      }
      if (!removed) return
    }
  }
}

/**
 * A binary max-heap of relays keyed by the gain recorded when pushed: objective gain, then
 * (with `preferConnected`) connected, then weight gain, then lower URL.
 */
class GainHeap {
  private readonly items: number[] = []
  private readonly gain: Float64Array
  private readonly weight: Float64Array
  private readonly cover: Cover
  private readonly connected: Uint8Array | null

  constructor(cover: Cover) {
    const R = cover.problem.relays.length
    this.cover = cover
    this.gain = new Float64Array(R)
    this.weight = new Float64Array(R)
    this.connected = cover.settings.preferConnected ? cover.problem.connected : null
  }

  get size(): number {
    return this.items.length
  }

  isStale(r: number): boolean {
    return this.gain[r] !== this.cover.gain(r) || this.weight[r] !== this.cover.gainWeight[r]
  }

  push(r: number): void {
    this.gain[r] = this.cover.gain(r)
    this.weight[r] = this.cover.gainWeight[r]!
    const items = this.items
    let i = items.length
    items.push(r)
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (!this.above(r, items[parent]!)) break
      items[i] = items[parent]!
      i = parent
    }
    items[i] = r
  }

  pop(): number {
    const items = this.items
    const top = items[0]!
    const last = items.pop()!
    if (items.length === 0) return top
    let i = 0
    for (;;) {
      const left = 2 * i + 1
      if (left >= items.length) break
      const right = left + 1
      const child = right < items.length && this.above(items[right]!, items[left]!) ? right : left
      if (!this.above(items[child]!, last)) break
      items[i] = items[child]!
      i = child
    }
    items[i] = last
    return top
  }

  private above(x: number, y: number): boolean {
    if (this.gain[x] !== this.gain[y]) return this.gain[x]! > this.gain[y]!
    if (this.connected !== null && this.connected[x] !== this.connected[y]) return this.connected[x] === 1
    if (this.weight[x] !== this.weight[y]) return this.weight[x]! > this.weight[y]!
    return x < y
  }
}

// ---------------------------------------------------------------------------------------------
// Output
// ---------------------------------------------------------------------------------------------

/** Assigns each author their best chosen relays (by weight) and reports the short ones. */
function toSelection(cover: Cover): CoverSelection {
  const { problem, settings } = cover
  const { k } = settings
  const { authors, relays, candStart, candRelay, need, unusable, excluded } = problem
  const served: string[][] = new Array(relays.length)
  for (const r of cover.order) served[r] = []
  const byAuthor = new Map<string, readonly string[]>()
  const short = new Map<string, ShortAuthor>()
  let coverage = 0
  for (let a = 0; a < authors.length; a++) {
    const author = authors[a]!
    const mine: string[] = []
    for (let i = candStart[a]!; i < candStart[a + 1]! && mine.length < k; i++) {
      const r = candRelay[i]!
      if (cover.chosen[r] === 0) continue
      mine.push(relays[r]!)
      served[r]!.push(author)
    }
    coverage += mine.length
    if (mine.length > 0) byAuthor.set(author, mine)
    if (mine.length < k) short.set(author, shortAuthor(mine.length, need[a]!, unusable[a]!, excluded[a]!, k))
  }
  const relayMap = new Map<string, readonly string[]>()
  for (const r of cover.order) {
    // Only an old relay kept by an update can end up serving nobody (newer, better relays of its
    // authors took its place); it is not worth a connection.
    const list = served[r]!
    if (list.length > 0) relayMap.set(relays[r]!, list)
  }
  return {
    relays: relayMap,
    byAuthor,
    short,
    coverage,
    perAuthor: k,
    maxRelays: settings.maxRelays,
    authorsCovered: byAuthor.size,
  }
}

function shortAuthor(have: number, need: number, unusable: number, excluded: number, k: number): ShortAuthor {
  let reason: ShortReason
  let want: number
  if (have < need) {
    reason = 'budget'
    want = need
  } else if (unusable > 0) {
    // What they would have with their unusable relays back.
    reason = 'unhealthy'
    want = Math.min(k, need + unusable)
  } else if (excluded > 0) {
    // Only the user's own settings keep them short: what they would have with those relays back.
    reason = 'blocked'
    want = Math.min(k, need + excluded)
  } else {
    reason = 'no-relays'
    want = k
  }
  return { reason, have, want }
}
