/**
 * The person-relay scorer: how strongly the evidence says a person's events are on a relay
 * (`outbox`), or that they read mentions there (`inbox`).
 *
 * For one relay and one purpose:
 *
 * ```
 * base   = Σ over the relay's sources s:  weight[purpose][s] × 2^(-age_s / halfLife_s) × g_s(count_s)
 *          g_s(n) = 1 for declared sources (a list says it once), 1 - 2^-n for learned ones
 * weight = base × health(url)                      with no manual choice for this purpose
 *        = (manualWeight + base) × health(url)      when the user said "use it"
 *        = 0                                       when the user said "never"
 * ```
 *
 * Everything is pure: the clock and the health of each relay are inputs. The weights, half-lives
 * and their reasons are in `docs/scoring.md`; {@link DEFAULT_SCORING} holds the numbers.
 *
 * {@link relayHealthFactor} turns the relay pool's statistics into the 0..1 health multiplier:
 * connection success rate, latency, the last failure, misbehaviour (demerits) and tag filters that
 * were ignored, each with its own weight.
 *
 * @module
 */
import type { RelayStats } from '../relay-pool/health.js'
import { DEMOTION_THRESHOLD } from '../relay-pool/health.js'
import type { PersonEvidence, RelayEvidence } from './evidence.js'
import type { ScoredRelay } from './types.js'

/**
 * Where a piece of person-relay evidence came from.
 * - `nip65-write` / `nip65-read`: the person's own NIP-65 list (kind 10002) names the relay.
 * - `kind3-write` / `kind3-read`: the relay map in the `content` of their follow list (legacy).
 * - `nip05`: the `relays` of their NIP-05 document.
 * - `nip19-hint`: a `nostr:nprofile`/`nevent`/`naddr` someone shared names the relay for them.
 * - `tag-hint`: the relay field of a `p`/`e`/`a`/`q` tag someone wrote names the relay for them.
 * - `seen`: an event by the person was received from the relay.
 *
 * The first five are declared (replaced as a whole by a newer statement); the last three are
 * learned (they accumulate and decay). Manual choices are not a source but an override (the
 * evidence store's `ManualChoice`).
 */
export type EvidenceSource =
  | 'nip65-write'
  | 'nip65-read'
  | 'kind3-write'
  | 'kind3-read'
  | 'nip05'
  | 'nip19-hint'
  | 'tag-hint'
  | 'seen'

/** Sources stated by the person (or their NIP-05 server), replaced whole when a newer list arrives. */
export const DECLARED_SOURCES: readonly EvidenceSource[] = Object.freeze([
  'nip65-write',
  'nip65-read',
  'kind3-write',
  'kind3-read',
  'nip05',
])

/** Sources learned from traffic, which accumulate and decay. */
export const LEARNED_SOURCES: readonly EvidenceSource[] = Object.freeze(['seen', 'nip19-hint', 'tag-hint'])

/** Every evidence source, declared first. */
export const EVIDENCE_SOURCES: readonly EvidenceSource[] = Object.freeze([...DECLARED_SOURCES, ...LEARNED_SOURCES])

const DECLARED = new Set<string>(DECLARED_SOURCES)

/**
 * Whether a source is declared (replaced whole by a newer list) rather than learned (accumulating
 * and decaying).
 *
 * @param source - an evidence source.
 * @returns `true` for the NIP-65, kind 3 and NIP-05 sources.
 * @example
 * ```ts
 * import { isDeclaredSource } from 'nostr-rendezvous/outbox'
 * isDeclaredSource('nip65-write') // true
 * isDeclaredSource('seen') // false
 * ```
 */
export function isDeclaredSource(source: EvidenceSource): boolean {
  return DECLARED.has(source)
}

/** What a relay is scored for: reading a person's posts, or reaching them with a mention. */
export type ScoringPurpose = 'outbox' | 'inbox'

/** The numbers the scorer uses. */
export interface ScoringConfig {
  /** Weight of each source, per purpose. A source with weight 0 does not count for that purpose. */
  readonly weights: { readonly outbox: Readonly<Record<EvidenceSource, number>>; readonly inbox: Readonly<Record<EvidenceSource, number>> }
  /** Half-life of each source in days; `Infinity` for no decay. Age is counted from `lastAt`. */
  readonly halfLifeDays: Readonly<Record<EvidenceSource, number>>
  /** Added to a relay the user chose for this purpose, before health: above any evidence sum. */
  readonly manualWeight: number
}

/**
 * The default weights and half-lives (reasons in `docs/scoring.md`). Declared NIP-65 relays do not
 * decay: they are the person's current statement until a newer list replaces them, and the tracker
 * refreshes lists. Everything else fades, third-party hints fastest.
 *
 * @example
 * ```ts
 * import { DEFAULT_SCORING } from 'nostr-rendezvous/outbox'
 * DEFAULT_SCORING.weights.outbox['nip65-write'] // 100
 * DEFAULT_SCORING.halfLifeDays['tag-hint'] // 7
 * ```
 */
export const DEFAULT_SCORING: ScoringConfig = Object.freeze({
  weights: Object.freeze({
    outbox: Object.freeze({
      'nip65-write': 100,
      'nip65-read': 0,
      'kind3-write': 30,
      'kind3-read': 0,
      nip05: 20,
      seen: 15,
      'nip19-hint': 8,
      'tag-hint': 4,
    }),
    inbox: Object.freeze({
      'nip65-write': 0,
      'nip65-read': 100,
      'kind3-write': 0,
      'kind3-read': 30,
      nip05: 15,
      seen: 2,
      'nip19-hint': 5,
      'tag-hint': 3,
    }),
  }),
  halfLifeDays: Object.freeze({
    'nip65-write': Infinity,
    'nip65-read': Infinity,
    'kind3-write': 365,
    'kind3-read': 365,
    nip05: 90,
    seen: 30,
    'nip19-hint': 14,
    'tag-hint': 7,
  }),
  manualWeight: 1000,
})

/** Options of {@link scoreRelays} and {@link scoreCandidates}. */
export interface ScoreOptions {
  /** `outbox` to read the person's posts, `inbox` to reach them with mentions. */
  readonly purpose: ScoringPurpose
  /** The time to measure ages against, in unix seconds. */
  readonly now: number
  /**
   * Health of a relay in 0..1 (values outside are clamped, NaN counts as 0), multiplied into its
   * weight; see {@link relayHealthFactor}.
   * @default every relay 1
   */
  readonly health?: (url: string) => number
  /**
   * Weights for this purpose that replace the defaults of {@link DEFAULT_SCORING}.
   * @default DEFAULT_SCORING.weights[purpose]
   */
  readonly weights?: Partial<Record<EvidenceSource, number>>
  /**
   * Half-lives in days that replace the defaults.
   * @default DEFAULT_SCORING.halfLifeDays
   */
  readonly halfLifeDays?: Partial<Record<EvidenceSource, number>>
  /**
   * Weight added to a relay the user chose manually.
   * @default 1000
   */
  readonly manualWeight?: number
}

/** Weights and half-lives (in seconds) for one purpose. */
interface Tables {
  readonly weights: Readonly<Record<EvidenceSource, number>>
  readonly halfLifeSeconds: Readonly<Record<EvidenceSource, number>>
}

/** Options resolved once per call. */
interface Resolved {
  readonly purpose: ScoringPurpose
  readonly now: number
  readonly tables: Tables
  readonly manualWeight: number
  readonly health: ((url: string) => number) | undefined
}

const SECONDS_PER_DAY = 86_400

function tablesOf(weights: Readonly<Record<EvidenceSource, number>>, days: Readonly<Record<EvidenceSource, number>>): Tables {
  const halfLifeSeconds = {} as Record<EvidenceSource, number>
  for (const source of EVIDENCE_SOURCES) halfLifeSeconds[source] = days[source] * SECONDS_PER_DAY
  return { weights, halfLifeSeconds }
}

// The default tables, built once: the evidence store ranks relays with them on every eviction.
let defaultTables: { outbox: Tables; inbox: Tables } | undefined
function defaults(purpose: ScoringPurpose): Tables {
  defaultTables ??= {
    outbox: tablesOf(DEFAULT_SCORING.weights.outbox, DEFAULT_SCORING.halfLifeDays),
    inbox: tablesOf(DEFAULT_SCORING.weights.inbox, DEFAULT_SCORING.halfLifeDays),
  }
  return defaultTables[purpose]
}

function checkTable(
  table: unknown,
  field: string,
  valid: (n: number) => boolean,
  expected: string,
): Partial<Record<EvidenceSource, number>> {
  if (table === undefined) return {}
  if (typeof table !== 'object' || table === null) throw new TypeError(`${field} must be an object`)
  for (const [source, value] of Object.entries(table)) {
    if (!(EVIDENCE_SOURCES as readonly string[]).includes(source)) {
      throw new TypeError(`${field} has an unknown source '${source}'; known: ${EVIDENCE_SOURCES.join(', ')}`)
    }
    if (typeof value !== 'number' || !valid(value)) throw new RangeError(`${field}['${source}'] must be ${expected}, got ${String(value)}`)
  }
  return table as Partial<Record<EvidenceSource, number>>
}

function checkPurpose(purpose: unknown): asserts purpose is ScoringPurpose {
  if (purpose !== 'outbox' && purpose !== 'inbox') throw new TypeError(`purpose must be 'outbox' or 'inbox', got ${String(purpose)}`)
}

function checkNow(now: unknown): asserts now is number {
  if (typeof now !== 'number' || !Number.isFinite(now)) throw new TypeError(`now must be a finite number of unix seconds, got ${String(now)}`)
}

function resolve(options: ScoreOptions): Resolved {
  if (typeof options !== 'object' || options === null) throw new TypeError('options must be an object')
  const { purpose, now, health } = options
  checkPurpose(purpose)
  checkNow(now)
  if (health !== undefined && typeof health !== 'function') throw new TypeError('health must be a function')
  const manualWeight = options.manualWeight ?? DEFAULT_SCORING.manualWeight
  if (typeof manualWeight !== 'number' || !Number.isFinite(manualWeight) || manualWeight < 0) {
    throw new RangeError(`manualWeight must be a non-negative finite number, got ${String(manualWeight)}`)
  }
  const weights = checkTable(options.weights, 'weights', (n) => Number.isFinite(n) && n >= 0, 'a non-negative finite number')
  const days = checkTable(options.halfLifeDays, 'halfLifeDays', (n) => n > 0, 'a positive number of days (Infinity for none)')
  const tables =
    Object.keys(weights).length === 0 && Object.keys(days).length === 0
      ? defaults(purpose)
      : tablesOf({ ...DEFAULT_SCORING.weights[purpose], ...weights }, { ...DEFAULT_SCORING.halfLifeDays, ...days })
  return { purpose, now, tables, manualWeight, health }
}

/**
 * The decay of evidence `age` seconds old with the given half-life: 1 when fresh (or from the
 * future), 1/2 after one half-life, always 1 when the half-life is infinite.
 *
 * @param ageSeconds - how old the evidence is.
 * @param halfLifeSeconds - its half-life; `Infinity` for none.
 * @returns a factor in (0, 1].
 * @example
 * ```ts
 * import { decayFactor } from 'nostr-rendezvous/outbox'
 * decayFactor(7 * 86_400, 7 * 86_400) // 0.5
 * ```
 */
export function decayFactor(ageSeconds: number, halfLifeSeconds: number): number {
  if (!(ageSeconds > 0) || halfLifeSeconds === Infinity) return 1
  return 2 ** (-ageSeconds / halfLifeSeconds)
}

/**
 * How much repeated observations count: 1 - 2^-n, so one sighting is worth half, three are worth
 * seven eighths, and no number of them is worth more than 1 (a flood of hints cannot outweigh a
 * declared relay).
 *
 * @param count - how many times the evidence was observed.
 * @returns a factor in [0, 1).
 * @example
 * ```ts
 * import { countFactor } from 'nostr-rendezvous/outbox'
 * countFactor(1) // 0.5
 * ```
 */
export function countFactor(count: number): number {
  return count > 0 ? 1 - 2 ** -count : 0
}

/** The evidence sum of one relay for one purpose's tables, before manual choices and health. */
function baseScore(relay: RelayEvidence, tables: Tables, now: number): number {
  let sum = 0
  for (const source of Object.keys(relay.sources) as EvidenceSource[]) {
    const weight = tables.weights[source]
    const evidence = relay.sources[source]
    if (!weight || evidence === undefined) continue
    const g = DECLARED.has(source) ? 1 : countFactor(evidence.count)
    sum += weight * decayFactor(now - evidence.lastAt, tables.halfLifeSeconds[source]) * g
  }
  return sum
}

/**
 * The evidence sum of one relay for one purpose with the default numbers, without manual choices
 * or health: what the evidence alone says. The evidence store ranks learned relays with it when it
 * must forget some.
 *
 * @param relay - one relay's evidence.
 * @param purpose - `outbox` or `inbox`.
 * @param now - unix seconds.
 * @returns a non-negative score.
 * @throws TypeError for an unknown purpose or a non-finite `now`.
 * @example
 * ```ts
 * import { evidenceScore } from 'nostr-rendezvous/outbox'
 * evidenceScore({ url: 'wss://r.example', sources: { seen: { lastAt: now, count: 1 } } }, 'outbox', now) // 7.5
 * ```
 */
export function evidenceScore(relay: RelayEvidence, purpose: ScoringPurpose, now: number): number {
  checkPurpose(purpose)
  checkNow(now)
  return baseScore(relay, defaults(purpose), now)
}

function clampHealth(value: unknown): number {
  if (typeof value !== 'number' || !(value > 0)) return 0
  return value < 1 ? value : 1
}

function relayList(evidence: PersonEvidence | readonly RelayEvidence[]): readonly RelayEvidence[] {
  if (Array.isArray(evidence)) return evidence
  if (typeof evidence === 'object' && evidence !== null && Array.isArray((evidence as PersonEvidence).relays)) {
    return (evidence as PersonEvidence).relays
  }
  throw new TypeError('evidence must be a PersonEvidence or an array of RelayEvidence')
}

function byWeightThenUrl(a: ScoredRelay, b: ScoredRelay): number {
  return b.weight - a.weight || (a.url < b.url ? -1 : a.url > b.url ? 1 : 0)
}

function scoreResolved(relays: readonly RelayEvidence[], r: Resolved, health: (url: string) => number): ScoredRelay[] {
  const out: ScoredRelay[] = []
  const manualKey = r.purpose === 'outbox' ? 'write' : 'read'
  for (const relay of relays) {
    const manual = relay.manual?.[manualKey]
    if (manual === false) {
      out.push({ url: relay.url, weight: 0 })
      continue
    }
    const base = baseScore(relay, r.tables, r.now)
    if (manual === true) out.push({ url: relay.url, weight: (r.manualWeight + base) * health(relay.url) })
    else if (base > 0) out.push({ url: relay.url, weight: base * health(relay.url) })
  }
  return out.sort(byWeightThenUrl)
}

function healthLookup(r: Resolved): (url: string) => number {
  const given = r.health
  if (given === undefined) return () => 1
  // Many people share a few big relays: ask once per URL per call.
  const memo = new Map<string, number>()
  return (url) => {
    let h = memo.get(url)
    if (h === undefined) {
      h = clampHealth(given(url))
      memo.set(url, h)
    }
    return h
  }
}

/**
 * Scores one person's relays for one purpose: the relays the evidence supports for it (weight
 * > 0), plus those the user ruled out for it (weight 0, "known, do not use"), sorted by weight
 * descending, then URL. Relays with evidence only for the other purpose are left out.
 *
 * @param evidence - the person's evidence (from the evidence store), or just its relays.
 * @param options - purpose, clock, health and optional overrides of {@link DEFAULT_SCORING}.
 * @returns the scored relays, best first.
 * @throws TypeError/RangeError for a malformed option (unknown purpose or source, negative weight,
 * non-positive half-life, non-finite `now`).
 * @example
 * ```ts
 * import { relayHealthFactor, scoreRelays } from 'nostr-rendezvous/outbox'
 * const now = Math.floor(Date.now() / 1000)
 * const outboxes = scoreRelays(store.evidenceFor(pubkey), {
 *   purpose: 'outbox',
 *   now,
 *   health: (url) => relayHealthFactor(pool.relayStats(url), now),
 * })
 * ```
 */
export function scoreRelays(evidence: PersonEvidence | readonly RelayEvidence[], options: ScoreOptions): ScoredRelay[] {
  const r = resolve(options)
  return scoreResolved(relayList(evidence), r, healthLookup(r))
}

/**
 * Scores many people at once, for the selector: each person's relays as {@link scoreRelays} would
 * score them, with the options checked once and each relay's health asked once.
 *
 * @param evidence - people's evidence: a map by pubkey, or any iterable of {@link PersonEvidence}.
 * @param options - as for {@link scoreRelays}.
 * @returns pubkey → scored relays (best first), in input order; people with nothing usable map to `[]`.
 * @throws as {@link scoreRelays}.
 * @example
 * ```ts
 * import { scoreCandidates, selectRelays } from 'nostr-rendezvous/outbox'
 * const candidates = scoreCandidates(follows.map((p) => store.evidenceFor(p)), { purpose: 'outbox', now })
 * const selection = selectRelays({ candidates })
 * ```
 */
export function scoreCandidates(
  evidence: ReadonlyMap<string, PersonEvidence> | Iterable<PersonEvidence>,
  options: ScoreOptions,
): Map<string, ScoredRelay[]> {
  const r = resolve(options)
  const health = healthLookup(r)
  const out = new Map<string, ScoredRelay[]>()
  const people: Iterable<[string, PersonEvidence]> =
    evidence instanceof Map ? (evidence as ReadonlyMap<string, PersonEvidence>) : [...(evidence as Iterable<PersonEvidence>)].map((p) => [p.pubkey, p])
  for (const [pubkey, person] of people) out.set(pubkey, scoreResolved(relayList(person), r, health))
  return out
}

// ---- relay health ------------------------------------------------------------------------------

/** Health of a relay the pool has never used: new relays must get a chance, so not 0. */
export const NEUTRAL_HEALTH = 0.8

/** Health cap of a relay that is demoted (misbehaved) or in its penalty box. */
export const PENALISED_HEALTH = 0.1

/** Lowest health a relay that is merely slow or flaky can reach, so evidence still orders them. */
const MIN_HEALTH = 0.01

/**
 * How much a recent failure of each kind costs right after it happened (it halves every
 * {@link FAILURE_HALF_LIFE_MS}). A refused or timed-out connect says the relay may be down; a
 * dropped connection is common and usually transient; `policy` means it refuses us.
 */
const FAILURE_SEVERITY: Readonly<Record<string, number>> = {
  'connect-refused': 0.6,
  'connect-timeout': 0.6,
  'closed-unexpectedly': 0.2,
  protocol: 0.5,
  auth: 0.5,
  'rate-limited': 0.4,
  policy: 0.8,
}
const FAILURE_HALF_LIFE_MS = 15 * 60_000

/** Options of {@link relayHealthFactor}. */
export interface HealthOptions {
  /**
   * Whether the pool currently keeps the relay in its penalty box (statistics alone do not say).
   * @default false
   */
  readonly boxed?: boolean
}

/** Success rate with a prior worth two attempts at {@link NEUTRAL_HEALTH}: 0/0 → 0.8, 0/1 → 0.53. */
function reliability(stats: RelayStats): number {
  return (stats.connectSuccesses + 2 * NEUTRAL_HEALTH) / (stats.connectAttempts + 2)
}

/** 1 up to one second, then losing 0.1 per doubling, floored at 0.5. */
function latencyFactor(stats: RelayStats): number {
  const ms = stats.eoseLatencyMs ?? stats.connectLatencyMs
  if (ms === undefined || !(ms > 1000)) return 1
  return Math.max(0.5, 1 - 0.1 * Math.log2(ms / 1000))
}

function recentFailureFactor(stats: RelayStats, nowMs: number): number {
  const failure = stats.lastFailure
  if (failure === undefined) return 1
  const severity = FAILURE_SEVERITY[failure.kind] ?? 0.5
  return 1 - severity * decayFactor(nowMs - failure.at, FAILURE_HALF_LIFE_MS)
}

/**
 * Misbehaviour other than ignored tag filters: bad signatures, malformed messages, floods. The
 * pool counts a non-matching event as a demerit too; it is taken out here and weighed separately.
 */
function seriousDemerits(stats: RelayStats): number {
  return Math.max(0, stats.demerits - stats.eventsNotMatchingFilter)
}

/**
 * Many relays ignore or mis-implement tag filters (`#p`, `#e`) while serving `authors` queries
 * correctly, and outbox reads are `authors` queries: this costs at most 40 %.
 */
function tagFilterFactor(stats: RelayStats): number {
  return Math.max(0.6, 1 - 0.02 * stats.eventsNotMatchingFilter)
}

function timeoutFactor(stats: RelayStats): number {
  return Math.max(0.6, 1 - 0.05 * stats.eoseTimeouts)
}

function publishFactor(stats: RelayStats): number {
  if (stats.publishAttempts < 3) return 1
  return 0.5 + (0.5 * stats.publishAccepted) / stats.publishAttempts
}

/**
 * The health multiplier of one relay, from the relay pool's statistics: in (0, 1], 1 for a relay
 * that connects every time, answers fast and behaves. Unknown relays get {@link NEUTRAL_HEALTH}
 * (0.8), so a relay nobody has tried yet can still be chosen; a demoted relay (bad signatures,
 * malformed messages, floods: see the pool's `isDemoted`) or one in the penalty box is capped at
 * {@link PENALISED_HEALTH} (0.1). Relays that ignore tag filters lose at most 40 %: they still
 * serve `authors` queries. Monotonic: more failures never raise it.
 *
 * Factors multiplied: connection success rate (with a prior of 0.8 worth two attempts), latency
 * (EOSE, else connect; -0.1 per doubling past 1 s, floor 0.5), the last failure (by kind, fading
 * with a 15-minute half-life), misbehaviour (-0.15 per demerit), ignored tag filters
 * (-0.02 per event, floor 0.6), EOSE timeouts (-0.05 each, floor 0.6) and, after three publishes,
 * the publish accept rate (0.5 + rate/2).
 *
 * @param stats - the pool's statistics for the relay (`pool.relayStats(url)`), or undefined.
 * @param now - the current time in unix seconds (the pool stamps failures in milliseconds).
 * @param options - `boxed`, when the caller knows the relay is in its penalty box (the pool's
 *   `relayStats()` also says so through `penaltyUntil`).
 * @returns the health factor.
 * @example
 * ```ts
 * import { relayHealthFactor } from 'nostr-rendezvous/outbox'
 * const now = Math.floor(Date.now() / 1000)
 * relayHealthFactor(pool.relayStats('wss://relay.example.com'), now) // 0.8 before first use
 * ```
 */
export function relayHealthFactor(stats: RelayStats | undefined, now: number, options: HealthOptions = {}): number {
  const boxed = options.boxed === true || (stats?.penaltyUntil !== undefined && stats.penaltyUntil > now * 1000)
  if (stats === undefined) return boxed ? PENALISED_HEALTH : NEUTRAL_HEALTH
  const demerits = seriousDemerits(stats)
  let factor =
    reliability(stats) *
    latencyFactor(stats) *
    recentFailureFactor(stats, now * 1000) *
    tagFilterFactor(stats) *
    timeoutFactor(stats) *
    publishFactor(stats)
  // Kept at its worst value past demotion, so crossing the threshold can only lower the result.
  factor *= 1 - 0.15 * Math.min(demerits, DEMOTION_THRESHOLD)
  factor = Math.max(MIN_HEALTH, Math.min(1, factor))
  if (boxed || demerits >= DEMOTION_THRESHOLD) factor = Math.min(factor, PENALISED_HEALTH)
  return factor
}
