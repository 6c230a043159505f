/**
 * The synthetic network of `network-generator.ts` made real: a fleet of local relays on 127.0.0.1
 * holding the network's signed relay lists and posts, plus an indexer relay, so that the outbox
 * layer can be measured end to end on the wire (tracker → evidence → scorer → selector → pool)
 * and compared with the model-level simulation of `bench/recall.bench.ts`.
 *
 * How the model maps onto the fleet:
 * - The generator is asked for as many relay URLs as it takes to get exactly `relays` alive ones
 *   (searched deterministically with cheap fake keys; keys come from their own random stream, so
 *   the search does not change the network). Alive relays, by rank, become the fleet's relays.
 * - Dead relays become `ws://127.0.0.1:<port>` URLs on ports held by a server that resets every
 *   connection at once: the pool sees a failed connect, as with a refused one, and no other
 *   process can take the port meanwhile (a port bound and closed again could be reused).
 * - Censoring relays are real relays that never get the censored authors' events.
 * - Every event sits exactly where the model says: a post on each of its author's
 *   `holdingRelays` (reached, alive, not censoring); a kind 10002 / 10050 on the indexer and on the
 *   person's alive, non-censoring write relays.
 * - People without a 10002 have none anywhere. Their legacy kind 3 relay map (when the model gives
 *   them one) is published as a real kind 3 whose `content` holds the map, on the indexer and on
 *   the relays they reach, so a tracker can find it. Their NIP-05 and relay-hint clues have no wire
 *   form here (no NIP-05 server, no third-party events): {@link applyOffWireClues} hands them to an
 *   evidence store directly, as if learned elsewhere. List holders' stale kind 3 maps, NIP-05 and
 *   hints are not published at all: `declaredCandidates`, the model's view of what a client knows,
 *   ignores them too, so the wire and the model start from the same knowledge.
 *
 * Posts per person are the generator's `posts` capped at `maxPostsPerPerson` (signing and
 * storing every post of a heavy-tailed author would cost seconds); both the ground truth and the
 * model-level simulation use the capped counts.
 *
 * @example
 * ```ts
 * import { startFleetNetwork, modelRecall } from '../helpers/fleet-network.js'
 * const net = await startFleetNetwork({ seed: 1, people: 500, relays: 30, follows: 200 })
 * // ... a pool on 127.0.0.1, a tracker on net.indexerUrl, read net.follows ...
 * const model = modelRecall(net, { perAuthor: 2, maxRelays: 20 })
 * await net.close()
 * ```
 *
 * @module
 */
import { createServer, type Server } from 'node:net'
import { bytesToHex, hexToBytes } from '../../src/crypto/bytes.js'
import type { NostrEvent } from '../../src/crypto/event.js'
import { getPublicKey } from '../../src/crypto/keys.js'
import { finalizeEvent } from '../../src/crypto/signature.js'
import { createEvidenceStore, type EvidenceStore } from '../../src/outbox/evidence.js'
import { buildDmRelayListTemplate, buildRelayListTemplate } from '../../src/outbox/relay-lists.js'
import { relayHealthFactor, scoreCandidates } from '../../src/outbox/scorer.js'
import { replanAfterFailure, selectRelays, type SelectRelaysOptions } from '../../src/outbox/selector.js'
import { createTracker, type TrackerReport } from '../../src/outbox/tracker.js'
import type { Candidates, RelaySelection, ScoredRelay } from '../../src/outbox/types.js'
import type { RelayPool } from '../../src/relay-pool/pool.js'
import type { RelayReadOutcome } from '../../src/relay-pool/subscription.js'
import type { Filter } from '../../src/relay-pool/types.js'
import { normalizeRelayUrl } from '../../src/relay-pool/url.js'
import {
  createRng,
  declaredCandidates,
  generateNetwork,
  holdingRelays,
  pickFollows,
  type NetworkOptions,
  type SyntheticNetwork,
  type SyntheticPerson,
  type SyntheticRelay,
} from './network-generator.js'
import { startFleet, startRelay, type TestFleet, type TestRelay } from './relay-fleet.js'

// ---------------------------------------------------------------------------------------------
// Options and shapes
// ---------------------------------------------------------------------------------------------

/** Options of {@link startFleetNetwork}. */
export interface FleetNetworkOptions {
  /** Seed of the network (and of the follow list, unless `followSeed` is given). */
  readonly seed: number
  /** People in the network. */
  readonly people: number
  /**
   * Alive relays, i.e. the size of the fleet (1-50; startFleet's bound). When no relay count of the
   * generator gives exactly this many alive relays for the seed, the fleet has the nearest number
   * below (`fleet.relays.length` says). @default 30
   */
  readonly relays?: number
  /** Size of the user's follow list (`pickFollows`). */
  readonly follows: number
  /** Seed of the follow list. @default seed * 1000 + follows */
  readonly followSeed?: number
  /** Cap on each person's posts. @default 3 */
  readonly maxPostsPerPerson?: number
  /**
   * Whose posts are signed and stored: everyone's, or only the followed authors' (the only ones a
   * read of the follow list can see; saves most of the signing time). @default 'everyone'
   */
  readonly postsBy?: 'everyone' | 'follows'
  /**
   * Whose 10002 / 10050 / kind 3 lists are also stored on their own relays: everyone's, or only
   * the followed authors' (the indexer always gets everyone's). The tracker asks a person's own
   * relays only about that person, so for a read of the follow list the two give the same result;
   * 'follows' saves a third of the storing time. @default 'everyone'
   */
  readonly listsBy?: 'everyone' | 'follows'
  /** Other generator options (shares, list sizes ...). `seed`, `people`, `relays`, `realKeys` are set here. */
  readonly network?: Omit<NetworkOptions, 'seed' | 'people' | 'relays' | 'realKeys'>
}

/** What {@link startFleetNetwork} seeded, for the report. */
export interface SeedCounts {
  /** Signed events (each counted once). */
  readonly signed: number
  /** Copies stored across the fleet and the indexer. */
  readonly stored: number
  /** Copies a relay refused (should be 0). */
  readonly refused: number
  /** Kind 1 posts signed. */
  readonly posts: number
  /** Milliseconds spent generating keys + network, signing, storing. */
  readonly generateMs: number
  readonly signMs: number
  readonly storeMs: number
}

/** A running fleet network; call `close()` when done. */
export interface FleetNetwork {
  /** The model (with real keys). */
  readonly network: SyntheticNetwork
  /** The alive relays, in model rank order. */
  readonly fleet: TestFleet
  /** The indexer relay: every 10002 and 10050, and the kind 3 relay maps. */
  readonly indexer: TestRelay
  readonly indexerUrl: string
  /** Model URL → the fleet URL standing for it (a closed port for a dead relay). */
  urlOf(modelUrl: string): string
  /** Fleet URL → model URL, or undefined for the indexer and unknown URLs. */
  modelUrlOf(url: string): string | undefined
  /** The user's follow list (pubkeys), in `pickFollows` order. */
  readonly follows: readonly string[]
  /** The user: a key of their own, and a kind 3 follow list of `follows` stored on the indexer. */
  readonly user: { readonly secretKey: string; readonly pubkey: string }
  /** Fleet URLs of the model's dead relays (connections reset before the handshake). */
  readonly deadUrls: readonly string[]
  /** Person → their signed kind 10002, 10050 and kind 3 (relay map) events, as stored. */
  readonly listEvents: ReadonlyMap<string, readonly NostrEvent[]>
  /** Author → ids of their posts stored on the fleet (empty when none). */
  readonly postIds: ReadonlyMap<string, readonly string[]>
  /** Author → fleet URLs holding their posts (the model's `holdingRelays`, mapped). */
  holding(pubkey: string): ReadonlySet<string>
  /** Posts the model gives a person after the cap (what the fleet stores when posts are seeded). */
  postsOf(pubkey: string): number
  readonly seeded: SeedCounts
  /** Closes the fleet, the indexer and the dead ports. */
  close(): Promise<void>
}

// ---------------------------------------------------------------------------------------------
// Constants
// ---------------------------------------------------------------------------------------------

/** Fixed clock base of every seeded event (2025-10-09), so content and ids are reproducible. */
export const FLEET_EVENT_BASE = 1_760_000_000
/** Posts are dated after every list: base + this + person index × 10 + post number. */
const POSTS_OFFSET = 100_000
/** Post numbers per person fit the 10-second slot of its dates. */
const MAX_POSTS_CAP = 10
const STREAM_USER = 99

// ---------------------------------------------------------------------------------------------
// Building the network
// ---------------------------------------------------------------------------------------------

/**
 * The relay count nearest the expected one that gives exactly `alive` alive relays or, when no
 * count does (the number of dead relays jumps by more than one between counts), the one giving the
 * most alive relays below `alive`. Fake keys make each try cheap; the structure does not depend on
 * the keys.
 */
function relayCountFor(seed: number, people: number, alive: number, options: FleetNetworkOptions['network']): number {
  const deadShare = options?.deadShare ?? 0.5
  const guess = Math.max(4, Math.round(alive / Math.max(0.05, 1 - deadShare)))
  let fallback: { n: number; alive: number } | undefined
  for (let step = 0; step <= alive; step++) {
    for (const n of step === 0 ? [guess] : [guess + step, guess - step]) {
      if (n < Math.max(4, alive)) continue
      const got = generateNetwork({ ...options, seed, people, relays: n }).relays.filter((r) => r.alive).length
      if (got === alive) return n
      if (got < alive && (fallback === undefined || got > fallback.alive)) fallback = { n, alive: got }
    }
  }
  if (fallback === undefined) throw new RangeError(`no relay count near ${guess} gives at most ${alive} alive relays for seed ${seed}`)
  return fallback.n
}

/** Listeners on 127.0.0.1 that reset every connection at once: dead relays that cannot be reused. */
interface DeadPorts {
  readonly ports: readonly number[]
  close(): Promise<void>
}

/**
 * Holds `count` ports on 127.0.0.1 whose server resets every TCP connection as soon as it is
 * accepted, so a WebSocket to them fails before the handshake (the pool records a refused
 * connect). A port bound and closed again would refuse connections too, but other processes
 * binding port 0 meanwhile may get it and answer; a held port cannot be taken.
 */
async function deadPorts(count: number): Promise<DeadPorts> {
  const servers: Server[] = []
  const close = async (): Promise<void> => {
    await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))))
  }
  try {
    for (let i = 0; i < count; i++) {
      const server = createServer((socket) => socket.resetAndDestroy())
      servers.push(server)
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject)
        server.listen(0, '127.0.0.1', () => resolve())
      })
    }
  } catch (error) {
    await close()
    throw error
  }
  const ports = servers.map((s) => {
    const address = s.address()
    if (address === null || typeof address === 'string') throw new Error('deadPorts: no TCP address')
    return address.port
  })
  return { ports, close }
}

function userKey(seed: number): { secretKey: string; pubkey: string } {
  const rng = createRng(seed, STREAM_USER)
  for (let attempt = 0; attempt < 8; attempt++) {
    const bytes = new Uint8Array(32)
    for (let i = 0; i < 32; i++) bytes[i] = rng.int(256)
    try {
      return { pubkey: getPublicKey(bytes), secretKey: bytesToHex(bytes) }
    } catch {
      // out of range: draw again (astronomically rare)
    }
  }
  throw new Error('fleet-network: could not derive the user key')
}

/** Events to store, grouped by the relay that gets them. */
class Placement {
  readonly byRelay = new Map<string, NostrEvent[]>()
  signed = 0

  put(event: NostrEvent, urls: Iterable<string>): void {
    this.signed++
    for (const url of new Set(urls)) {
      const list = this.byRelay.get(url)
      if (list) list.push(event)
      else this.byRelay.set(url, [event])
    }
  }
}

/**
 * Starts the fleet, maps the model onto it and seeds every relay. Bounded: at most 50 relays, at
 * most {@link MAX_POSTS_CAP} posts per person; every event is signed once.
 *
 * @param options - see {@link FleetNetworkOptions}.
 * @returns the running network; call `close()` when done.
 * @throws RangeError for out-of-range options; whatever starting a relay throws (the relays
 *   started so far are closed first).
 * @example
 * ```ts
 * import { startFleetNetwork } from '../helpers/fleet-network.js'
 * const net = await startFleetNetwork({ seed: 1, people: 500, follows: 200, postsBy: 'follows' })
 * net.urlOf(net.network.relays[0]!.url) // 'ws://127.0.0.1:41234'
 * await net.close()
 * ```
 */
export async function startFleetNetwork(options: FleetNetworkOptions): Promise<FleetNetwork> {
  const size = options.relays ?? 30
  if (!Number.isInteger(size) || size < 1 || size > 50) throw new RangeError(`relays must be an integer in 1..50, got ${String(size)}`)
  const cap = options.maxPostsPerPerson ?? 3
  if (!Number.isInteger(cap) || cap < 0 || cap > MAX_POSTS_CAP) throw new RangeError(`maxPostsPerPerson must be an integer in 0..${MAX_POSTS_CAP}`)

  const t0 = performance.now()
  const relayCount = relayCountFor(options.seed, options.people, size, options.network)
  const network = generateNetwork({ ...options.network, seed: options.seed, people: options.people, relays: relayCount, realKeys: true })
  const follows = pickFollows(network, options.follows, options.followSeed ?? options.seed * 1_000 + options.follows)
  const user = userKey(options.seed)
  const generateMs = performance.now() - t0

  const alive = network.relays.filter((r) => r.alive)
  const dead = network.relays.filter((r) => !r.alive)
  const fleet = await startFleet(alive.length, (i) => ({ name: `fleet ${alive[i]?.url ?? i}` }))
  let indexer: TestRelay | undefined
  let held: DeadPorts | undefined
  const closeAll = async (): Promise<void> => {
    await Promise.all([fleet.close(), indexer?.close(), held?.close()])
  }
  try {
    indexer = await startRelay({ name: 'indexer' })
    held = await deadPorts(dead.length)
    return await seedFleet(options, { network, follows, user, generateMs, cap, alive, dead, fleet, indexer, ports: held.ports, closeAll })
  } catch (error) {
    await closeAll()
    throw error
  }
}

/** What {@link startFleetNetwork} has set up before seeding. */
interface Started {
  readonly network: SyntheticNetwork
  readonly follows: string[]
  readonly user: { readonly secretKey: string; readonly pubkey: string }
  readonly generateMs: number
  readonly cap: number
  readonly alive: readonly SyntheticRelay[]
  readonly dead: readonly SyntheticRelay[]
  readonly fleet: TestFleet
  readonly indexer: TestRelay
  readonly ports: readonly number[]
  readonly closeAll: () => Promise<void>
}

/** Maps the model onto the started relays, signs every event once and stores each copy. */
async function seedFleet(options: FleetNetworkOptions, started: Started): Promise<FleetNetwork> {
  const { network, follows, user, generateMs, cap, alive, dead, fleet, indexer, ports, closeAll } = started

  const toFleet = new Map<string, string>()
  alive.forEach((r, i) => toFleet.set(r.url, fleet.urls[i] as string))
  dead.forEach((r, i) => toFleet.set(r.url, `ws://127.0.0.1:${ports[i] as number}`))
  const fromFleet = new Map([...toFleet].map(([model, url]) => [url, model]))
  if (fromFleet.size !== toFleet.size || fromFleet.has(indexer.url)) throw new Error('fleet-network: two relays of the model got the same local URL')
  const urlOf = (modelUrl: string): string => {
    const url = toFleet.get(modelUrl)
    if (url === undefined) throw new RangeError(`not a relay of the network: ${modelUrl}`)
    return url
  }
  const person = (pubkey: string): SyntheticPerson => {
    const p = network.byPubkey.get(pubkey)
    if (!p) throw new RangeError(`not a person of the network: ${pubkey}`)
    return p
  }
  const holdingMap = new Map<string, ReadonlySet<string>>()
  const holding = (pubkey: string): ReadonlySet<string> => {
    let set = holdingMap.get(pubkey)
    if (set === undefined) {
      set = new Set(holdingRelays(network, person(pubkey)).map(urlOf))
      holdingMap.set(pubkey, set)
    }
    return set
  }
  const postsOf = (pubkey: string): number => Math.min(cap, person(pubkey).posts)

  const t1 = performance.now()
  const placement = new Placement()
  const postIds = new Map<string, string[]>()
  const listEvents = new Map<string, NostrEvent[]>()
  const followSet = new Set(follows)
  const storable = (p: SyntheticPerson, modelUrls: readonly string[]): string[] =>
    modelUrls.filter((u) => network.relayByUrl.get(u)?.alive === true && !network.relayByUrl.get(u)?.censors.has(p.pubkey)).map(urlOf)
  for (const p of network.people) {
    const sk = hexToBytes(p.secretKey as string)
    const ownCopies = options.listsBy !== 'follows' || followSet.has(p.pubkey)
    const writeRelays = ownCopies ? storable(p, p.write) : []
    const lists: NostrEvent[] = []
    if (p.hasRelayList) {
      const entries = [...new Set([...p.write, ...p.read])].map((u) => ({ url: urlOf(u), write: p.write.includes(u), read: p.read.includes(u) }))
      const event = finalizeEvent(buildRelayListTemplate(entries, { createdAt: FLEET_EVENT_BASE + p.index }), sk)
      lists.push(event)
      placement.put(event, [indexer.url, ...writeRelays])
    } else if (p.kind3Relays.length > 0) {
      const map: Record<string, { read: boolean; write: boolean }> = {}
      for (const u of p.kind3Relays) map[urlOf(u)] = { read: true, write: true }
      const event = finalizeEvent({ kind: 3, created_at: FLEET_EVENT_BASE + p.index, tags: [], content: JSON.stringify(map) }, sk)
      lists.push(event)
      placement.put(event, [indexer.url, ...(ownCopies ? storable(p, p.reached) : [])])
    }
    if (p.dmRelays.length > 0) {
      const event = finalizeEvent(buildDmRelayListTemplate(p.dmRelays.map(urlOf), { createdAt: FLEET_EVENT_BASE + p.index }), sk)
      lists.push(event)
      placement.put(event, [indexer.url, ...writeRelays])
    }
    listEvents.set(p.pubkey, lists)
    const ids: string[] = []
    if (options.postsBy !== 'follows' || followSet.has(p.pubkey)) {
      const where = [...holding(p.pubkey)]
      for (let j = 0; where.length > 0 && j < postsOf(p.pubkey); j++) {
        const created_at = FLEET_EVENT_BASE + POSTS_OFFSET + p.index * MAX_POSTS_CAP + j
        const event = finalizeEvent({ kind: 1, created_at, tags: [], content: `post ${j} of person ${p.index} (seed ${options.seed})` }, sk)
        ids.push(event.id)
        placement.put(event, where)
      }
    }
    postIds.set(p.pubkey, ids)
  }
  const followList = finalizeEvent(
    { kind: 3, created_at: FLEET_EVENT_BASE + POSTS_OFFSET, tags: follows.map((pk) => ['p', pk]), content: '' },
    hexToBytes(user.secretKey),
  )
  placement.put(followList, [indexer.url])
  const signMs = performance.now() - t1

  const t2 = performance.now()
  const relayByUrl = new Map<string, TestRelay>([[indexer.url, indexer], ...fleet.relays.map((r) => [r.url, r] as const)])
  let stored = 0
  let refused = 0
  await Promise.all(
    [...placement.byRelay].map(async ([url, events]) => {
      const relay = relayByUrl.get(url)
      if (!relay) throw new Error(`fleet-network: no relay for ${url}`)
      for (const result of await relay.storeEvents(events)) {
        if (result.success) stored++
        else refused++
      }
    }),
  )
  const storeMs = performance.now() - t2
  const posts = [...postIds.values()].reduce((sum, ids) => sum + ids.length, 0)

  return {
    network,
    fleet,
    indexer,
    indexerUrl: indexer.url,
    urlOf,
    modelUrlOf: (url) => fromFleet.get(normalizeRelayUrl(url)),
    follows,
    user,
    deadUrls: dead.map((r) => urlOf(r.url)),
    listEvents,
    postIds,
    holding,
    postsOf,
    seeded: { signed: placement.signed, stored, refused, posts, generateMs, signMs, storeMs },
    close: closeAll,
  }
}

// ---------------------------------------------------------------------------------------------
// Off-wire clues
// ---------------------------------------------------------------------------------------------

/**
 * Hands an evidence store the clues that have no wire form in the fleet: the NIP-05 relays and the
 * relay hints of people without a 10002 (see the module comment). What `declaredCandidates` knows
 * about them beyond their kind 3 map.
 *
 * @param evidence - the store to feed.
 * @param net - the fleet network.
 * @param pubkeys - the people to feed clues for (usually the follows).
 * @param at - when the clues were learned, unix seconds (hints decay from then).
 * @returns how many clues were applied.
 * @example
 * ```ts
 * import { applyOffWireClues } from '../helpers/fleet-network.js'
 * applyOffWireClues(evidence, net, net.follows, Math.floor(Date.now() / 1000))
 * ```
 */
export function applyOffWireClues(evidence: EvidenceStore, net: FleetNetwork, pubkeys: readonly string[], at: number): number {
  let applied = 0
  for (const pubkey of pubkeys) {
    const p = net.network.byPubkey.get(pubkey)
    if (!p || p.hasRelayList) continue
    if (p.nip05Relays.length > 0 && evidence.applyNip05(pubkey, p.nip05Relays.map(net.urlOf), at) === 'applied') applied++
    for (const url of p.hintRelays) if (evidence.addHint(pubkey, net.urlOf(url), 'tag-hint', at)) applied++
  }
  return applied
}

// ---------------------------------------------------------------------------------------------
// Plans and their recall at model level
// ---------------------------------------------------------------------------------------------

/** One fetch round: relay → the authors asked there. */
export type Round = ReadonlyMap<string, readonly string[]>

/** How many events a plan recalls, by the model's ground truth or measured on the wire. */
export interface RecallFigures {
  /** Distinct followed authors' posts received. */
  readonly recalled: number
  /** Followed authors' posts stored somewhere alive: the denominator. */
  readonly expected: number
  /** recalled / expected, in [0, 1]. */
  readonly recall: number
  /** Distinct relays asked over all rounds. */
  readonly connections: number
  /** Of those, how many failed (dead). */
  readonly failedRelays: number
  /** Copies downloaded: an event from two relays counts twice. */
  readonly downloads: number
  /** downloads / recalled (1 = no duplicates). */
  readonly copiesPerEvent: number
}

/** A plan computed with the selector: its rounds and the selections behind them. */
export interface SelectorPlan {
  readonly first: RelaySelection
  /** The re-plan after the failed relays, when any failed. */
  readonly second?: RelaySelection
  readonly failed: readonly string[]
}

/**
 * The model's candidates (`declaredCandidates`) with URLs mapped onto the fleet: what the
 * model-level simulation selects from.
 *
 * @param net - the fleet network.
 * @param follows - authors. @default net.follows
 * @returns author → scored relays on fleet URLs.
 * @example
 * ```ts
 * import { modelCandidates } from '../helpers/fleet-network.js'
 * const candidates = modelCandidates(net)
 * ```
 */
export function modelCandidates(net: FleetNetwork, follows: readonly string[] = net.follows): Map<string, ScoredRelay[]> {
  const out = new Map<string, ScoredRelay[]>()
  for (const [author, scored] of declaredCandidates(net.network, follows)) out.set(author, scored.map((s) => ({ url: net.urlOf(s.url), weight: s.weight })))
  return out
}

function postsTotal(net: FleetNetwork, follows: readonly string[]): number {
  let total = 0
  for (const author of follows) total += net.postIds.get(author)?.length ?? 0
  return total
}

/**
 * Recall of a sequence of rounds by the model's ground truth, with recall.bench's rules: a dead
 * relay returns nothing; a relay asked again for an author in a later round sends nothing new.
 *
 * @param net - the fleet network (its posts must have been seeded for `follows`).
 * @param rounds - relay → authors, per round.
 * @param follows - the authors the denominator counts. @default net.follows
 * @returns the figures.
 * @example
 * ```ts
 * import { simulateRounds } from '../helpers/fleet-network.js'
 * simulateRounds(net, [new Map([[net.fleet.urls[0]!, net.follows]])]).recall
 * ```
 */
export function simulateRounds(net: FleetNetwork, rounds: readonly Round[], follows: readonly string[] = net.follows): RecallFigures {
  const dead = new Set(net.deadUrls)
  const attempted = new Set<string>()
  const asked = new Set<string>()
  const recalledAuthors = new Set<string>()
  let downloads = 0
  for (const round of rounds) {
    for (const [url, authors] of round) {
      attempted.add(url)
      if (dead.has(url)) continue
      for (const author of authors) {
        const pair = `${url} ${author}`
        if (asked.has(pair)) continue
        asked.add(pair)
        if (!net.holding(author).has(url)) continue
        const n = net.postIds.get(author)?.length ?? 0
        if (n === 0) continue
        downloads += n
        recalledAuthors.add(author)
      }
    }
  }
  let recalled = 0
  for (const author of recalledAuthors) recalled += net.postIds.get(author)?.length ?? 0
  const expected = postsTotal(net, follows)
  return {
    recalled,
    expected,
    recall: expected === 0 ? 0 : recalled / expected,
    connections: attempted.size,
    failedRelays: [...attempted].filter((url) => dead.has(url)).length,
    downloads,
    copiesPerEvent: recalled === 0 ? 0 : downloads / recalled,
  }
}

/**
 * The selector's plan, as a client runs it: select, learn which chosen relays fail, re-plan once.
 *
 * @param candidates - author → scored relays.
 * @param fails - whether a relay fails to connect.
 * @param options - `perAuthor` and `maxRelays` (selector defaults otherwise).
 * @returns the first selection, the re-plan (when something failed) and the failed relays.
 * @example
 * ```ts
 * import { planWithSelector } from '../helpers/fleet-network.js'
 * const dead = new Set(net.deadUrls)
 * const plan = planWithSelector(candidates, (url) => dead.has(url), { perAuthor: 2, maxRelays: 20 })
 * ```
 */
export function planWithSelector(
  candidates: Candidates,
  fails: (url: string) => boolean,
  options: { perAuthor?: number; maxRelays?: number } = {},
): SelectorPlan {
  const selectOptions: SelectRelaysOptions = { candidates, ...options }
  const first = selectRelays(selectOptions)
  const failed = [...first.relays.keys()].filter(fails)
  if (failed.length === 0) return { first, failed }
  return { first, second: replanAfterFailure(first, failed, selectOptions), failed }
}

/** The rounds of a plan: the first selection, then the re-plan's relays. */
export function roundsOf(plan: SelectorPlan): Round[] {
  return plan.second === undefined ? [plan.first.relays] : [plan.first.relays, plan.second.relays]
}

/**
 * The model-level recall: the selector on the model's candidates (mapped to the fleet), dead
 * relays discovered on first use and re-planned once, events counted by the ground truth. The
 * same algorithm as `bench/recall.bench.ts`'s "ours", without the wire.
 *
 * @param net - the fleet network.
 * @param options - `perAuthor` (k) and `maxRelays` (budget); `candidates` to simulate another
 *   candidate set (e.g. the one the wire client built) with the same rules.
 * @returns the figures and the plan.
 * @example
 * ```ts
 * import { modelRecall } from '../helpers/fleet-network.js'
 * modelRecall(net, { perAuthor: 2, maxRelays: 20 }).figures.recall // 0.93
 * ```
 */
export function modelRecall(
  net: FleetNetwork,
  options: { perAuthor?: number; maxRelays?: number; candidates?: Candidates } = {},
): { figures: RecallFigures; plan: SelectorPlan } {
  const dead = new Set(net.deadUrls)
  const { candidates = modelCandidates(net), ...limits } = options
  const plan = planWithSelector(candidates, (url) => dead.has(url), limits)
  return { figures: simulateRounds(net, roundsOf(plan)), plan }
}

/**
 * The client's own pipeline without the wire: an evidence store fed directly with the lists the
 * fleet holds for the follows (the very events the tracker should find) and the off-wire clues,
 * scored for `outbox` with the given health, then {@link modelRecall}. With the same clock and the
 * health the wire client saw, it gives the wire client's candidates exactly when the tracker
 * discovered everything, so a gap between the two is a discovery or fetch loss.
 *
 * @param net - the fleet network.
 * @param options - `now` (unix seconds), `health` (default: every relay neutral), k and budget.
 * @returns the figures, the plan and the candidates.
 * @example
 * ```ts
 * import { pipelineModelRecall } from '../helpers/fleet-network.js'
 * const offWire = pipelineModelRecall(net, { now: run.now, health: (url) => run.health.get(url) ?? 0.8 })
 * ```
 */
export function pipelineModelRecall(
  net: FleetNetwork,
  options: { now: number; health?: (url: string) => number; perAuthor?: number; maxRelays?: number },
): { figures: RecallFigures; plan: SelectorPlan; candidates: Map<string, ScoredRelay[]> } {
  const { now, health, ...limits } = options
  const evidence = createEvidenceStore({ now: () => now })
  for (const pubkey of net.follows) for (const event of net.listEvents.get(pubkey) ?? []) evidence.applyRelayList(event)
  applyOffWireClues(evidence, net, net.follows, now)
  const candidates = scoreCandidates(
    net.follows.map((pk) => evidence.evidenceFor(pk)),
    { purpose: 'outbox', now, ...(health !== undefined && { health }) },
  )
  return { ...modelRecall(net, { ...limits, candidates }), candidates }
}

// ---------------------------------------------------------------------------------------------
// Fetching on the wire
// ---------------------------------------------------------------------------------------------

/** One relay's answer to one round: the pool's outcome, the authors asked, what came back. */
export interface RelayFetchReport {
  readonly url: string
  /** Authors asked in this round (those asked here in an earlier round are left out). */
  readonly authors: readonly string[]
  /** The pool's outcome of the first page (the one that says whether the relay answered). */
  readonly outcome: RelayReadOutcome
  /** Events received (distinct within this relay). */
  readonly events: number
  /** Query pages sent (1 unless a filter hit its limit). */
  readonly pages: number
  readonly ms: number
}

/** Options of {@link fetchRounds}. */
export interface FetchOptions {
  /** Authors per filter. @default 100 */
  readonly authorsPerFilter?: number
  /** `limit` of each filter; a filter that fills it is paged with `until`. @default 500 */
  readonly limit?: number
  /** Pages per filter at most. @default 20 */
  readonly maxPages?: number
  /** Per-relay time to EOSE. @default the pool's */
  readonly eoseTimeoutMs?: number
}

/** What {@link fetchRounds} received. */
export interface WireFetch {
  /** Distinct events by id. */
  readonly events: ReadonlyMap<string, NostrEvent>
  /** Per round, per relay. */
  readonly reports: readonly (readonly RelayFetchReport[])[]
  /** Copies received, summed over relays. */
  readonly downloads: number
  /** Relays whose outcome was not `eose`. */
  readonly failed: readonly string[]
  readonly ms: number
}

function chunk<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = []
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size))
  return out
}

/** {@link FetchOptions} with the defaults applied. */
type FetchSettings = Required<Omit<FetchOptions, 'eoseTimeoutMs'>> & Pick<FetchOptions, 'eoseTimeoutMs'>

/** Fetches kind 1 posts of `authors` from one relay, paging any filter that fills its limit. */
async function fetchFromRelay(pool: RelayPool, url: string, authors: readonly string[], o: FetchSettings): Promise<RelayFetchReport & { got: NostrEvent[] }> {
  const start = performance.now()
  const got = new Map<string, NostrEvent>()
  const queryOptions = { relays: [url], origin: 'discovered' as const, ...(o.eoseTimeoutMs !== undefined && { eoseTimeoutMs: o.eoseTimeoutMs }) }
  // The pool clamps `limit` to the relay's max_limit: a page is full at the clamped value.
  const limit = Math.min(o.limit, pool.relayLimits(url).maxLimit)
  const chunks = chunk(authors, o.authorsPerFilter)
  const filters: Filter[] = chunks.map((a) => ({ kinds: [1], authors: a, limit }))
  const first = await pool.query(filters, queryOptions)
  const outcome = first.relays[0] ?? { url, status: 'failed' as const, events: 0, firstSeen: 0, message: 'no outcome' }
  for (const e of first.events) got.set(e.id, e)
  let pages = 1
  if (outcome.status === 'eose') {
    for (const authorsOfChunk of chunks) {
      const members = new Set(authorsOfChunk)
      let page = first.events.filter((e) => members.has(e.pubkey))
      // A full page may hide older events: ask again from the oldest one (inclusive, deduplicated).
      for (let n = 1; page.length >= limit && n < o.maxPages; n++) {
        const until = Math.min(...page.map((e) => e.created_at))
        const next = await pool.query([{ kinds: [1], authors: authorsOfChunk, limit, until }], queryOptions)
        pages++
        const fresh = next.events.filter((e) => !got.has(e.id))
        for (const e of fresh) got.set(e.id, e)
        if (fresh.length === 0 || next.relays[0]?.status !== 'eose') break
        page = next.events
      }
    }
  }
  return { url, authors, outcome, events: got.size, pages, ms: performance.now() - start, got: [...got.values()] }
}

/**
 * Reads rounds of relay → authors over the wire, one query per relay (authors batched into
 * filters), relays of a round in parallel. A relay asked for an author in an earlier round is not
 * asked again for them, as in {@link simulateRounds}.
 *
 * @param pool - a pool allowed to reach 127.0.0.1.
 * @param rounds - the plan, or a function giving the next round from the failures so far (for a
 *   re-plan); return undefined to stop. At most 4 rounds.
 * @param options - batching, paging and the EOSE timeout.
 * @returns the events, per-relay reports, downloads and failed relays.
 * @example
 * ```ts
 * import { fetchRounds } from '../helpers/fleet-network.js'
 * const read = await fetchRounds(pool, [selection.relays])
 * ```
 */
export async function fetchRounds(
  pool: RelayPool,
  rounds: readonly Round[] | ((failed: readonly string[], round: number) => Round | undefined),
  options: FetchOptions = {},
): Promise<WireFetch> {
  const o: FetchSettings = { authorsPerFilter: 100, limit: 500, maxPages: 20, ...options }
  const start = performance.now()
  const events = new Map<string, NostrEvent>()
  const reports: RelayFetchReport[][] = []
  const asked = new Set<string>()
  const failed: string[] = []
  let downloads = 0
  for (let r = 0; r < 4; r++) {
    const round = typeof rounds === 'function' ? rounds(failed, r) : rounds[r]
    if (round === undefined) break
    const work: [string, string[]][] = []
    for (const [url, authors] of round) {
      const fresh = authors.filter((a) => !asked.has(`${url} ${a}`))
      for (const a of fresh) asked.add(`${url} ${a}`)
      if (fresh.length > 0) work.push([url, fresh])
    }
    const results = await Promise.all(work.map(([url, authors]) => fetchFromRelay(pool, url, authors, o)))
    for (const result of results) {
      downloads += result.got.length
      for (const e of result.got) events.set(e.id, e)
      if (result.outcome.status !== 'eose' && !failed.includes(result.url)) failed.push(result.url)
    }
    reports.push(results.map(({ got: _got, ...report }) => report))
  }
  return { events, reports, downloads, failed, ms: performance.now() - start }
}

/**
 * Scores what came back over the wire against the ground truth: distinct followed authors' posts
 * received, with the same denominator as {@link simulateRounds}.
 *
 * @param net - the fleet network.
 * @param fetch - from {@link fetchRounds}.
 * @param follows - the authors the denominator counts. @default net.follows
 * @returns the figures, and events received that are not followed authors' posts (should be 0).
 * @example
 * ```ts
 * import { wireFigures } from '../helpers/fleet-network.js'
 * wireFigures(net, read).figures.recall
 * ```
 */
export function wireFigures(net: FleetNetwork, fetch: WireFetch, follows: readonly string[] = net.follows): { figures: RecallFigures; unexpected: number } {
  const truth = new Set<string>()
  for (const author of follows) for (const id of net.postIds.get(author) ?? []) truth.add(id)
  let recalled = 0
  let unexpected = 0
  for (const id of fetch.events.keys()) {
    if (truth.has(id)) recalled++
    else unexpected++
  }
  const expected = truth.size
  const attempted = new Set(fetch.reports.flatMap((round) => round.map((r) => r.url)))
  return {
    figures: {
      recalled,
      expected,
      recall: expected === 0 ? 0 : recalled / expected,
      connections: attempted.size,
      failedRelays: fetch.failed.length,
      downloads: fetch.downloads,
      copiesPerEvent: recalled === 0 ? 0 : fetch.downloads / recalled,
    },
    unexpected,
  }
}

/**
 * The two most popular relays of the model (ranks 0 and 1), on the fleet: the fixed-list approach
 * the outbox model is compared with.
 *
 * @param net - the fleet network.
 * @returns their fleet URLs.
 * @example
 * ```ts
 * import { bigTwoUrls } from '../helpers/fleet-network.js'
 * const round = new Map(bigTwoUrls(net).map((url) => [url, net.follows]))
 * ```
 */
export function bigTwoUrls(net: FleetNetwork): string[] {
  return net.network.relays.filter((r) => r.rank < 2).map((r) => net.urlOf(r.url))
}

// ---------------------------------------------------------------------------------------------
// The whole client pipeline
// ---------------------------------------------------------------------------------------------

/** Options of {@link readFollowsOnWire}. */
export interface OutboxReadOptions {
  /** The redundancy k. @default 2 */
  readonly perAuthor?: number
  /** The connection budget. @default 20 */
  readonly maxRelays?: number
  /** The clock of the evidence store and the scorer, unix seconds. @default now */
  readonly now?: number
  /** Fetch options (batching, paging, EOSE timeout). */
  readonly fetch?: FetchOptions
  /**
   * Pass the relays the pool holds in its penalty box after the tracker's fetch (refused
   * connections) to the selector as `unhealthy`, instead of only lowering their health.
   * @default false
   */
  readonly skipPenaltyBox?: boolean
}

/** Everything {@link readFollowsOnWire} did, step by step. */
export interface OutboxRead {
  /** The clock the evidence and the scorer used, unix seconds. */
  readonly now: number
  /** The health factor the scorer applied to each relay, as it was when the candidates were scored. */
  readonly health: ReadonlyMap<string, number>
  readonly evidence: EvidenceStore
  readonly tracker: TrackerReport
  readonly candidates: Map<string, ScoredRelay[]>
  readonly first: RelaySelection
  /** The re-plan after the first round's failed relays, when any failed. */
  readonly second?: RelaySelection
  readonly read: WireFetch
  readonly figures: RecallFigures
  /** Events received that are not followed authors' posts (0 when all is well). */
  readonly unexpected: number
  /** Milliseconds per step. */
  readonly ms: { readonly tracker: number; readonly select: number; readonly read: number; readonly total: number }
}

/**
 * What a client does to read its follows' posts, on the fleet: a tracker on the indexer fetches
 * the follows' relay lists into a fresh evidence store, the off-wire clues are added
 * ({@link applyOffWireClues}), the evidence is scored for `outbox` with each relay's health from
 * the pool, the selector picks (k, budget), the pool fetches each chosen relay's authors' kind 1
 * posts, and the relays that failed are re-planned once with `replanAfterFailure`.
 *
 * @param net - the fleet network.
 * @param pool - a pool allowed to reach 127.0.0.1 (the caller closes it).
 * @param options - k, budget, clock, fetch options.
 * @returns each step's result, the recall figures and the time taken.
 * @throws whatever the tracker throws (closed pool, abort).
 * @example
 * ```ts
 * import { readFollowsOnWire } from '../helpers/fleet-network.js'
 * const pool = createRelayPool({ connect: { allowPrivateHosts: ['127.0.0.1'] }, fetch: false })
 * const run = await readFollowsOnWire(net, pool)
 * run.figures.recall // 0.96
 * ```
 */
export async function readFollowsOnWire(net: FleetNetwork, pool: RelayPool, options: OutboxReadOptions = {}): Promise<OutboxRead> {
  const now = options.now ?? Math.floor(Date.now() / 1000)
  const t0 = performance.now()
  const evidence = createEvidenceStore({ now: () => now })
  const tracker = createTracker({ pool, evidence, indexerRelays: [net.indexerUrl] })
  let report: TrackerReport
  try {
    report = await tracker.ensureRelayLists(net.follows)
  } finally {
    await tracker.close()
  }
  applyOffWireClues(evidence, net, net.follows, now)
  const t1 = performance.now()
  const health = new Map<string, number>()
  const healthOf = (url: string): number => {
    const h = relayHealthFactor(pool.relayStats(url), now)
    health.set(url, h)
    return h
  }
  const candidates = scoreCandidates(
    net.follows.map((pk) => evidence.evidenceFor(pk)),
    { purpose: 'outbox', now, health: healthOf },
  )
  const boxed = options.skipPenaltyBox === true ? pool.allRelayStats().filter((r) => (r.penaltyUntil ?? 0) > Date.now()).map((r) => r.url) : []
  const selectOptions: SelectRelaysOptions = {
    candidates,
    perAuthor: options.perAuthor ?? 2,
    maxRelays: options.maxRelays ?? 20,
    ...(boxed.length > 0 && { unhealthy: boxed }),
  }
  const first = selectRelays(selectOptions)
  let selectMs = performance.now() - t1
  let second: RelaySelection | undefined
  const read = await fetchRounds(
    pool,
    (failed, round) => {
      if (round === 0) return first.relays
      if (round !== 1 || failed.length === 0) return undefined
      const t = performance.now()
      second = replanAfterFailure(first, failed, selectOptions)
      selectMs += performance.now() - t
      return second.relays
    },
    options.fetch,
  )
  const { figures, unexpected } = wireFigures(net, read)
  return {
    now,
    health,
    evidence,
    tracker: report,
    candidates,
    first,
    ...(second !== undefined && { second }),
    read,
    figures,
    unexpected,
    ms: { tracker: t1 - t0, select: selectMs, read: read.ms, total: performance.now() - t0 },
  }
}
