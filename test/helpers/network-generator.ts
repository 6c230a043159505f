/**
 * A seeded synthetic Nostr network for tests and benchmarks of the outbox layer: relays with a
 * Zipf-like popularity, people with or without a NIP-65 relay list, legacy kind 3 relay maps,
 * NIP-05 relays, third-party relay hints, niche community relays, dead relays, censoring relays and
 * authors whose posts reach only some of the relays they declare.
 *
 * Calibrated to the published figures of the nostrability/outbox study (February 2026); each
 * figure, its source and what the model leaves out are in docs/network-model.md. Everything random
 * comes from a seeded sfc32 generator, so one seed always gives the same network.
 *
 * @example
 * ```ts
 * import { generateNetwork, pickFollows, declaredCandidates } from '../helpers/network-generator.js'
 * const network = generateNetwork({ seed: 1, people: 5_000 })
 * const follows = pickFollows(network, 1_000, 7)
 * const candidates = declaredCandidates(network, follows) // Map<pubkey, ScoredRelay[]>
 * ```
 *
 * @module
 */
import { bytesToHex } from '../../src/crypto/bytes.js'
import { getPublicKey } from '../../src/crypto/keys.js'
import type { ScoredRelay } from '../../src/outbox/types.js'

// ---------------------------------------------------------------------------------------------
// Seeded randomness
// ---------------------------------------------------------------------------------------------

/** A seeded source of uniform numbers; the only randomness the generator uses. */
export interface Rng {
  /** A uniform number in [0, 1). */
  next(): number
  /** A uniform integer in [0, n). */
  int(n: number): number
  /** True with probability `p`. */
  chance(p: number): boolean
}

// murmur3's finaliser: spreads every input bit over the whole word, so that seeds 1, 2, 3 give
// unrelated generator states.
function fmix32(h: number): number {
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  h ^= h >>> 16
  return h >>> 0
}

/**
 * A seeded sfc32 generator. `stream` separates independent sequences drawn from one seed (the
 * network's structure, its keys, a follow list), so adding draws to one does not shift the others.
 *
 * @param seed - any safe integer.
 * @param stream - which independent sequence of that seed.
 * @returns the generator.
 * @throws RangeError when `seed` or `stream` is not a safe integer.
 * @example
 * ```ts
 * import { createRng } from '../helpers/network-generator.js'
 * const rng = createRng(42)
 * rng.int(6) // the same number on every run
 * ```
 */
export function createRng(seed: number, stream = 0): Rng {
  if (!Number.isSafeInteger(seed)) throw new RangeError(`seed must be a safe integer, got ${String(seed)}`)
  if (!Number.isSafeInteger(stream)) throw new RangeError(`stream must be a safe integer, got ${String(stream)}`)
  const low = seed >>> 0
  const high = Math.floor(seed / 2 ** 32) >>> 0
  let a = fmix32(low ^ 0x9e3779b9)
  let b = fmix32(high ^ 0x243f6a88 ^ Math.imul(stream, 0x85ebca6b))
  let c = fmix32((low + Math.imul(stream, 0xc2b2ae35)) ^ 0xb7e15162)
  let d = fmix32(a ^ b ^ c ^ stream)
  const next = (): number => {
    const t = (((a + b) | 0) + d) | 0
    d = (d + 1) | 0
    a = b ^ (b >>> 9)
    b = (c + (c << 3)) | 0
    c = (c << 21) | (c >>> 11)
    c = (c + t) | 0
    return (t >>> 0) / 4294967296
  }
  // The first outputs of sfc32 still echo the seed words; the reference implementation discards them.
  for (let i = 0; i < 15; i++) next()
  return {
    next,
    int: (n) => Math.floor(next() * n),
    chance: (p) => next() < p,
  }
}

const STREAM_STRUCTURE = 1
const STREAM_KEYS = 2
const STREAM_FOLLOWS = 3

// ---------------------------------------------------------------------------------------------
// Public shapes
// ---------------------------------------------------------------------------------------------

/** One relay of the synthetic network. */
export interface SyntheticRelay {
  /** Normalised URL, e.g. `wss://relay-17.example`; community relays are `wss://community-3a.example`. */
  readonly url: string
  /** Position in the popularity law: 0 is the most popular relay. */
  readonly rank: number
  /** False for a dead URL: it still appears in lists, but a connection to it fails. */
  readonly alive: boolean
  /** The community whose members share this relay, for niche community relays. */
  readonly community?: number
  /** Pubkeys whose events this relay silently drops (accepts, never serves). */
  readonly censors: ReadonlySet<string>
}

/** One person of the synthetic network and everything a client could learn about where they post. */
export interface SyntheticPerson {
  /** 64 hex characters (a real x-only key with `realKeys`, otherwise random bytes). */
  readonly pubkey: string
  /** Only with `realKeys`: the secret key, 64 hex characters. */
  readonly secretKey?: string
  /** Index in `network.people`. */
  readonly index: number
  /** Whether they published a kind 10002 relay list. */
  readonly hasRelayList: boolean
  /** 10002 write relays (outboxes); empty without a list. */
  readonly write: readonly string[]
  /** 10002 read relays (inboxes); empty without a list. */
  readonly read: readonly string[]
  /** Kind 10050 DM relays; empty when they published none. */
  readonly dmRelays: readonly string[]
  /** Relays in the legacy kind 3 `content` map (possibly stale); empty when there is none. */
  readonly kind3Relays: readonly string[]
  /** Relays in their NIP-05 document's `relays` entry; empty when there is none. */
  readonly nip05Relays: readonly string[]
  /** Where third parties' `p`/`e` tags and nprofiles point for them (mostly right, sometimes not). */
  readonly hintRelays: readonly string[]
  /**
   * Relays their posts actually land on: their write relays (dead ones included, the simulation
   * drops those) or, for an author whose client reaches only some of them, a subset; for someone
   * without a list, the relays their client actually uses.
   */
  readonly reached: readonly string[]
  /** The community they belong to, when they are in one. */
  readonly community?: number
  /** How many posts they make in the simulated window (0 for an inactive account). */
  readonly posts: number
  /** Relative chance of being followed (heavy-tailed). */
  readonly popularity: number
}

/** A community: people who share one or two small relays. */
export interface SyntheticCommunity {
  readonly id: number
  readonly relays: readonly string[]
  readonly members: readonly string[]
}

/** What {@link generateNetwork} returns. */
export interface SyntheticNetwork {
  /** All relays, by rank (most popular first). */
  readonly relays: readonly SyntheticRelay[]
  readonly people: readonly SyntheticPerson[]
  readonly byPubkey: ReadonlyMap<string, SyntheticPerson>
  readonly relayByUrl: ReadonlyMap<string, SyntheticRelay>
  readonly communities: readonly SyntheticCommunity[]
  /** The options after defaults were applied. */
  readonly options: Readonly<ResolvedNetworkOptions>
}

/** Options of {@link generateNetwork}; every share is a probability in [0, 1]. */
export interface NetworkOptions {
  /** Seed: the same seed and options always give the same network. */
  seed: number
  /** Number of people. */
  people: number
  /** Number of relay URLs. @default max(40, round(people / 4)) */
  relays?: number
  /** Share of people with no kind 10002 at all (study: 20-44% of follows). @default 0.3 */
  noListShare?: number
  /** Share of relay-list holders naming one of the two biggest relays as a write relay. @default 0.85 */
  topTwoWriteShare?: number
  /** Mean number of relays in a list. @default 3.6 */
  meanListSize?: number
  /** Largest list. @default 15 */
  maxListSize?: number
  /** Share of relay URLs that are dead. @default 0.5 */
  deadShare?: number
  /** Share of list holders whose posts reach only some of their write relays. @default 0.15 */
  partialReachShare?: number
  /** Share of people in a niche community. @default 0.1 */
  communityShare?: number
  /**
   * Share of community members who also use one of the two biggest relays (non-members make up the
   * rest of `topTwoWriteShare`). @default 0.6
   */
  communityBigShare?: number
  /**
   * Of people who use neither a big relay nor a community relay, the share whose list still starts
   * with one of the next 20 most popular relays (the rest draw only from the long tail).
   * @default 0.9
   */
  anchorShare?: number
  /** Mean community size. @default 50 */
  meanCommunitySize?: number
  /** Number of relays that censor some authors. @default 3 */
  censoringRelays?: number
  /** Share of a censoring relay's own authors it silently drops. @default 0.05 */
  censoredShare?: number
  /** Share of people without a list who no longer post (study: ~85%). @default 0.85 */
  inactiveNoListShare?: number
  /**
   * Zipf exponent of relay popularity from rank 2 on; larger concentrates lists on fewer relays.
   * @default 1.05
   */
  tailExponent?: number
  /** Real secp256k1 keys derived from the seed, with `secretKey` (about 1 ms per person). @default false */
  realKeys?: boolean
}

/** {@link NetworkOptions} with every default applied. */
export type ResolvedNetworkOptions = Required<NetworkOptions>

// ---------------------------------------------------------------------------------------------
// Calibration constants (reasons in docs/network-model.md)
// ---------------------------------------------------------------------------------------------

/** Of people using the big two, the share naming both. */
const BOTH_BIG_SHARE = 0.4
/** Of people using one big relay, the share whose one is rank 0. */
const RANK0_SHARE = 0.6
/** Community members who use their community's relay. */
const MEMBER_USES_COMMUNITY_RELAY = 0.9
/** Communities with a second relay. */
const SECOND_COMMUNITY_RELAY = 0.3
/** Markers of a list entry other than a big or community relay: both / write-only / read-only. */
const MARKER_BOTH = 0.7
const MARKER_WRITE = 0.15
/** Ranks 2 .. 2 + ANCHOR_RANKS - 1: the mid-tier relays an anchored list starts from. */
const ANCHOR_RANKS = 20
/** The head of the tail (ranks 2 to 2 + HEAD_SIZE - 1), and how many of it are dead at deadShare 0.5. */
const HEAD_SIZE = 10
const HEAD_DEAD = 3
/** Dead-probability just after the head relative to the far tail. */
const DEAD_HEAD_FACTOR = 0.8
/** Ranks over which the dead-probability rises from the head factor to the tail's. */
const DEAD_RAMP_RANKS = 40
/** Censoring relays are picked among the alive relays of this many top ranks. */
const CENSOR_RANKS = 30
/** Sources of knowledge for people without a list. */
const NOLIST_KIND3 = 0.4
const NOLIST_NIP05 = 0.1
const NOLIST_HINTS = 0.6
/** Sources for list holders: a stale kind 3 map, NIP-05, hints, DM relays. */
const LIST_KIND3 = 0.3
const LIST_NIP05 = 0.1
const LIST_HINTS = 0.8
const LIST_DM = 0.35
/** Hints that point at the right relay (the rest point where the tagger happened to read). */
const HINT_ACCURACY = 0.75
/** Pareto shape of the number of posts, and its cap. */
const POSTS_SHAPE = 1.5
const POSTS_CAP = 200
/** Pareto shape of popularity (who gets followed). */
const POPULARITY_SHAPE = 1.2
/** Share of a follow list drawn from the follower's own community. */
const COMMUNITY_FOLLOW_SHARE = 0.1

// ---------------------------------------------------------------------------------------------
// Options
// ---------------------------------------------------------------------------------------------

function share(name: string, value: number | undefined, fallback: number): number {
  const v = value ?? fallback
  if (typeof v !== 'number' || !(v >= 0 && v <= 1)) throw new RangeError(`${name} must be in [0, 1], got ${String(v)}`)
  return v
}

function positiveInt(name: string, value: number | undefined, fallback: number, min = 1): number {
  const v = value ?? fallback
  if (!Number.isSafeInteger(v) || v < min) throw new RangeError(`${name} must be an integer >= ${min}, got ${String(v)}`)
  return v
}

function exponent(value: number | undefined): number {
  const v = value ?? 1.05
  if (typeof v !== 'number' || !(v > 0 && v <= 4)) throw new RangeError(`tailExponent must be in (0, 4], got ${String(v)}`)
  return v
}

function resolveOptions(options: NetworkOptions): ResolvedNetworkOptions {
  if (options === null || typeof options !== 'object') throw new TypeError('options must be an object')
  if (!Number.isSafeInteger(options.seed)) throw new RangeError(`seed must be a safe integer, got ${String(options.seed)}`)
  const people = positiveInt('people', options.people, 0)
  const maxListSize = positiveInt('maxListSize', options.maxListSize, 15)
  const meanListSize = options.meanListSize ?? 3.6
  if (!(meanListSize >= 1 && meanListSize < maxListSize)) throw new RangeError(`meanListSize must be in [1, maxListSize), got ${String(meanListSize)}`)
  return {
    seed: options.seed,
    people,
    relays: positiveInt('relays', options.relays, Math.max(40, Math.round(people / 4)), 4),
    noListShare: share('noListShare', options.noListShare, 0.3),
    topTwoWriteShare: share('topTwoWriteShare', options.topTwoWriteShare, 0.85),
    meanListSize,
    maxListSize,
    deadShare: share('deadShare', options.deadShare, 0.5),
    partialReachShare: share('partialReachShare', options.partialReachShare, 0.15),
    communityShare: share('communityShare', options.communityShare, 0.1),
    communityBigShare: share('communityBigShare', options.communityBigShare, 0.6),
    anchorShare: share('anchorShare', options.anchorShare, 0.9),
    meanCommunitySize: positiveInt('meanCommunitySize', options.meanCommunitySize, 50, 2),
    censoringRelays: positiveInt('censoringRelays', options.censoringRelays, 3, 0),
    censoredShare: share('censoredShare', options.censoredShare, 0.05),
    inactiveNoListShare: share('inactiveNoListShare', options.inactiveNoListShare, 0.85),
    tailExponent: exponent(options.tailExponent),
    realKeys: options.realKeys ?? false,
  }
}

// ---------------------------------------------------------------------------------------------
// Samplers
// ---------------------------------------------------------------------------------------------

/** Draws an index from a cumulative weight table by binary search. */
function drawCumulative(cumulative: Float64Array, rng: Rng): number {
  const total = cumulative[cumulative.length - 1] ?? 0
  const target = rng.next() * total
  let lo = 0
  let hi = cumulative.length - 1
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if ((cumulative[mid] ?? 0) > target) hi = mid
    else lo = mid + 1
  }
  return lo
}

function cumulativeOf(weights: ArrayLike<number>): Float64Array {
  const out = new Float64Array(weights.length)
  let sum = 0
  for (let i = 0; i < weights.length; i++) {
    sum += weights[i] ?? 0
    out[i] = sum
  }
  return out
}

/**
 * List sizes follow a geometric law on 1..max, its ratio chosen (by bisection) so that the
 * truncated mean is the requested one: small lists are the most common, a few are long.
 */
function listSizeTable(mean: number, max: number): Float64Array {
  const meanFor = (q: number): number => {
    let num = 0
    let den = 0
    for (let s = 1; s <= max; s++) {
      const w = q ** (s - 1)
      num += s * w
      den += w
    }
    return num / den
  }
  let lo = 0
  let hi = 1
  // The mean grows with q up to (max + 1) / 2 at q = 1; above that a rising law would be needed.
  if (mean >= (max + 1) / 2) hi = 50
  for (let i = 0; i < 60; i++) {
    const mid = (lo + hi) / 2
    if (meanFor(mid) < mean) lo = mid
    else hi = mid
  }
  const q = (lo + hi) / 2
  const weights: number[] = []
  for (let s = 1; s <= max; s++) weights.push(q ** (s - 1))
  return cumulativeOf(weights)
}

function pareto(rng: Rng, shape: number): number {
  return (1 - rng.next()) ** (-1 / shape)
}

// ---------------------------------------------------------------------------------------------
// Relays
// ---------------------------------------------------------------------------------------------

interface RelayDraft {
  url: string
  rank: number
  alive: boolean
  community?: number
  censors: Set<string>
}

function relayUrl(rank: number): string {
  return `wss://relay-${rank}.example`
}

function buildRelays(o: ResolvedNetworkOptions, rng: Rng): { drafts: RelayDraft[]; communityRelays: number[][] } {
  const drafts: RelayDraft[] = []
  for (let rank = 0; rank < o.relays; rank++) drafts.push({ url: relayUrl(rank), rank, alive: true, censors: new Set() })

  // Community relays sit in the tail (rank >= 10): small relays that only their members care about.
  const tailStart = Math.min(10, o.relays - 1)
  const freeTail = o.relays - tailStart
  const wanted = Math.round((o.people * o.communityShare) / o.meanCommunitySize)
  const communityCount = Math.max(0, Math.min(wanted, Math.floor(freeTail / (1 + SECOND_COMMUNITY_RELAY * 2))))
  const taken = new Set<number>()
  const takeTailRank = (): number => {
    for (let attempt = 0; attempt < 1_000; attempt++) {
      const rank = tailStart + rng.int(freeTail)
      if (!taken.has(rank)) {
        taken.add(rank)
        return rank
      }
    }
    throw new Error('network-generator: no free tail rank for a community relay')
  }
  const communityRelays: number[][] = []
  for (let c = 0; c < communityCount; c++) {
    const ranks = [takeTailRank()]
    if (rng.chance(SECOND_COMMUNITY_RELAY)) ranks.push(takeTailRank())
    ranks.forEach((rank, j) => {
      const draft = drafts[rank]
      if (draft) {
        draft.community = c
        draft.url = `wss://community-${c}${String.fromCharCode(97 + j)}.example`
      }
    })
    communityRelays.push(ranks)
  }

  // Dead URLs: mostly in the long tail, a few among the popular ones (the study's most common dead
  // relays appear in almost every follow list). The two biggest and the community relays stay alive.
  // A fixed number of the head is dead (rather than a probability) because the head carries most
  // list entries: a coin per head relay would make the share of dead entries swing with the seed.
  const head = drafts.filter((d) => d.rank >= 2 && d.rank < 2 + HEAD_SIZE && d.community === undefined)
  const headDead = o.deadShare > 0 ? Math.min(head.length, Math.round(HEAD_DEAD * Math.min(1, o.deadShare / 0.5))) : 0
  for (const d of pickSome(head, headDead, rng)) d.alive = false
  const eligible = drafts.filter((d) => d.rank >= 2 + HEAD_SIZE && d.community === undefined)
  const ramp = (rank: number): number => 1 - (1 - DEAD_HEAD_FACTOR) * Math.exp(-(rank - 2 - HEAD_SIZE) / DEAD_RAMP_RANKS)
  const rampSum = eligible.reduce((sum, d) => sum + ramp(d.rank), 0)
  const tailProbability = rampSum > 0 ? Math.min(1, Math.max(0, o.deadShare * o.relays - headDead) / rampSum) : 0
  for (const d of eligible) if (rng.chance(tailProbability * ramp(d.rank))) d.alive = false
  return { drafts, communityRelays }
}

// ---------------------------------------------------------------------------------------------
// People
// ---------------------------------------------------------------------------------------------

interface PersonDraft {
  index: number
  hasRelayList: boolean
  write: string[]
  read: string[]
  dmRelays: string[]
  kind3Relays: string[]
  nip05Relays: string[]
  hintRelays: string[]
  reached: string[]
  community?: number
  posts: number
  popularity: number
}

interface Samplers {
  readonly tail: Float64Array // over ranks 2.., index 0 = rank 2
  readonly head: Float64Array // over ranks 2 .. 2 + ANCHOR_RANKS - 1, same weights
  readonly all: Float64Array // over every rank, for wrong hints
  readonly sizes: Float64Array
  readonly communities: Float64Array
}

function makeSamplers(o: ResolvedNetworkOptions, communityCount: number): Samplers {
  const tail: number[] = []
  for (let rank = 2; rank < o.relays; rank++) tail.push(1 / (rank - 1) ** o.tailExponent)
  const all: number[] = [4, 3]
  for (let rank = 2; rank < o.relays; rank++) all.push(1 / (rank - 1) ** o.tailExponent)
  // Community sizes vary (a few large, many small): weight 1/sqrt(i + 1).
  const communities: number[] = []
  for (let c = 0; c < communityCount; c++) communities.push(1 / Math.sqrt(c + 1))
  return {
    tail: cumulativeOf(tail),
    head: cumulativeOf(tail.slice(0, ANCHOR_RANKS)),
    all: cumulativeOf(all),
    sizes: listSizeTable(o.meanListSize, Math.min(o.maxListSize, o.relays)),
    communities: cumulativeOf(communities),
  }
}

type Marker = 'both' | 'write' | 'read'

interface Entry {
  url: string
  marker: Marker
}

/** Picks a list's relays: community relay first, then the big ones, then the Zipf tail. */
function composeRelays(
  size: number,
  usesBig: boolean,
  anchored: boolean,
  communityRanks: readonly number[] | undefined,
  drafts: readonly RelayDraft[],
  samplers: Samplers,
  rng: Rng,
): Entry[] {
  const entries: Entry[] = []
  const used = new Set<number>()
  const add = (rank: number, marker: Marker): void => {
    const d = drafts[rank]
    if (!d || used.has(rank)) return
    used.add(rank)
    entries.push({ url: d.url, marker })
  }
  if (communityRanks && communityRanks.length > 0) {
    add(communityRanks[0] ?? 0, rng.chance(0.85) ? 'both' : 'write')
    const second = communityRanks[1]
    if (second !== undefined && entries.length < size && rng.chance(0.5)) add(second, 'both')
  }
  if (usesBig && entries.length < size) {
    const first = rng.chance(RANK0_SHARE) ? 0 : 1
    add(first, rng.chance(0.8) ? 'both' : 'write')
    if (entries.length < size && rng.chance(BOTH_BIG_SHARE)) add(1 - first, rng.chance(0.8) ? 'both' : 'write')
  }
  if (anchored && entries.length < size) add(2 + drawCumulative(samplers.head, rng), rng.chance(0.8) ? 'both' : 'write')
  // Rejection sampling is fast while lists are short next to the number of relays; the bound keeps
  // a tiny network from spinning, and the scan after it fills what is left deterministically.
  let attempts = 0
  while (entries.length < size && attempts < 64 * size) {
    attempts++
    const rank = 2 + drawCumulative(samplers.tail, rng)
    if (used.has(rank)) continue
    const u = rng.next()
    add(rank, u < MARKER_BOTH ? 'both' : u < MARKER_BOTH + MARKER_WRITE ? 'write' : 'read')
  }
  for (let rank = 2; entries.length < size && rank < drafts.length; rank++) if (!used.has(rank)) add(rank, 'both')
  if (!entries.some((e) => e.marker !== 'read')) {
    const first = entries[0]
    if (first) first.marker = 'both'
  }
  return entries
}

function pickSome<T>(items: readonly T[], count: number, rng: Rng): T[] {
  const pool = [...items]
  const out: T[] = []
  while (out.length < count && pool.length > 0) out.push(pool.splice(rng.int(pool.length), 1)[0] as T)
  return out
}

function uniq(urls: readonly string[]): string[] {
  return [...new Set(urls)]
}

function hintsFor(own: readonly string[], drafts: readonly RelayDraft[], samplers: Samplers, rng: Rng): string[] {
  const count = 1 + rng.int(3)
  const hints: string[] = []
  for (let i = 0; i < count; i++) {
    if (own.length > 0 && rng.chance(HINT_ACCURACY)) hints.push(own[rng.int(own.length)] as string)
    else hints.push((drafts[drawCumulative(samplers.all, rng)] as RelayDraft).url)
  }
  return uniq(hints)
}

function staleRelay(drafts: readonly RelayDraft[], samplers: Samplers, rng: Rng): string {
  return (drafts[2 + drawCumulative(samplers.tail, rng)] as RelayDraft).url
}

function postsFor(active: boolean, rng: Rng): number {
  if (!active) return 0
  return Math.min(POSTS_CAP, Math.max(1, Math.floor(2 * pareto(rng, POSTS_SHAPE))))
}

// ---------------------------------------------------------------------------------------------
// generateNetwork
// ---------------------------------------------------------------------------------------------

/**
 * Generates a synthetic network. Fast enough for 12,000 people in well under a second (without
 * `realKeys`).
 *
 * @param options - seed, size and calibration; see {@link NetworkOptions} for the defaults.
 * @returns relays (by rank), people, lookups by pubkey and URL, and the communities.
 * @throws RangeError for a seed that is not a safe integer, a non-integer size, or a share outside
 * [0, 1].
 * @example
 * ```ts
 * import { generateNetwork } from '../helpers/network-generator.js'
 * const { people, relays } = generateNetwork({ seed: 1, people: 2_000, noListShare: 0.2 })
 * ```
 */
export function generateNetwork(options: NetworkOptions): SyntheticNetwork {
  const o = resolveOptions(options)
  const rng = createRng(o.seed, STREAM_STRUCTURE)
  const { drafts, communityRelays } = buildRelays(o, rng)
  const samplers = makeSamplers(o, communityRelays.length)

  // The probability that a community member's list ends up naming a big relay as write, so that
  // non-members can make up the difference to the calibrated total.
  const sizeOneShare = (samplers.sizes[0] ?? 0) / (samplers.sizes[samplers.sizes.length - 1] ?? 1)
  const memberReach = MEMBER_USES_COMMUNITY_RELAY * (1 - sizeOneShare) + (1 - MEMBER_USES_COMMUNITY_RELAY)
  const memberShare = communityRelays.length > 0 ? o.communityShare : 0
  const memberBig = o.communityBigShare
  const otherBig = memberShare < 1 ? Math.min(1, Math.max(0, (o.topTwoWriteShare - memberShare * memberBig * memberReach) / (1 - memberShare))) : 0

  const people: PersonDraft[] = []
  for (let index = 0; index < o.people; index++) {
    const community = memberShare > 0 && rng.chance(memberShare) ? drawCumulative(samplers.communities, rng) : undefined
    const hasRelayList = !rng.chance(o.noListShare)
    const size = 1 + drawCumulative(samplers.sizes, rng)
    const usesBig = rng.chance(community === undefined ? otherBig : memberBig)
    const communityRanks = community !== undefined && rng.chance(MEMBER_USES_COMMUNITY_RELAY) ? communityRelays[community] : undefined
    const anchored = !usesBig && communityRanks === undefined && rng.chance(o.anchorShare)
    const entries = composeRelays(size, usesBig, anchored, communityRanks, drafts, samplers, rng)
    const person: PersonDraft = {
      index,
      hasRelayList,
      write: [],
      read: [],
      dmRelays: [],
      kind3Relays: [],
      nip05Relays: [],
      hintRelays: [],
      reached: [],
      posts: 0,
      popularity: pareto(rng, POPULARITY_SHAPE),
    }
    if (community !== undefined) person.community = community
    if (hasRelayList) {
      person.write = entries.filter((e) => e.marker !== 'read').map((e) => e.url)
      person.read = entries.filter((e) => e.marker !== 'write').map((e) => e.url)
      person.reached = [...person.write]
      if (rng.chance(LIST_KIND3)) {
        // A legacy kind 3 map is usually older than the 10002: part of the list plus a relay since left.
        person.kind3Relays = uniq([...pickSome(person.write, 1 + rng.int(person.write.length), rng), staleRelay(drafts, samplers, rng)])
      }
      if (rng.chance(LIST_NIP05)) person.nip05Relays = pickSome(person.write, 1 + rng.int(Math.min(2, person.write.length)), rng)
      if (rng.chance(LIST_HINTS)) person.hintRelays = hintsFor(person.write, drafts, samplers, rng)
      if (rng.chance(LIST_DM)) person.dmRelays = pickSome(person.read.length > 0 ? person.read : person.write, 1 + rng.int(2), rng)
      person.posts = postsFor(true, rng)
    } else {
      // No list: the client still posts somewhere (its defaults); others may know it only indirectly.
      const used = entries.map((e) => e.url)
      person.reached = used
      if (rng.chance(NOLIST_KIND3)) person.kind3Relays = rng.chance(0.5) ? uniq([...used, staleRelay(drafts, samplers, rng)]) : [...used]
      if (rng.chance(NOLIST_NIP05)) person.nip05Relays = pickSome(used, 1 + rng.int(Math.min(2, used.length)), rng)
      if (rng.chance(NOLIST_HINTS)) person.hintRelays = hintsFor(used, drafts, samplers, rng)
      person.posts = postsFor(!rng.chance(o.inactiveNoListShare), rng)
    }
    people.push(person)
  }

  applyPartialReach(people, o, rng)
  const keys = makeKeys(o)
  applyCensors(drafts, people, keys.pubkeys, o, rng)
  return assemble(o, drafts, people, keys, communityRelays)
}

/** Some authors' posts reach only some of their write relays (silent write failures, paid relays). */
function applyPartialReach(people: PersonDraft[], o: ResolvedNetworkOptions, rng: Rng): void {
  const holders = people.filter((p) => p.hasRelayList)
  const eligible = holders.filter((p) => p.write.length >= 2)
  if (eligible.length === 0) return
  const probability = Math.min(1, (o.partialReachShare * holders.length) / eligible.length)
  for (const p of eligible) {
    if (!rng.chance(probability)) continue
    const kept = p.write.filter(() => rng.chance(0.5))
    if (kept.length === 0) kept.push(p.write[rng.int(p.write.length)] as string)
    if (kept.length === p.write.length) kept.splice(rng.int(kept.length), 1)
    p.reached = kept
  }
}

function applyCensors(drafts: RelayDraft[], people: readonly PersonDraft[], pubkeys: readonly string[], o: ResolvedNetworkOptions, rng: Rng): void {
  const candidates = drafts.filter((d) => d.rank < CENSOR_RANKS && d.alive)
  const censors = pickSome(candidates, Math.min(o.censoringRelays, candidates.length), rng)
  const chosen = new Set(censors.map((d) => d.url))
  if (chosen.size === 0) return
  const byUrl = new Map(censors.map((d) => [d.url, d]))
  for (const p of people) {
    for (const url of p.reached) {
      const relay = byUrl.get(url)
      if (relay && rng.chance(o.censoredShare)) relay.censors.add(pubkeys[p.index] as string)
    }
  }
}

interface Keys {
  pubkeys: string[]
  secretKeys?: string[]
}

function randomBytes32(rng: Rng): Uint8Array {
  const bytes = new Uint8Array(32)
  for (let i = 0; i < 32; i += 4) {
    const word = Math.floor(rng.next() * 4294967296)
    bytes[i] = word >>> 24
    bytes[i + 1] = (word >>> 16) & 0xff
    bytes[i + 2] = (word >>> 8) & 0xff
    bytes[i + 3] = word & 0xff
  }
  return bytes
}

/** Keys come from their own stream so that `realKeys` changes the keys and nothing else. */
function makeKeys(o: ResolvedNetworkOptions): Keys {
  const rng = createRng(o.seed, STREAM_KEYS)
  const pubkeys: string[] = []
  if (!o.realKeys) {
    for (let i = 0; i < o.people; i++) pubkeys.push(bytesToHex(randomBytes32(rng)))
    return { pubkeys }
  }
  const secretKeys: string[] = []
  for (let i = 0; i < o.people; i++) {
    // A draw at or above the curve order is astronomically rare; the bound only keeps the loop finite.
    for (let attempt = 0; attempt < 8; attempt++) {
      const sk = randomBytes32(rng)
      try {
        pubkeys.push(getPublicKey(sk))
        secretKeys.push(bytesToHex(sk))
        break
      } catch {
        if (attempt === 7) throw new Error('network-generator: could not derive a valid secret key')
      }
    }
  }
  return { pubkeys, secretKeys }
}

function assemble(o: ResolvedNetworkOptions, drafts: RelayDraft[], drafted: PersonDraft[], keys: Keys, communityRelays: number[][]): SyntheticNetwork {
  const relays: SyntheticRelay[] = drafts.map((d) => ({
    url: d.url,
    rank: d.rank,
    alive: d.alive,
    ...(d.community !== undefined ? { community: d.community } : {}),
    censors: d.censors,
  }))
  const people: SyntheticPerson[] = drafted.map((p) => {
    const pubkey = keys.pubkeys[p.index] as string
    const secretKey = keys.secretKeys?.[p.index]
    return {
      pubkey,
      ...(secretKey !== undefined ? { secretKey } : {}),
      index: p.index,
      hasRelayList: p.hasRelayList,
      write: p.write,
      read: p.read,
      dmRelays: p.dmRelays,
      kind3Relays: p.kind3Relays,
      nip05Relays: p.nip05Relays,
      hintRelays: p.hintRelays,
      reached: p.reached,
      ...(p.community !== undefined ? { community: p.community } : {}),
      posts: p.posts,
      popularity: p.popularity,
    }
  })
  const members: string[][] = communityRelays.map(() => [])
  for (const p of people) if (p.community !== undefined) members[p.community]?.push(p.pubkey)
  const communities: SyntheticCommunity[] = communityRelays.map((ranks, id) => ({
    id,
    relays: ranks.map((rank) => (drafts[rank] as RelayDraft).url),
    members: members[id] ?? [],
  }))
  return {
    relays,
    people,
    byPubkey: new Map(people.map((p) => [p.pubkey, p])),
    relayByUrl: new Map(relays.map((r) => [r.url, r])),
    communities,
    options: o,
  }
}

// ---------------------------------------------------------------------------------------------
// Follows and candidates
// ---------------------------------------------------------------------------------------------

/**
 * A follow list: mostly popular people (weighted sampling without replacement on `popularity`),
 * plus about a tenth drawn from one community, the follower's own, as real follow lists mix the
 * famous with a circle of peers.
 *
 * @param network - from {@link generateNetwork}.
 * @param count - how many to follow, at most the number of people.
 * @param seed - seeds the follower (their community and the draw).
 * @returns distinct pubkeys in a deterministic order.
 * @throws RangeError when `count` is not an integer in [0, people].
 * @example
 * ```ts
 * import { generateNetwork, pickFollows } from '../helpers/network-generator.js'
 * const follows = pickFollows(generateNetwork({ seed: 1, people: 12_000 }), 2_000, 5)
 * ```
 */
export function pickFollows(network: SyntheticNetwork, count: number, seed: number): string[] {
  if (!Number.isSafeInteger(count) || count < 0 || count > network.people.length) {
    throw new RangeError(`count must be an integer in [0, ${network.people.length}], got ${String(count)}`)
  }
  const rng = createRng(seed, STREAM_FOLLOWS)
  const chosen: string[] = []
  const taken = new Set<string>()
  const communities = network.communities.filter((c) => c.members.length > 0)
  if (communities.length > 0 && count > 0) {
    const home = communities[drawCumulative(cumulativeOf(communities.map((c) => c.members.length)), rng)] as SyntheticCommunity
    for (const pubkey of pickSome(home.members, Math.min(home.members.length, Math.ceil(count * COMMUNITY_FOLLOW_SHARE)), rng)) {
      chosen.push(pubkey)
      taken.add(pubkey)
    }
  }
  // Efraimidis-Spirakis: key = u^(1/w); the largest keys are a weighted sample without replacement.
  const keyed: { pubkey: string; key: number }[] = []
  for (const p of network.people) {
    if (taken.has(p.pubkey)) {
      rng.next()
      continue
    }
    keyed.push({ pubkey: p.pubkey, key: Math.log(1 - rng.next()) / p.popularity })
  }
  keyed.sort((a, b) => b.key - a.key || (a.pubkey < b.pubkey ? -1 : 1))
  for (const { pubkey } of keyed) {
    if (chosen.length >= count) break
    chosen.push(pubkey)
  }
  return chosen
}

/** Weights {@link declaredCandidates} gives each source. */
export const CANDIDATE_WEIGHTS = { write: 1, kind3: 0.5, nip05: 0.4, hint: 0.2 } as const

/**
 * What a client knows of where each followed author writes, as the selector's input: 10002 write
 * relays at weight 1; for people without a list, kind 3 (0.5), NIP-05 (0.4) and hint (0.2) relays,
 * duplicates merged by the largest weight. Authors with nothing known get an empty list.
 *
 * @param network - from {@link generateNetwork}.
 * @param follows - pubkeys of the network.
 * @returns author → scored relays, sorted by weight then URL, in the order of `follows`.
 * @throws RangeError when a pubkey is not in the network.
 * @example
 * ```ts
 * import { declaredCandidates } from '../helpers/network-generator.js'
 * const candidates = declaredCandidates(network, follows)
 * ```
 */
export function declaredCandidates(network: SyntheticNetwork, follows: readonly string[]): Map<string, ScoredRelay[]> {
  const out = new Map<string, ScoredRelay[]>()
  for (const pubkey of follows) {
    const person = network.byPubkey.get(pubkey)
    if (!person) throw new RangeError(`follows contains a pubkey that is not in the network: ${pubkey}`)
    const weights = new Map<string, number>()
    const add = (urls: readonly string[], weight: number): void => {
      for (const url of urls) weights.set(url, Math.max(weights.get(url) ?? 0, weight))
    }
    if (person.hasRelayList) add(person.write, CANDIDATE_WEIGHTS.write)
    else {
      add(person.kind3Relays, CANDIDATE_WEIGHTS.kind3)
      add(person.nip05Relays, CANDIDATE_WEIGHTS.nip05)
      add(person.hintRelays, CANDIDATE_WEIGHTS.hint)
    }
    out.set(
      pubkey,
      [...weights].map(([url, weight]) => ({ url, weight })).sort((a, b) => b.weight - a.weight || (a.url < b.url ? -1 : a.url > b.url ? 1 : 0)),
    )
  }
  return out
}

/**
 * Every relay anything points to for the author: write, kind 3, NIP-05 and hint relays. Used as the
 * "ask everywhere" ceiling of the recall simulation.
 *
 * @param person - a person of the network.
 * @returns distinct URLs.
 * @example
 * ```ts
 * import { knownRelays } from '../helpers/network-generator.js'
 * knownRelays(network.people[0]!)
 * ```
 */
export function knownRelays(person: SyntheticPerson): string[] {
  return uniq([...person.write, ...person.kind3Relays, ...person.nip05Relays, ...person.hintRelays])
}

/**
 * The relays holding an author's posts: where they reached, minus dead relays and relays that
 * censor them.
 *
 * @param network - from {@link generateNetwork}.
 * @param person - a person of the network.
 * @returns the URLs a fetch can get their posts from.
 * @example
 * ```ts
 * import { holdingRelays } from '../helpers/network-generator.js'
 * holdingRelays(network, network.people[0]!)
 * ```
 */
export function holdingRelays(network: SyntheticNetwork, person: SyntheticPerson): string[] {
  return person.reached.filter((url) => {
    const relay = network.relayByUrl.get(url)
    return relay !== undefined && relay.alive && !relay.censors.has(person.pubkey)
  })
}

// ---------------------------------------------------------------------------------------------
// Calibration figures
// ---------------------------------------------------------------------------------------------

/** The figures the generator is calibrated on, measured on one network. */
export interface NetworkStats {
  readonly people: number
  readonly relays: number
  /** Share of people without a 10002. */
  readonly noListShare: number
  /** Of list holders, share naming rank 0 or 1 as a write relay. */
  readonly topTwoWriteShare: number
  /** Mean, min and max of |write ∪ read| over list holders. */
  readonly meanListSize: number
  readonly minListSize: number
  readonly maxListSize: number
  /** Share of relay URLs that are dead. */
  readonly deadShare: number
  /** Share of (person, listed relay) pairs pointing at a dead relay. */
  readonly deadPairShare: number
  /** Of list holders, share whose posts reach only some of their write relays. */
  readonly partialReachShare: number
  /** Of people without a list, share with no kind 3, NIP-05 or hint relay at all. */
  readonly undiscoverableShare: number
  /** Of people without a list, share that never post. */
  readonly inactiveNoListShare: number
  readonly communities: number
  readonly communityMembers: number
  readonly censoringRelays: number
  readonly censoredPairs: number
}

/**
 * Measures the calibration figures of a network.
 *
 * @param network - from {@link generateNetwork}.
 * @returns the figures; see {@link NetworkStats}.
 * @example
 * ```ts
 * import { generateNetwork, networkStats } from '../helpers/network-generator.js'
 * networkStats(generateNetwork({ seed: 1, people: 5_000 })).topTwoWriteShare // ≈ 0.85
 * ```
 */
export function networkStats(network: SyntheticNetwork): NetworkStats {
  const top = new Set(network.relays.filter((r) => r.rank < 2).map((r) => r.url))
  const holders = network.people.filter((p) => p.hasRelayList)
  const without = network.people.filter((p) => !p.hasRelayList)
  let sizeSum = 0
  let minSize = Infinity
  let maxSize = 0
  let pairs = 0
  let deadPairs = 0
  for (const p of holders) {
    const listed = uniq([...p.write, ...p.read])
    sizeSum += listed.length
    minSize = Math.min(minSize, listed.length)
    maxSize = Math.max(maxSize, listed.length)
    for (const url of listed) {
      pairs++
      if (network.relayByUrl.get(url)?.alive === false) deadPairs++
    }
  }
  const ratio = (n: number, d: number): number => (d === 0 ? 0 : n / d)
  return {
    people: network.people.length,
    relays: network.relays.length,
    noListShare: ratio(without.length, network.people.length),
    topTwoWriteShare: ratio(holders.filter((p) => p.write.some((url) => top.has(url))).length, holders.length),
    meanListSize: ratio(sizeSum, holders.length),
    minListSize: holders.length === 0 ? 0 : minSize,
    maxListSize: maxSize,
    deadShare: ratio(network.relays.filter((r) => !r.alive).length, network.relays.length),
    deadPairShare: ratio(deadPairs, pairs),
    partialReachShare: ratio(holders.filter((p) => p.reached.length < p.write.length).length, holders.length),
    undiscoverableShare: ratio(without.filter((p) => knownRelays(p).length === 0).length, without.length),
    inactiveNoListShare: ratio(without.filter((p) => p.posts === 0).length, without.length),
    communities: network.communities.length,
    communityMembers: network.people.filter((p) => p.community !== undefined).length,
    censoringRelays: network.relays.filter((r) => r.censors.size > 0).length,
    censoredPairs: network.relays.reduce((sum, r) => sum + r.censors.size, 0),
  }
}
