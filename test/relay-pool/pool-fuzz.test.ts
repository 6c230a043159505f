/**
 * Fuzzes the whole pool, not just its parser: well over 100,000 generated relay frames go through
 * an in-memory socket into a real `RelayPool` that has subscriptions open (live and one-shot,
 * some waiting for a slot, re-opened as they end), publishes waiting for OK and AUTH in progress.
 * The fuzzer sees what the pool sends (REQ, CLOSE, EVENT, AUTH), so it aims messages at live
 * subscription ids and pending event ids as well as at ids that never existed or are gone.
 *
 * A model of the pool, kept from the frames on the wire, predicts every counter: each frame the
 * parser rejects is counted under its reason (the parser, fuzzed on its own in parser-fuzz.test.ts,
 * is the oracle for which frames those are); each well-formed EVENT is received and then counted
 * exactly once as unknown-subscription, not matching, beyond the limit, bad signature, or
 * delivered; events reach `onEvent` only when genuine and matching, once per id and subscription.
 * Nothing may throw out of the socket callback, no promise may reject unhandled, every publish
 * resolves with the status its last OK implies, and after `close()` nothing is left. Now and then
 * the relay drops the connection: the pool must ignore the old socket and reconnect.
 *
 * The pool runs on a clock the fuzzer advances (50 ms per turn of the event loop), so penalty boxes
 * and the rest are deterministic. At the end, two small fixed cases on publishes in flight at
 * close(), one of them a pool bug the fuzz found (marked `it.fails` until it is fixed).
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { bytesToHex, createSecretKeySigner, finalizeEvent, getEventHash, getPublicKey, type NostrEvent } from '../../src/crypto/index.js'
import { INVALID_MESSAGE_REASONS, MAX_AUTH_CHALLENGE_LENGTH, parseRelayMessage } from '../../src/relay-pool/messages.js'
import { createRelayPool, type PublishOutcome, type PublishStatus, type RelayPool } from '../../src/relay-pool/pool.js'
import { createMainThreadVerifier } from '../../src/relay-pool/verifier.js'
import type { RelayReadStatus, Subscription } from '../../src/relay-pool/subscription.js'
import { MACHINE_PREFIXES, type Filter } from '../../src/relay-pool/types.js'
import { createFakeSocketFactory, type FakeSocket } from '../helpers/fake-socket.js'
import { countResources } from '../helpers/leak-check.js'

const SEED = 42
/** The pool's size limit: small, so that oversized frames are cheap to make. */
const MAX_BYTES = 4096
const RELAY = 'wss://fuzz.example'
/** Per-connection REQ cap: low, so that subscriptions queue for a slot. */
const SLOTS = 3
const MAX_OPEN_SUBSCRIPTIONS = 6
const BEYOND_LIMIT = 5
const MAX_BEFORE_EOSE = 300
/** Frames delivered without yielding to the event loop, at most (the intake verifies per turn). */
const MAX_ROUND = 400
const T0 = 1_700_000_000
/** Subscriptions are told apart on the wire by a marker kind in their first filter. */
const MARKER_BASE = 40_000
const LONG = 600_000
const READ_STATUSES: readonly RelayReadStatus[] = ['pending', 'eose', 'timeout', 'closed', 'auth-required', 'refused', 'failed', 'disconnected', 'flooded', 'aborted']
const PARSER_REASONS: readonly string[] = INVALID_MESSAGE_REASONS

const encoder = new TextEncoder()
const frame = (...parts: unknown[]): string => JSON.stringify(parts)

/** The seven NIP-01 fields in a fixed order: equal strings mean the same signed event. */
function canonical(e: NostrEvent): string {
  return JSON.stringify([e.id, e.pubkey, e.created_at, e.kind, e.tags, e.content, e.sig])
}

// ---- fixture: 150 pre-signed events and several hundred forgeries of them ----------------------

const VARIANTS = ['genuine', 'extra', 'reordered', 'content', 'created_at', 'pubkey', 'tags', 'id', 'kind', 'sig'] as const
type Variant = (typeof VARIANTS)[number]

interface Fixture {
  /** Authors 0-4 are the ones subscriptions ask for; author 5 is a stranger. */
  readonly authors: readonly string[]
  readonly events: readonly NostrEvent[]
  /** Canonical form of every genuine event. */
  readonly genuine: ReadonlySet<string>
  /** Events whose id hash or signature is wrong, by variant, one per genuine event (sig: fewer). */
  readonly forged: Readonly<Record<Exclude<Variant, 'genuine' | 'extra' | 'reordered'>, readonly NostrEvent[]>>
}

let fixture: Fixture | undefined

function getFixture(): Fixture {
  if (fixture !== undefined) return fixture
  const keys = Array.from({ length: 6 }, (_, i) => new Uint8Array(32).fill(i + 1))
  const authors = keys.map((k) => getPublicKey(k))
  const events = Array.from({ length: 150 }, (_, i) => {
    const key = keys[i % 6] as Uint8Array
    const tags = i % 3 === 0 ? [['t', 'fuzz'], ['p', authors[(i + 1) % 6] as string]] : []
    const content = i % 5 === 0 ? `note ${i} 🌐 ünïcödé "quoted" \\ \u2028` : `note ${i}`
    return finalizeEvent({ kind: i % 7 === 3 ? 7 : 1, created_at: T0 + ((i * 37) % 600), tags, content }, key)
  })
  const at = (i: number): NostrEvent => events[i % events.length] as NostrEvent
  const forged = {
    content: events.map((e) => ({ ...e, content: `${e.content}!` })),
    created_at: events.map((e) => ({ ...e, created_at: e.created_at + 1 })),
    pubkey: events.map((e, i) => ({ ...e, pubkey: authors[(authors.indexOf(e.pubkey) + 1 + (i % 4)) % 5] as string })),
    tags: events.map((e) => ({ ...e, tags: [...e.tags, ['t', 'forged']] })),
    id: events.map((e, i) => ({ ...e, id: at(i + 1).id })),
    kind: events.map((e) => ({ ...e, kind: e.kind === 1 ? 7 : 1 })),
    // Right id, wrong signature: the only forgeries that cost a full Schnorr check, so few.
    sig: events.slice(0, 24).map((e, i) => ({ ...e, sig: i % 2 === 0 ? at(i + 6).sig : `${e.sig.slice(0, 100)}${'0'.repeat(28)}` })),
  }
  for (const [variant, list] of Object.entries(forged)) {
    for (const e of list) {
      const hashOk = getEventHash(e) === e.id
      if (hashOk !== (variant === 'sig')) throw new Error(`fixture: ${variant} forgery of ${e.id} has the wrong hash status`)
    }
  }
  fixture = { authors, events, genuine: new Set(events.map(canonical)), forged }
  return fixture
}

/** The JSON of event number `pick` in the given variant (genuine ones re-spelled, or a forgery). */
function variantJson(f: Fixture, variant: Variant, pick: number): string {
  const base = f.events[pick % f.events.length] as NostrEvent
  switch (variant) {
    case 'genuine':
      return JSON.stringify(base)
    case 'extra':
      // Extra keys (an own `__proto__` among them) must be dropped by the parser, not rejected.
      return JSON.stringify(base).replace('{', '{"__proto__":{"polluted":1},"relays":["wss://x"],"seen":1,')
    case 'reordered':
      return JSON.stringify(base, Object.keys(base).reverse())
    default: {
      const list = f.forged[variant]
      return JSON.stringify(list[pick % list.length])
    }
  }
}

// ---- an independent model of matching and of the pool's flood bound -----------------------------

function matchesFilter(filter: Record<string, unknown>, e: NostrEvent): boolean {
  for (const [key, value] of Object.entries(filter)) {
    if (value === undefined || key === 'limit') continue
    const list = value as readonly unknown[]
    if (key === 'ids' && !list.includes(e.id)) return false
    if (key === 'authors' && !list.includes(e.pubkey)) return false
    if (key === 'kinds' && !list.includes(e.kind)) return false
    if (key === 'since' && e.created_at < (value as number)) return false
    if (key === 'until' && e.created_at > (value as number)) return false
    if (key.startsWith('#') && !e.tags.some((t) => t[0] === key.slice(1) && t.length > 1 && list.includes(t[1]))) return false
    if (!['ids', 'authors', 'kinds', 'since', 'until'].includes(key) && !key.startsWith('#')) throw new Error(`model: unknown filter key ${key}`)
  }
  return true
}

const matches = (filters: readonly Filter[], e: NostrEvent): boolean => filters.some((f) => matchesFilter(f as Record<string, unknown>, e))

/** Matching events a REQ may bring before EOSE before the pool calls it a flood. */
function floodBound(filters: readonly Filter[]): number {
  const expected = filters.reduce((sum, f) => sum + Math.min(f.limit ?? Infinity, f.ids?.length ?? Infinity), 0)
  return Math.min(expected + BEYOND_LIMIT, MAX_BEFORE_EOSE)
}

// ---- commands ---------------------------------------------------------------------------------

type Form = 'text' | 'bytes' | 'buffer' | 'arraybuffer'
/** Where a message is aimed: a subscription the pool has on the wire now, one it had, or any value. */
type Target = { k: 'live'; i: number } | { k: 'gone'; i: number } | { k: 'value'; value: unknown }

type Cmd =
  | { t: 'frame'; data: unknown }
  | { t: 'event'; target: Target; pick: number; variant: Variant; form: Form; burst: number }
  | { t: 'flood'; target: Target; pick: number; count: number }
  | { t: 'badEvent'; target: Target; pick: number; field: string; value: unknown }
  | { t: 'eose'; target: Target; form: Form }
  | { t: 'closed'; target: Target; message: unknown; form: Form }
  | { t: 'ok'; aim: 'publish' | 'auth' | 'genuine' | 'value'; i: number; id: unknown; accepted: unknown; message: unknown }
  | { t: 'auth'; challenge: unknown }
  | { t: 'notice'; message: unknown; repeat: number }
  | { t: 'count'; target: Target; payload: unknown }
  | { t: 'oversized'; target: Target; pick: number; pad: number; form: Form }
  | { t: 'tick' }
  | { t: 'subscribe'; live: boolean; authors: number; window: readonly [number, number] | null; limit: number | null; ids: readonly number[] }
  | { t: 'unsubscribe'; i: number }
  | { t: 'publish'; pick: number }
  | { t: 'drop' }

const hex = (bytes: number): fc.Arbitrary<string> => fc.uint8Array({ minLength: bytes, maxLength: bytes }).map(bytesToHex)
const shortText = fc.string({ unit: 'binary', maxLength: 24 })
const notString = fc.oneof(fc.integer(), fc.boolean(), fc.constant(null), fc.array(fc.nat(9), { maxLength: 2 }), fc.dictionary(fc.string({ maxLength: 3 }), fc.nat(9), { maxKeys: 2 }))
const form: fc.Arbitrary<Form> = fc.oneof({ arbitrary: fc.constant('text' as const), weight: 12 }, fc.constantFrom('bytes' as const, 'buffer' as const, 'arraybuffer' as const))
const target: fc.Arbitrary<Target> = fc.oneof(
  { arbitrary: fc.nat().map((i) => ({ k: 'live' as const, i })), weight: 12 },
  { arbitrary: fc.nat().map((i) => ({ k: 'gone' as const, i })), weight: 2 },
  { arbitrary: fc.oneof(fc.string({ unit: 'binary', minLength: 1, maxLength: 12 }), fc.constantFrom('rz1', 'rz2', 'rza', 'RZ1', ' rz1')).map((value) => ({ k: 'value' as const, value })), weight: 2 },
  // Not a subscription id at all: empty, too long, not a string.
  { arbitrary: fc.oneof(fc.constant(''), fc.string({ minLength: 257, maxLength: 300 }), notString).map((value) => ({ k: 'value' as const, value })), weight: 1 },
)
/** OK/CLOSED messages: mostly with a machine-readable prefix, some near misses, some absent or mistyped. */
const message = fc.oneof(
  { arbitrary: fc.tuple(fc.constantFrom(...MACHINE_PREFIXES), fc.constantFrom(':', ': ', ':  '), shortText).map(([p, sep, rest]) => `${p}${sep}${rest}`), weight: 6 },
  { arbitrary: fc.tuple(fc.constantFrom('Blocked', ' pow', 'auth-required ', 'unknown', 'rate_limited'), shortText).map(([p, rest]) => `${p}:${rest}`), weight: 1 },
  // What relays say when they have no room for another subscription (the pool re-queues the REQ once).
  { arbitrary: fc.constantFrom('error: too many subscriptions', 'blocked: max subscriptions reached', 'restricted: subscription limit'), weight: 1 },
  { arbitrary: shortText, weight: 2 },
  { arbitrary: fc.constant(undefined), weight: 1 },
  { arbitrary: notString, weight: 1 },
)
const TYPES = ['EVENT', 'EOSE', 'OK', 'CLOSED', 'NOTICE', 'AUTH', 'COUNT', 'REQ', 'CLOSE', 'event', 'Eose', ''] as const
const notText = fc.constantFrom<unknown>(
  null,
  undefined,
  42,
  true,
  Symbol('frame'),
  { data: '["EOSE","rz1"]' },
  ['EOSE', 'rz1'],
  new Map(),
  new Blob(['["NOTICE","blob"]']),
  new Proxy({}, { getPrototypeOf: () => { throw new Error('hostile') }, get: () => { throw new Error('hostile') } }),
)
/** Frames fixed at generation time: garbage of every kind. */
const garbage: fc.Arbitrary<Cmd> = fc
  .oneof(
    { arbitrary: fc.string({ unit: 'binary', maxLength: 60 }), weight: 6 },
    { arbitrary: fc.string({ unit: fc.constantFrom('[', ']', '"', ',', '{', '}', ':', 'EVENT', 'OK', '1', 'null', ' ', '\\', 'rz1'), maxLength: 16 }), weight: 4 },
    { arbitrary: fc.jsonValue({ maxDepth: 2 }).map((v) => JSON.stringify(v) ?? 'null'), weight: 6 },
    { arbitrary: fc.tuple(fc.constantFrom(...TYPES), fc.array(fc.oneof(fc.jsonValue({ maxDepth: 1 }), hex(32), fc.constantFrom('rz1', 'rz2')), { maxLength: 4 })).map(([t, rest]) => frame(t, ...rest)), weight: 6 },
    { arbitrary: fc.uint8Array({ maxLength: 48 }), weight: 3 },
    { arbitrary: notText, weight: 1 },
    // Oversized garbage, text and binary, ASCII and multi-byte, around and far over the limit.
    { arbitrary: fc.tuple(fc.integer({ min: -8, max: 3 * MAX_BYTES }), fc.constantFrom('x', '€', '😀')).map(([n, ch]) => `["NOTICE","${ch.repeat(Math.max(0, Math.floor((MAX_BYTES + n) / encoder.encode(ch).length)))}"]`), weight: 2 },
  )
  .map((data) => ({ t: 'frame' as const, data }))

const BAD_FIELDS: fc.Arbitrary<[string, unknown]> = fc.oneof(
  fc.tuple(fc.constantFrom('id', 'pubkey', 'sig', 'kind', 'created_at', 'tags', 'content'), fc.constant(undefined)),
  fc.tuple(fc.constantFrom('id', 'pubkey'), fc.oneof(hex(31), hex(32).map((h) => h.toUpperCase()), hex(32).map((h) => `${h}0`), notString)),
  fc.tuple(fc.constant('sig'), fc.oneof(hex(63), hex(64).map((h) => `${h.slice(2)}zz`), notString)),
  fc.tuple(fc.constant('kind'), fc.constantFrom<unknown>(-1, 65536, 1.5, '1', null, 2 ** 40)),
  fc.tuple(fc.constant('created_at'), fc.constantFrom<unknown>(-1, 1.5, '1700000000', null, 2 ** 53, [1])),
  fc.tuple(fc.constant('tags'), fc.constantFrom<unknown>('x', [1], [['t', 1]], {}, null, [[null]])),
  fc.tuple(fc.constant('content'), fc.constantFrom<unknown>(1, null, [], {}, true)),
  fc.tuple(fc.constant('*'), fc.constantFrom<unknown>(null, 'event', 1, [], [{}])),
)

const commandArb: fc.Arbitrary<Cmd> = fc.oneof(
  { arbitrary: garbage, weight: 300 },
  {
    arbitrary: fc.record({
      t: fc.constant('event' as const),
      target,
      pick: fc.nat(),
      variant: fc.oneof(
        { arbitrary: fc.constant('genuine' as const), weight: 600 },
        { arbitrary: fc.constantFrom('extra' as const, 'reordered' as const), weight: 80 },
        { arbitrary: fc.constantFrom('content' as const, 'created_at' as const, 'pubkey' as const, 'tags' as const, 'id' as const, 'kind' as const), weight: 300 },
        { arbitrary: fc.constant('sig' as const), weight: 10 },
      ),
      form,
      burst: fc.oneof({ arbitrary: fc.constant(1), weight: 85 }, { arbitrary: fc.integer({ min: 2, max: 60 }), weight: 15 }),
    }),
    weight: 300,
  },
  // Genuine events that all match the target subscription: floods before EOSE, duplicates after.
  { arbitrary: fc.record({ t: fc.constant('flood' as const), target, pick: fc.nat(), count: fc.integer({ min: 5, max: 80 }) }), weight: 15 },
  { arbitrary: fc.tuple(target, fc.nat(), BAD_FIELDS).map(([t, pick, [field, value]]) => ({ t: 'badEvent' as const, target: t, pick, field, value })), weight: 40 },
  { arbitrary: fc.record({ t: fc.constant('eose' as const), target, form }), weight: 50 },
  { arbitrary: fc.record({ t: fc.constant('closed' as const), target, message, form }), weight: 20 },
  {
    arbitrary: fc.record({
      t: fc.constant('ok' as const),
      aim: fc.constantFrom('publish' as const, 'publish' as const, 'auth' as const, 'genuine' as const, 'value' as const),
      i: fc.nat(),
      id: fc.oneof({ arbitrary: hex(32), weight: 30 }, { arbitrary: fc.oneof(hex(31), notString, fc.constant('')), weight: 10 }),
      accepted: fc.oneof({ arbitrary: fc.boolean(), weight: 100 }, { arbitrary: fc.constantFrom<unknown>('true', 1, null), weight: 10 }),
      message,
    }),
    weight: 80,
  },
  {
    arbitrary: fc
      .oneof(
        { arbitrary: fc.string({ maxLength: 40 }), weight: 50 },
        { arbitrary: fc.integer({ min: MAX_AUTH_CHALLENGE_LENGTH - 2, max: MAX_AUTH_CHALLENGE_LENGTH + 3000 }).map((n) => 'c'.repeat(n)), weight: 20 },
        { arbitrary: notString, weight: 10 },
      )
      .map((challenge) => ({ t: 'auth' as const, challenge })),
    weight: 10,
  },
  { arbitrary: fc.record({ t: fc.constant('notice' as const), message: fc.oneof({ arbitrary: shortText, weight: 50 }, { arbitrary: notString, weight: 10 }), repeat: fc.oneof({ arbitrary: fc.constant(1), weight: 30 }, { arbitrary: fc.integer({ min: 2, max: 40 }), weight: 10 }) }), weight: 40 },
  {
    arbitrary: fc.record({
      t: fc.constant('count' as const),
      target,
      payload: fc.oneof(fc.nat().map((count) => ({ count })), fc.record({ count: fc.nat(), approximate: fc.boolean() }), fc.constantFrom<unknown>({ count: -1 }, { count: '3' }, {}, 5, null, [])),
    }),
    weight: 20,
  },
  { arbitrary: fc.record({ t: fc.constant('oversized' as const), target, pick: fc.nat(), pad: fc.integer({ min: -40, max: 2 * MAX_BYTES }), form }), weight: 30 },
  { arbitrary: fc.constant({ t: 'tick' as const }), weight: 30 },
  {
    arbitrary: fc.record({
      t: fc.constant('subscribe' as const),
      live: fc.oneof({ arbitrary: fc.constant(true), weight: 2 }, { arbitrary: fc.constant(false), weight: 1 }),
      authors: fc.integer({ min: 1, max: 31 }),
      window: fc.option(fc.tuple(fc.nat(300), fc.nat(400)).map(([from, width]) => [T0 + from, T0 + from + width] as const), { nil: null, freq: 3 }),
      limit: fc.option(fc.integer({ min: 1, max: 30 }), { nil: null }),
      ids: fc.array(fc.nat(), { maxLength: 3 }),
    }),
    weight: 30,
  },
  { arbitrary: fc.record({ t: fc.constant('unsubscribe' as const), i: fc.nat() }), weight: 5 },
  { arbitrary: fc.record({ t: fc.constant('publish' as const), pick: fc.nat() }), weight: 6 },
  { arbitrary: fc.constant({ t: 'drop' as const }), weight: 1 },
)

// ---- the run --------------------------------------------------------------------------------

function encode(text: string, as: Form): unknown {
  switch (as) {
    case 'text':
      return text
    case 'bytes':
      return encoder.encode(text)
    case 'buffer':
      return Buffer.from(text)
    case 'arraybuffer':
      return encoder.encode(text).buffer
  }
}

class Deliberate extends Error {}

/** One REQ the pool has open on the wire, as the model sees it. */
interface WireReq {
  readonly subId: string
  readonly handle: Handle
  readonly filters: readonly Filter[]
  readonly bound: number
  beforeEose: number
  eosed: boolean
  /** Copies handed to the intake since the last turn of the event loop. */
  pending: number
  /** EOSE arrived while copies were pending: it takes effect once they are decided. */
  eoseDeferred: boolean
}

/** One subscription opened by the fuzzer, with what it expects and what it got. */
interface Handle {
  readonly marker: number
  readonly filters: readonly Filter[]
  readonly live: boolean
  sub: Subscription | undefined
  open: boolean
  reqs: number
  expectedIds: Set<string>
  expectedEvents: number
  expectedSeen: number
  gotIds: Set<string>
  gotEvents: number
  gotSeen: number
}

interface Publish {
  readonly event: NostrEvent
  answers: Array<{ accepted: boolean; prefix: string | undefined }>
  awaiting: boolean
  sends: number
  outcome: PublishOutcome | undefined
  /** Still waiting when the relay dropped the connection or the pool closed. */
  endedBy: 'drop' | 'close' | undefined
  failure: unknown
  done: Promise<void>
}

/** What the model expects the pool's statistics to say. */
interface Expected {
  eventsReceived: number
  eventsNotMatchingFilter: number
  eventsBadSignature: number
  eventsBeyondLimit: number
  eventsFirstSeen: number
  notices: number
  demerits: number
  invalidMessages: Record<string, number>
  subscriptionsClosed: Record<string, number>
}

const bump = (record: Record<string, number>, key: string, by = 1): void => {
  record[key] = (record[key] ?? 0) + by
}

class PoolFuzzer {
  readonly fixture = getFixture()
  readonly fake = createFakeSocketFactory({ record: false, onSend: (text, socket) => this.#onSend(text, socket) })
  readonly pool: RelayPool
  clock = T0 * 1000
  frames = 0
  ticks = 0
  framesInRound = 0
  readonly expected: Expected = {
    eventsReceived: 0,
    eventsNotMatchingFilter: 0,
    eventsBadSignature: 0,
    eventsBeyondLimit: 0,
    eventsFirstSeen: 0,
    notices: 0,
    demerits: 0,
    invalidMessages: {},
    subscriptionsClosed: {},
  }
  /** Frames by parse outcome (a reason or a message type), from the oracle. */
  readonly parsed: Record<string, number> = {}
  readonly tally = { unknownSubscription: 0, valid: 0, floods: 0, reqs: 0, closes: 0, authsSent: 0, undelivered: 0 }
  readonly active = new Map<string, WireReq>()
  readonly gone: string[] = []
  readonly handles: Handle[] = []
  readonly byMarker = new Map<number, Handle>()
  readonly verified = new Set<string>()
  readonly seenOnce = new Map<string, number>()
  readonly publishes: Publish[] = []
  readonly inFlight = new Map<string, Publish>()
  readonly pendingAuth: string[] = []
  challenge: string | undefined
  noticesGot = 0
  drops = 0
  deliberateThrows = 0
  readonly listenerErrors: unknown[] = []
  /** Anything the pool did that it must not: the first few are reported. */
  readonly anomalies: string[] = []
  /** Exceptions thrown out of the socket's onmessage. */
  readonly escaped: string[] = []
  #serial = 0

  constructor() {
    this.pool = createRelayPool({
      webSocketFactory: this.fake.factory,
      fetch: false,
      // The model predicts every verdict before the next frame: verification stays on this thread.
      verifier: createMainThreadVerifier(),
      signer: createSecretKeySigner(new Uint8Array(32).fill(99)),
      auth: 'always',
      maxMessageBytes: MAX_BYTES,
      maxEventsBeyondLimit: BEYOND_LIMIT,
      maxEventsBeforeEose: MAX_BEFORE_EOSE,
      defaultLimits: { maxSubscriptions: SLOTS },
      eoseTimeoutMs: LONG,
      publishTimeoutMs: LONG,
      authTimeoutMs: LONG,
      idleTimeoutMs: LONG,
      connectTimeoutMs: LONG,
      // A clock the fuzzer advances per turn, so penalty boxes (rate-limited, auth) come and go deterministically.
      now: () => this.clock,
      // Boxes stay short on this clock (a turn is 50 ms), so rate limits come and go within a run;
      // after a drop the fuzzer moves the clock past every box, so the pool reconnects at once.
      backoff: { random: () => 0.5, baseMs: 2, maxMs: 20, penaltyMs: { 'rate-limited': 40, auth: 40 } },
      onEventSeen: (event) => {
        this.seenOnce.set(event.id, (this.seenOnce.get(event.id) ?? 0) + 1)
      },
      onNotice: (relay) => {
        this.noticesGot += 1
        if (relay !== this.url) this.anomaly(`notice from ${relay}`)
        if (this.noticesGot % 13 === 0) {
          this.deliberateThrows += 1
          throw new Deliberate('notice listener')
        }
      },
      onListenerError: (error) => this.listenerErrors.push(error),
    })
  }

  get url(): string {
    return this.socket?.url ?? RELAY
  }

  /** The newest socket: the one the pool uses, unless it is reconnecting. */
  get socket(): FakeSocket | undefined {
    return this.fake.sockets[this.fake.sockets.length - 1]
  }

  /**
   * The relay drops the connection; the pool must forget what was on it (REQs, the AUTH challenge),
   * fail what waited for an answer, ignore the old socket, and reconnect for live subscriptions.
   */
  async dropAndReconnect(): Promise<void> {
    await this.tick()
    const old = this.socket
    if (old === undefined) return
    old.drop(1006)
    this.drops += 1
    for (const entry of this.inFlight.values()) if (entry.awaiting) entry.endedBy = 'drop'
    this.gone.push(...this.active.keys())
    this.active.clear()
    this.challenge = undefined
    this.pendingAuth.length = 0
    await this.tick()
    if (old.receive('["NOTICE","from a dropped socket"]')) this.anomaly('the pool still listens to a dropped socket')
    // Past any penalty box, so that a live subscription makes the pool connect at once; the turns
    // spent waiting for the socket leave the clock alone, which keeps the run deterministic.
    this.clock += 1_000
    this.subscribe({ t: 'subscribe', live: true, authors: 31, window: null, limit: null, ids: [] })
    const deadline = Date.now() + 3_000
    for (let n = 0; n < 10_000 && Date.now() < deadline && !(this.socket !== old && this.socket?.readyState === 1); n++) await turns(1)
    await this.tick()
    if (this.socket === old || this.socket?.readyState !== 1) this.anomaly('the pool did not reconnect within 3 s')
  }

  anomaly(text: string): void {
    if (this.anomalies.length < 20) this.anomalies.push(text)
    else if (this.anomalies.length === 20) this.anomalies.push('...')
  }

  /** Opens the first subscription and waits for the socket and its REQ. */
  async start(): Promise<void> {
    this.subscribe({ t: 'subscribe', live: true, authors: 31, window: null, limit: null, ids: [] })
    await this.tick()
    if (this.fake.sockets.length !== 1 || this.active.size !== 1) throw new Error('the pool did not connect and subscribe')
  }

  async tick(): Promise<void> {
    await new Promise<void>((resolve) => setImmediate(resolve))
    this.ticks += 1
    this.framesInRound = 0
    this.clock += 50
    // Every copy handed to the intake is decided now, and the EOSEs that waited for them applied.
    for (const req of this.active.values()) {
      req.pending = 0
      if (req.eoseDeferred) {
        req.eoseDeferred = false
        req.eosed = true
      }
    }
  }

  async run(commands: Iterable<Cmd>): Promise<void> {
    for (const cmd of commands) {
      if (this.framesInRound >= MAX_ROUND) await this.tick()
      switch (cmd.t) {
        case 'tick':
          await this.tick()
          break
        case 'subscribe':
          await this.tick()
          this.subscribe(cmd)
          break
        case 'unsubscribe': {
          // Copies in flight are decided first: a closed subscription gets nothing more, by design.
          await this.tick()
          const open = this.handles.filter((h) => h.open)
          const handle = open[cmd.i % open.length]
          if (handle !== undefined && open.length > 1) this.closeHandle(handle)
          break
        }
        case 'publish':
          this.publish(cmd.pick)
          break
        case 'drop':
          await this.dropAndReconnect()
          break
        default:
          this.deliverCommand(cmd)
      }
    }
  }

  subscribe(cmd: Extract<Cmd, { t: 'subscribe' }>): void {
    const open = this.handles.filter((h) => h.open)
    if (open.length >= MAX_OPEN_SUBSCRIPTIONS) this.closeHandle(open[0] as Handle)
    const { authors, events } = this.fixture
    const marker = MARKER_BASE + (this.#serial++ % 25_000)
    const first: Filter = {
      kinds: [1, marker],
      authors: authors.slice(0, 5).filter((_, i) => (cmd.authors >> i) & 1),
      ...(cmd.window !== null && { since: cmd.window[0], until: cmd.window[1] }),
      ...((cmd.limit !== null && (!cmd.live || cmd.authors % 2 === 0)) && { limit: cmd.limit }),
    }
    const filters: Filter[] = cmd.ids.length === 0 ? [first] : [first, { ids: cmd.ids.map((i) => (events[i % events.length] as NostrEvent).id) }]
    const handle: Handle = {
      marker,
      filters,
      live: cmd.live,
      sub: undefined,
      open: true,
      reqs: 0,
      expectedIds: new Set(),
      expectedEvents: 0,
      expectedSeen: 0,
      gotIds: new Set(),
      gotEvents: 0,
      gotSeen: 0,
    }
    this.handles.push(handle)
    this.byMarker.set(marker, handle)
    handle.sub = this.pool.subscribe(filters, {
      relays: [RELAY],
      origin: 'configured',
      closeOnEose: !cmd.live,
      onEvent: (event, relay) => {
        if (relay !== this.url) this.anomaly(`onEvent from ${relay}`)
        if (handle.gotIds.has(event.id)) this.anomaly(`onEvent twice for ${event.id} on subscription ${marker}`)
        if (!this.fixture.genuine.has(canonical(event))) this.anomaly(`onEvent with a forged event ${JSON.stringify(event).slice(0, 120)}`)
        if (!matches(filters, event)) this.anomaly(`onEvent with an event that does not match: ${event.id}`)
        handle.gotIds.add(event.id)
        handle.gotEvents += 1
        if (handle.gotEvents % 10 === 0) {
          this.deliberateThrows += 1
          throw new Deliberate('onEvent listener')
        }
      },
      onSeen: (id) => {
        handle.gotSeen += 1
        if (!handle.gotIds.has(id)) this.anomaly(`onSeen before onEvent for ${id}`)
      },
      onRelayStatus: (outcome) => {
        if (!READ_STATUSES.includes(outcome.status)) this.anomaly(`unknown read status ${String(outcome.status)}`)
      },
    })
  }

  closeHandle(handle: Handle): void {
    handle.open = false
    handle.sub?.close()
  }

  publish(pick: number): void {
    const event = this.fixture.events[pick % this.fixture.events.length] as NostrEvent
    // One publish per id at a time, so the model knows whose EVENT and OK each frame is.
    if (this.inFlight.has(event.id)) return
    const entry: Publish = { event, answers: [], awaiting: false, sends: 0, outcome: undefined, endedBy: undefined, failure: undefined, done: Promise.resolve() }
    this.inFlight.set(event.id, entry)
    this.publishes.push(entry)
    entry.done = this.pool.publish(event, { relays: [RELAY], origin: 'configured' }).then(
      (report) => {
        entry.outcome = report.relays[0]
        this.inFlight.delete(event.id)
      },
      (error: unknown) => {
        entry.failure = error
        this.inFlight.delete(event.id)
      },
    )
  }

  // ---- the pool's side of the wire ----

  #onSend(text: string, socket: FakeSocket): void {
    let msg: unknown[]
    try {
      msg = JSON.parse(text) as unknown[]
    } catch {
      this.anomaly(`the pool sent non-JSON: ${text.slice(0, 80)}`)
      return
    }
    if (socket !== this.socket) this.anomaly('the pool sent on a socket it had let go of')
    switch (msg[0]) {
      case 'REQ':
        this.#onReq(msg[1] as string, msg.slice(2) as Filter[])
        return
      case 'CLOSE': {
        const subId = msg[1] as string
        if (!this.active.delete(subId)) this.anomaly(`CLOSE for ${subId}, which is not open`)
        this.gone.push(subId)
        this.tally.closes += 1
        return
      }
      case 'EVENT': {
        const entry = this.inFlight.get((msg[1] as NostrEvent).id)
        if (entry === undefined) this.anomaly(`EVENT sent that nobody published: ${text.slice(0, 80)}`)
        else {
          entry.awaiting = true
          entry.sends += 1
        }
        return
      }
      case 'AUTH': {
        const auth = msg[1] as NostrEvent
        const challenge = auth.tags.find((t) => t[0] === 'challenge')?.[1]
        const relay = auth.tags.find((t) => t[0] === 'relay')?.[1]
        if (auth.kind !== 22242 || challenge !== this.challenge || relay !== this.url) this.anomaly(`bad AUTH ${text.slice(0, 200)}`)
        this.pendingAuth.push(auth.id)
        this.tally.authsSent += 1
        return
      }
      default:
        this.anomaly(`unexpected frame from the pool: ${text.slice(0, 80)}`)
    }
  }

  #onReq(subId: string, filters: Filter[]): void {
    this.tally.reqs += 1
    const marker = filters[0]?.kinds?.find((k) => k >= MARKER_BASE)
    const handle = marker === undefined ? undefined : this.byMarker.get(marker)
    if (handle === undefined) {
      this.anomaly(`REQ for no subscription: ${JSON.stringify(filters).slice(0, 120)}`)
      return
    }
    if (!handle.open) this.anomaly(`REQ for closed subscription ${marker}`)
    if (this.active.has(subId)) this.anomaly(`subscription id ${subId} reused`)
    if (this.active.size >= SLOTS) this.anomaly(`REQ ${subId} over the ${SLOTS}-per-connection cap`)
    // The first REQ carries the filters as given; one sent again (after AUTH, a reconnect or a
    // relay's "too many subscriptions") may resume with `since`, so the model reads every REQ's filters.
    if (handle.reqs === 0 && JSON.stringify(filters) !== JSON.stringify(handle.filters)) {
      this.anomaly(`REQ filters ${JSON.stringify(filters)} differ from ${JSON.stringify(handle.filters)}`)
    }
    handle.reqs += 1
    this.active.set(subId, { subId, handle, filters, bound: floodBound(filters), beforeEose: 0, eosed: false, pending: 0, eoseDeferred: false })
  }

  // ---- the relay's side of the wire ----

  resolveTarget(t: Target): unknown {
    if (t.k === 'value') return t.value
    if (t.k === 'gone') return this.gone.length === 0 ? 'rz-never' : this.gone[this.gone.length - 1 - (t.i % Math.min(16, this.gone.length))]
    const ids = [...this.active.keys()]
    return ids.length === 0 ? 'rz-none' : ids[t.i % ids.length]
  }

  deliverCommand(cmd: Exclude<Cmd, { t: 'tick' | 'subscribe' | 'unsubscribe' | 'publish' | 'drop' }>): void {
    switch (cmd.t) {
      case 'frame':
        this.deliver(cmd.data)
        return
      case 'event': {
        const subId = this.resolveTarget(cmd.target)
        for (let k = 0; k < cmd.burst; k++) {
          const json = variantJson(this.fixture, cmd.variant, cmd.pick + k)
          this.deliver(encode(`["EVENT",${JSON.stringify(subId)},${json}]`, cmd.form))
        }
        return
      }
      case 'flood': {
        const subId = this.resolveTarget(cmd.target)
        const req = typeof subId === 'string' ? this.active.get(subId) : undefined
        const all = this.fixture.events
        const matching = req === undefined ? [] : all.filter((e) => matches(req.filters, e))
        const pool = matching.length > 0 ? matching : all
        for (let k = 0; k < cmd.count; k++) this.deliver(frame('EVENT', subId, pool[(cmd.pick + k) % pool.length]))
        return
      }
      case 'badEvent': {
        const base = this.fixture.events[cmd.pick % this.fixture.events.length] as NostrEvent
        const broken = cmd.field === '*' ? cmd.value : { ...base, [cmd.field]: cmd.value }
        this.deliver(frame('EVENT', this.resolveTarget(cmd.target), broken))
        return
      }
      case 'eose':
        this.deliver(encode(frame('EOSE', this.resolveTarget(cmd.target)), cmd.form))
        return
      case 'closed': {
        const subId = this.resolveTarget(cmd.target)
        this.deliver(encode(cmd.message === undefined ? frame('CLOSED', subId) : frame('CLOSED', subId, cmd.message), cmd.form))
        return
      }
      case 'ok': {
        const pickFrom = (list: readonly string[]): unknown => (list.length === 0 ? cmd.id : list[cmd.i % list.length])
        const awaiting = [...this.inFlight.values()].filter((p) => p.awaiting).map((p) => p.event.id)
        const id =
          cmd.aim === 'publish'
            ? pickFrom(awaiting)
            : cmd.aim === 'auth'
              ? pickFrom(this.pendingAuth)
              : cmd.aim === 'genuine'
                ? (this.fixture.events[cmd.i % this.fixture.events.length] as NostrEvent).id
                : cmd.id
        // Mostly accept AUTH, so that authenticated flows go on.
        const accepted = cmd.aim === 'auth' && typeof cmd.accepted === 'boolean' ? cmd.accepted || cmd.i % 4 !== 0 : cmd.accepted
        this.deliver(cmd.message === undefined ? frame('OK', id, accepted) : frame('OK', id, accepted, cmd.message))
        return
      }
      case 'auth':
        this.deliver(frame('AUTH', cmd.challenge))
        return
      case 'notice': {
        const text = frame('NOTICE', cmd.message)
        for (let k = 0; k < cmd.repeat; k++) this.deliver(text)
        return
      }
      case 'count':
        this.deliver(frame('COUNT', this.resolveTarget(cmd.target), cmd.payload))
        return
      case 'oversized': {
        // A genuine matching event padded (after the event, where the parser ignores it) to around the limit.
        const json = variantJson(this.fixture, 'genuine', cmd.pick)
        const head = `["EVENT",${JSON.stringify(this.resolveTarget(cmd.target))},${json},"`
        const pad = Math.max(0, MAX_BYTES - encoder.encode(head).length - 2 + cmd.pad)
        this.deliver(encode(`${head}${'p'.repeat(pad)}"]`, cmd.form))
        return
      }
    }
  }

  /** Feeds one frame to the pool, after predicting what it must do with it. */
  deliver(data: unknown): void {
    this.frames += 1
    this.framesInRound += 1
    const message = parseRelayMessage(data, MAX_BYTES)
    const key = message.type === 'invalid' ? message.reason : message.type
    bump(this.parsed, key)
    switch (message.type) {
      case 'invalid':
        bump(this.expected.invalidMessages, message.reason)
        this.expected.demerits += 1
        break
      case 'EVENT':
        this.#expectEvent(message.subId, message.event)
        break
      case 'EOSE': {
        const req = this.active.get(message.subId)
        // With copies still being verified, the EOSE waits for them (so they count as before EOSE).
        if (req !== undefined && req.pending === 0) req.eosed = true
        else if (req !== undefined) req.eoseDeferred = true
        break
      }
      case 'CLOSED':
        if (this.active.delete(message.subId)) {
          bump(this.expected.subscriptionsClosed, message.prefix ?? 'none')
          this.gone.push(message.subId)
        }
        break
      case 'NOTICE':
        this.expected.notices += 1
        break
      case 'OK': {
        const entry = this.inFlight.get(message.eventId)
        if (entry !== undefined && entry.awaiting) {
          entry.awaiting = false
          entry.answers.push({ accepted: message.accepted, prefix: message.prefix })
        }
        const auth = this.pendingAuth.indexOf(message.eventId)
        if (auth >= 0) this.pendingAuth.splice(auth, 1)
        break
      }
      case 'AUTH':
        this.challenge = message.challenge
        break
      case 'COUNT':
        break
    }
    const socket = this.socket
    try {
      if (socket === undefined || !socket.receive(data)) this.tally.undelivered += 1
    } catch (error) {
      if (this.escaped.length < 10) this.escaped.push(`${String(error)} for ${typeof data === 'string' ? data.slice(0, 200) : typeof data}`)
    }
  }

  #expectEvent(subId: string, event: NostrEvent): void {
    const expected = this.expected
    expected.eventsReceived += 1
    const req = this.active.get(subId)
    if (req === undefined) {
      this.tally.unknownSubscription += 1
      bump(expected.invalidMessages, 'unknown-subscription')
      return
    }
    if (!matches(req.filters, event)) {
      expected.eventsNotMatchingFilter += 1
      expected.demerits += 1
      return
    }
    if (!req.eosed) {
      req.beforeEose += 1
      if (req.beforeEose > req.bound) {
        expected.eventsBeyondLimit += 1
        if (req.beforeEose === req.bound + 1) {
          this.tally.floods += 1
          expected.demerits += 1
        }
        return
      }
    }
    req.pending += 1
    if (!this.fixture.genuine.has(canonical(event))) {
      expected.eventsBadSignature += 1
      expected.demerits += 1
      return
    }
    this.tally.valid += 1
    if (!this.verified.has(event.id)) {
      this.verified.add(event.id)
      expected.eventsFirstSeen += 1
    }
    const handle = req.handle
    if (handle.expectedIds.has(event.id)) handle.expectedSeen += 1
    else {
      handle.expectedIds.add(event.id)
      handle.expectedEvents += 1
    }
  }

  // ---- the end ----

  /** Lets everything in flight settle, then compares the pool's statistics with the model. */
  async settle(): Promise<void> {
    await this.tick()
    await this.tick()
  }

  statsView(): Expected & { connectAttempts: number; connectSuccesses: number } {
    const stats = this.pool.relayStats(RELAY)
    if (stats === undefined) throw new Error('no stats for the relay')
    return {
      eventsReceived: stats.eventsReceived,
      eventsNotMatchingFilter: stats.eventsNotMatchingFilter,
      eventsBadSignature: stats.eventsBadSignature,
      eventsBeyondLimit: stats.eventsBeyondLimit,
      eventsFirstSeen: stats.eventsFirstSeen,
      notices: stats.notices,
      demerits: stats.demerits,
      invalidMessages: stats.invalidMessages,
      subscriptionsClosed: stats.subscriptionsClosed,
      connectAttempts: stats.connectAttempts,
      connectSuccesses: stats.connectSuccesses,
    }
  }

  /** Closes the pool and checks that every publish resolved as its last OK says. */
  async close(): Promise<void> {
    for (const entry of this.inFlight.values()) entry.endedBy = 'close'
    await this.pool.close()
    let timer: ReturnType<typeof setTimeout> | undefined
    const all = Promise.all(this.publishes.map((p) => p.done))
    const timedOut = await Promise.race([
      all.then(() => false),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(true), 5_000)
      }),
    ])
    clearTimeout(timer)
    if (timedOut) this.anomaly('a publish did not resolve within 5 s of close()')
    await this.tick()
  }
}

/** The status a publish must end with, given the OKs the fuzzer answered it with. */
function expectedPublishStatuses(p: Publish): readonly PublishStatus[] {
  if (p.endedBy === 'drop') return ['failed']
  if (p.endedBy === 'close') {
    // Waiting for OK or for AUTH: aborted, as close() promises.
    return ['aborted']
  }
  const last = p.answers[p.answers.length - 1]
  if (last === undefined) return ['rate-limited'] // never sent: the relay had just rate-limited us
  if (last.accepted) return [last.prefix === 'duplicate' ? 'duplicate' : 'ok']
  switch (last.prefix) {
    case 'duplicate':
      return ['duplicate']
    case 'auth-required':
      return ['auth-required']
    case 'pow':
      return ['pow-required']
    case 'rate-limited':
      return ['rate-limited']
    default:
      return ['rejected']
  }
}

/** The error code that goes with a status, where the status implies one. */
const PUBLISH_CODES: Partial<Record<PublishStatus, string>> = { failed: 'RELAY_CONNECTION_FAILED', aborted: 'RELAY_POOL_CLOSED' }

/** Every check on a finished (closed) run. Plain comparisons first: `expect` per item is too slow. */
function verifyRun(f: PoolFuzzer, statsBeforeClose: ReturnType<PoolFuzzer['statsView']>): void {
  expect(f.escaped, 'exceptions thrown out of onmessage').toEqual([])
  expect(f.anomalies, 'what the pool did that it must not').toEqual([])
  expect(f.tally.undelivered, 'frames the pool was not listening for').toBe(0)

  // The statistics account for every frame.
  const { connectAttempts, connectSuccesses, ...counted } = statsBeforeClose
  // One socket per connect, every one opened: one to start with and one after each drop.
  expect({ connectAttempts, connectSuccesses }).toEqual({ connectAttempts: f.drops + 1, connectSuccesses: f.drops + 1 })
  expect(f.fake.sockets).toHaveLength(f.drops + 1)
  expect(counted).toEqual(f.expected)
  const invalidByParser = PARSER_REASONS.reduce((sum, r) => sum + (statsBeforeClose.invalidMessages[r] ?? 0), 0)
  const invalidFed = PARSER_REASONS.reduce((sum, r) => sum + (f.parsed[r] ?? 0), 0)
  expect(invalidByParser).toBe(invalidFed)
  expect(statsBeforeClose.eventsReceived).toBe(f.parsed.EVENT ?? 0)
  for (const key of Object.keys(statsBeforeClose.invalidMessages)) expect([...PARSER_REASONS, 'unknown-subscription']).toContain(key)
  // Each well-formed EVENT ends in exactly one place.
  const s = statsBeforeClose
  expect((s.invalidMessages['unknown-subscription'] ?? 0) + s.eventsNotMatchingFilter + s.eventsBeyondLimit + s.eventsBadSignature + f.tally.valid).toBe(s.eventsReceived)

  // Delivery: genuine, matching, once per id and subscription (checked as they came), as many as predicted.
  for (const h of f.handles) {
    if (h.gotEvents !== h.expectedEvents || h.gotSeen !== h.expectedSeen) {
      expect({ marker: h.marker, events: h.gotEvents, seen: h.gotSeen }).toEqual({ marker: h.marker, events: h.expectedEvents, seen: h.expectedSeen })
    }
  }
  expect([...f.seenOnce.values()].filter((n) => n !== 1), 'onEventSeen more than once per (event, relay)').toEqual([])
  expect(f.seenOnce.size).toBe(f.verified.size)
  expect(f.noticesGot).toBe(f.expected.notices)
  expect(f.listenerErrors.length).toBe(f.deliberateThrows)
  expect(f.listenerErrors.every((e) => e instanceof Deliberate)).toBe(true)

  // Publishing: every publish resolved with the status its last OK implies.
  const wrong = f.publishes
    .filter((p) => {
      const status = p.outcome?.status
      if (p.failure !== undefined || status === undefined || !expectedPublishStatuses(p).includes(status)) return true
      const code = PUBLISH_CODES[status]
      return code !== undefined && p.outcome?.code !== code
    })
    .map((p) => ({ answers: p.answers, sends: p.sends, endedBy: p.endedBy, outcome: p.outcome, failure: String(p.failure), expected: expectedPublishStatuses(p) }))
  expect(wrong.slice(0, 3)).toEqual([])
  expect(({} as Record<string, unknown>).polluted).toBeUndefined()
}

/** Runs the fuzzer over `commands` with process-level traps for escaped errors; closes everything. */
async function fuzz(commands: (fuzzer: PoolFuzzer) => Iterable<Cmd>): Promise<{ fuzzer: PoolFuzzer; stats: ReturnType<PoolFuzzer['statsView']> }> {
  const stray: string[] = []
  const onStray = (reason: unknown): void => {
    stray.push(String(reason))
  }
  process.on('unhandledRejection', onStray)
  process.on('uncaughtException', onStray)
  const fuzzer = new PoolFuzzer()
  try {
    await fuzzer.start()
    await fuzzer.run(commands(fuzzer))
    await fuzzer.settle()
    const stats = fuzzer.statsView()
    for (const h of fuzzer.handles) h.sub?.report() // must not throw either
    await fuzzer.close()
    // Unhandled rejections are reported after a turn of the event loop.
    await fuzzer.tick()
    expect(stray, 'unhandled rejections or uncaught exceptions').toEqual([])
    return { fuzzer, stats }
  } finally {
    process.off('unhandledRejection', onStray)
    process.off('uncaughtException', onStray)
    await fuzzer.pool.close()
  }
}

/** Samples commands in chunks of fixed seeds, until `frames()` reaches `target`. */
function* commandStream(target: number, frames: () => number): Generator<Cmd> {
  for (let chunk = 0; frames() < target; chunk++) {
    if (chunk > 200) throw new Error('the command stream does not produce enough frames')
    yield* fc.sample(commandArb, { seed: SEED + chunk, numRuns: 2_000 })
  }
}

describe('relay pool fuzz (fixed seed)', () => {
  it('100,000+ random and malformed frames: nothing escapes, every frame counted, only valid matching events delivered', async () => {
    const tcpBefore = tcpHandles()
    // `fetch: false` means no NIP-11 request; a trap makes sure of it.
    const realFetch = globalThis.fetch
    let fetches = 0
    globalThis.fetch = (() => {
      fetches += 1
      return Promise.reject(new Error('no network in the fuzz'))
    }) as typeof fetch
    let result: Awaited<ReturnType<typeof fuzz>>
    try {
      result = await fuzz((fuzzer) => commandStream(100_000, () => fuzzer.frames))
    } finally {
      globalThis.fetch = realFetch
    }
    verifyRun(result.fuzzer, result.stats)
    const f = result.fuzzer
    expect(f.frames).toBeGreaterThanOrEqual(100_000)
    // Nothing here touched the network: fake sockets only (one, plus one per drop), no fetch, no TCP handle, no DNS lookup.
    expect(fetches).toBe(0)
    expect(tcpHandles()).toBeLessThanOrEqual(tcpBefore)
    expect(f.drops).toBeGreaterThan(10)
    expect(f.fake.sockets.slice(0, -1).every((s) => s.closedBy === 'relay' && s.onmessage === null)).toBe(true)

    // The fuzz reached every path it is meant to: each parser reason, each kind of drop, floods,
    // deliveries and duplicates, CLOSED with each prefix, AUTH round trips and every publish status.
    for (const reason of PARSER_REASONS) expect(f.parsed[reason] ?? 0, reason).toBeGreaterThan(0)
    expect(f.tally.unknownSubscription).toBeGreaterThan(1_000)
    expect(f.expected.eventsNotMatchingFilter).toBeGreaterThan(1_000)
    expect(f.expected.eventsBadSignature).toBeGreaterThan(1_000)
    expect(f.tally.floods).toBeGreaterThan(10)
    expect(f.expected.eventsBeyondLimit).toBeGreaterThanOrEqual(f.tally.floods)
    expect(f.tally.valid).toBeGreaterThan(5_000)
    expect(f.handles.reduce((n, h) => n + h.expectedSeen, 0)).toBeGreaterThan(1_000)
    expect(Object.keys(f.expected.subscriptionsClosed).sort()).toEqual([...MACHINE_PREFIXES, 'none'].sort())
    expect(f.tally.authsSent).toBeGreaterThan(3)
    expect(f.handles.some((h) => h.reqs > 1), 'a subscription resumed after AUTH').toBe(true)
    expect(f.publishes.some((p) => p.sends > 1), 'a publish re-sent after AUTH').toBe(true)
    const statuses = new Set(f.publishes.map((p) => p.outcome?.status))
    for (const status of ['ok', 'duplicate', 'rejected', 'pow-required', 'rate-limited'] as const) expect(statuses.has(status), status).toBe(true)
    // After close: the socket is closed by the pool, nothing listens, no slot is held.
    expect(f.socket?.readyState).toBe(3)
    expect(f.socket?.closedBy).toBe('pool')
    expect(f.socket?.onmessage).toBeNull()
    expect(f.pool.connectionCount()).toBe(0)
  })

  it('short command sequences, each on a fresh pool (shrinkable counterexamples)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(commandArb, { minLength: 1, maxLength: 120 }), async (commands) => {
        const { fuzzer, stats } = await fuzz(() => commands)
        verifyRun(fuzzer, stats)
      }),
      { seed: SEED, numRuns: 100 },
    )
  })
})

function tcpHandles(): number {
  const counts = countResources()
  return (counts.TCPSocketWrap ?? 0) + (counts.TCPConnectWrap ?? 0) + (counts.TLSWrap ?? 0) + (counts.GetAddrInfoReqWrap ?? 0)
}

/** Lets `n` turns of the event loop pass (microtasks and immediates; no timers). */
async function turns(n: number): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise<void>((resolve) => setImmediate(resolve))
}

/**
 * Publishes one event to a fake relay, lets the relay answer the EVENT with `answer` (or not at
 * all), closes the pool while the publish is still in flight and returns the publish's outcome.
 */
async function publishThenClose(answer: string | undefined): Promise<PublishOutcome | undefined> {
  const fake = createFakeSocketFactory()
  const key = new Uint8Array(32).fill(7)
  const pool = createRelayPool({ webSocketFactory: fake.factory, fetch: false, signer: createSecretKeySigner(key), auth: 'always' })
  try {
    const event = finalizeEvent({ kind: 1, content: 'members only', created_at: T0, tags: [] }, key)
    const pending = pool.publish(event, { relays: [RELAY], origin: 'configured' })
    await turns(5)
    const socket = fake.sockets[0]
    if (socket?.sent.length !== 1 || !socket.sent[0]?.startsWith('["EVENT"')) throw new Error('setup: the EVENT was not sent')
    if (answer !== undefined && !socket.receive(frame('OK', event.id, false, answer))) throw new Error('setup: the pool does not listen')
    await turns(5)
    await pool.close()
    return (await pending).relays[0]
  } finally {
    await pool.close()
  }
}

describe('publishes in flight when the pool closes', () => {
  it('a publish waiting for OK ends aborted with RELAY_POOL_CLOSED', async () => {
    expect(await publishThenClose(undefined)).toMatchObject({ status: 'aborted', code: 'RELAY_POOL_CLOSED' })
  })

  // Pool bug found by the fuzz: close() promises "Operations in flight end with aborted /
  // RELAY_POOL_CLOSED", but a publish that got `auth-required:` and waits for the relay's AUTH
  // challenge ends `auth-required` with code RELAY_CONNECTION_FAILED ("Connection lost before AUTH"):
  // the catch around `connection.authenticate()` in RelayPool#publishTo (src/relay-pool/pool.ts)
  // returns auth-required without checking whether the pool closed. Flip to `it` once fixed (and
  // narrow expectedPublishStatuses above to ['aborted']).
  it('a publish waiting for the AUTH challenge ends aborted with RELAY_POOL_CLOSED too', async () => {
    expect(await publishThenClose('auth-required: members only')).toMatchObject({ status: 'aborted', code: 'RELAY_POOL_CLOSED' })
  })
})
