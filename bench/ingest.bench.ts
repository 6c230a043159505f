/**
 * Ingest: relay frames → parsed, deduplicated, verified events, against nostr-tools (pure JS and
 * with nostr-wasm) and applesauce, in the same run.
 *
 * Workload: real signed kind-1 events from many authors; each event is stored on one, two or three
 * of three relays (so most events arrive more than once), each relay sends its events newest first
 * as `["EVENT", subId, {...}]` text frames (keys in the order strfry writes them), then EOSE.
 *
 * In process (no sockets): every library gets the same frames through its own relay message path,
 * via an in-memory WebSocket class handed to it the way each one takes a WebSocket implementation:
 * - ours: `createRelayPool({ webSocketFactory })` + `subscribe(..., { closeOnEose: true })`;
 * - nostr-tools: `SimplePool({ websocketImplementation, verifyEvent })` + `subscribeMany` (its
 *   `AbstractRelay._onmessage` path, which skips ids the pool has seen before parsing);
 * - applesauce: `RelayPool({ WebSocket })` + `request(..., { eventStore })` (an `EventStore` verifies
 *   with nostr-tools' `verifyEvent`, which is how applesauce checks signatures).
 * Frames are fed in chunks of 50 per relay with a macrotask between chunks, as socket reads arrive;
 * the clock runs from the first frame to the last event delivered (ours: the subscription settled).
 * Every library builds its clients anew each round (ours: a new pool, so no verified id carries
 * over). Our verifiers (and their workers) live for the whole run, as an application keeps them,
 * warmed up once before the first round; the peers' verification code is just as warm after the
 * first round. Each round has its own events by its own authors, so no library (nor our author
 * cache) has seen a measured event or author before.
 *
 * End to end: the same events on three local relays (`test/helpers/relay-fleet.ts`, in this
 * process, so the relays' own work shares the main thread), each library's client querying all
 * three until EOSE.
 *
 * Figures are frames per second (EVENT frames, duplicates included); medians over the rounds after
 * a discarded warm-up, rounds interleaved across configurations. The machine's other load shifts
 * all of them; compare ratios.
 *
 * Usage: node scripts/run-ts.mjs bench/ingest.bench.ts [--quick]
 *        BENCH_JSON=out.json node scripts/run-ts.mjs bench/ingest.bench.ts
 *
 * @module
 */
import { writeFileSync } from 'node:fs'
import { availableParallelism } from 'node:os'
import { EventStore } from 'applesauce-core'
import { RelayPool as ApplesaucePool } from 'applesauce-relay'
import { SimplePool } from 'nostr-tools/pool'
import { verifyEvent as pureVerifyEvent } from 'nostr-tools/pure'
import { setNostrWasm, verifyEvent as wasmVerifyEvent } from 'nostr-tools/wasm'
import { initNostrWasm } from 'nostr-wasm'
import { lastValueFrom, toArray } from 'rxjs'
import WebSocket from 'ws'
import { finalizeEvent, generateSecretKey, type NostrEvent } from '../src/crypto/index.js'
import { createRelayPool } from '../src/relay-pool/pool.js'
import { createMainThreadVerifier, createWorkerVerifier, type EventVerifier } from '../src/relay-pool/verifier.js'
import { createWasmVerifier } from '../src/verify-wasm/index.js'
import { startFleet, waitFor } from '../test/helpers/relay-fleet.js'

const QUICK = process.argv.includes('--quick')
const EVENTS = QUICK ? 300 : 1000
const AUTHORS = QUICK ? 150 : 400
const ROUNDS = QUICK ? 5 : 7
const E2E_EVENTS = QUICK ? 200 : 900
const CHUNK = 50
const RELAYS = ['wss://bench-1.example', 'wss://bench-2.example', 'wss://bench-3.example']

// ---------------------------------------------------------------------------------------------
// An in-memory WebSocket for all three libraries

/** A WebSocket that opens on a microtask and lets the bench push frames; records REQ ids. */
class BenchSocket {
  static readonly CONNECTING = 0
  static readonly OPEN = 1
  static readonly CLOSING = 2
  static readonly CLOSED = 3
  static live: BenchSocket[] = []
  readonly url: string
  readyState = 0
  binaryType = 'blob'
  onopen: ((event: unknown) => void) | null = null
  onmessage: ((event: { data: unknown }) => void) | null = null
  onerror: ((event: unknown) => void) | null = null
  onclose: ((event: { code?: number; reason?: string; wasClean?: boolean }) => void) | null = null
  subId: string | undefined

  constructor(url: string) {
    this.url = url.replace(/\/$/, '')
    BenchSocket.live.push(this)
    queueMicrotask(() => {
      if (this.readyState !== 0) return
      this.readyState = 1
      this.onopen?.({ type: 'open' })
    })
  }

  send(text: string): void {
    if (this.subId === undefined && text.startsWith('["REQ"')) this.subId = (JSON.parse(text) as string[])[1]
  }

  close(code = 1000): void {
    if (this.readyState >= 2) return
    this.readyState = 3
    queueMicrotask(() => this.onclose?.({ code, reason: '', wasClean: true }))
  }

  addEventListener(): void {}
  removeEventListener(): void {}
}

// ---------------------------------------------------------------------------------------------
// Workload

interface Workload {
  /** Per relay, the events' JSON texts in the order the relay sends them. */
  readonly perRelay: string[][]
  readonly frames: number
  /** Distinct valid events a correct client delivers. */
  readonly expected: number
  readonly events: NostrEvent[]
}

/** strfry's key order. */
function relayJson(e: NostrEvent): string {
  return JSON.stringify({ content: e.content, created_at: e.created_at, id: e.id, kind: e.kind, pubkey: e.pubkey, sig: e.sig, tags: e.tags })
}

/** Signs with libsecp256k1 (nostr-wasm): five times faster than noble, for thousands of events. */
let sign: (template: { kind: number; content: string; tags: string[][]; created_at: number }, sk: Uint8Array) => NostrEvent = (t, sk) =>
  finalizeEvent(t, sk)

/** `count` events by `authors` new authors, tagged `t: <tag>` (so each set can be queried apart). */
function makeEvents(count: number, authors: number, seed: number, tag: string): NostrEvent[] {
  let x = seed
  const rand = (): number => {
    x = (x * 1103515245 + 12345) >>> 0
    return x / 2 ** 32
  }
  const keys = Array.from({ length: authors }, () => generateSecretKey())
  const base = 1_700_000_000
  return Array.from({ length: count }, (_, i) =>
    sign(
      {
        kind: 1,
        content: `note ${i}: ${'lorem ipsum dolor sit amet '.repeat(1 + Math.floor(rand() * 6))}`,
        tags: rand() < 0.5 ? [['p', 'ab'.repeat(32)], ['t', tag]] : [['e', 'cd'.repeat(32), '', 'root'], ['t', tag]],
        created_at: base + i,
      },
      keys[Math.floor(rand() * authors)] as Uint8Array,
    ),
  )
}

/**
 * Spreads events over the relays: 40% on one, 30% on two, 30% on all three. With `forgedShare`,
 * relay 3 replaces that share of its copies with a copy carrying another event's signature.
 */
function makeWorkload(events: readonly NostrEvent[], seed: number, forgedShare = 0): Workload {
  let x = seed
  const rand = (): number => {
    x = (x * 1103515245 + 12345) >>> 0
    return x / 2 ** 32
  }
  const perRelay: string[][] = [[], [], []]
  let frames = 0
  let expected = 0
  for (let i = events.length - 1; i >= 0; i--) {
    const e = events[i] as NostrEvent
    const roll = rand()
    const copies = roll < 0.4 ? 1 : roll < 0.7 ? 2 : 3
    const start = Math.floor(rand() * 3)
    let goodCopy = false
    for (let c = 0; c < copies; c++) {
      const relay = (start + c) % 3
      const forged = relay === 2 && forgedShare > 0 && rand() < forgedShare
      const copy = forged ? { ...e, sig: (events[(i + 1) % events.length] as NostrEvent).sig } : e
      if (!forged) goodCopy = true
      ;(perRelay[relay] as string[]).push(relayJson(copy))
      frames += 1
    }
    if (goodCopy) expected += 1
  }
  return { perRelay, frames, expected, events: [...events] }
}

// ---------------------------------------------------------------------------------------------
// The libraries

interface Run {
  /** Delivered distinct events. */
  readonly delivered: () => number
  /** Resolves when the library is done with everything fed (after EOSE). */
  readonly done: Promise<unknown>
  close(): Promise<void> | void
}

type Config = {
  readonly name: string
  /** Prepares a client before the clock starts (sockets opened, REQs sent). */
  start(): Promise<Run>
}

async function sockets(): Promise<BenchSocket[]> {
  const found = await waitFor(() => {
    const open = RELAYS.map((url) => BenchSocket.live.find((s) => s.url === url && s.subId !== undefined && s.readyState === 1))
    return open.every((s) => s !== undefined) ? (open as BenchSocket[]) : undefined
  }, 5_000, 'three REQs')
  return found
}

/**
 * A long-lived verifier: started and warmed up (JIT) once, with events of other authors, and lent
 * to each round's pool without letting the pool close it.
 */
class LongLived {
  #verifier: EventVerifier | undefined
  constructor(
    readonly make: () => EventVerifier,
    readonly warm: readonly NostrEvent[],
  ) {}
  async lend(): Promise<EventVerifier> {
    if (this.#verifier === undefined) {
      const verifier = this.make()
      this.#verifier = verifier
      // Two passes: the workers' compilers need a few thousand field operations per code path.
      for (let pass = 0; pass < 2; pass++) await verifier.verify(this.warm.map((e) => ({ ...e })))
    }
    const inner = this.#verifier
    return { verify: (events, hint) => inner.verify(events, hint), stats: () => inner.stats(), close: async () => undefined }
  }
  async close(): Promise<void> {
    await this.#verifier?.close()
  }
}

function ours(name: string, verifiers: LongLived): Config {
  return {
    name,
    async start() {
      const verifier = await verifiers.lend()
      const pool = createRelayPool({ webSocketFactory: (url) => new BenchSocket(url) as never, fetch: false, verifier })
      const ids = new Set<string>()
      const sub = pool.subscribe([{ kinds: [1] }], { relays: RELAYS, origin: 'configured', closeOnEose: true, onEvent: (e) => ids.add(e.id) })
      return {
        delivered: () => ids.size,
        done: sub.settled,
        close: async () => {
          sub.close()
          await pool.close()
        },
      }
    },
  }
}

function nostrTools(name: string, verifyEvent: (event: NostrEvent) => boolean): Config {
  return {
    name,
    async start() {
      const pool = new SimplePool({ websocketImplementation: BenchSocket, verifyEvent, enablePing: false } as never)
      const ids = new Set<string>()
      let resolve!: () => void
      const done = new Promise<void>((r) => {
        resolve = r
      })
      const sub = pool.subscribeMany(RELAYS, { kinds: [1] }, { onevent: (e) => ids.add(e.id), oneose: () => resolve() })
      return {
        delivered: () => ids.size,
        done,
        close: () => {
          sub.close()
          pool.destroy()
        },
      }
    },
  }
}

function applesauce(): Config {
  return {
    name: 'applesauce',
    async start() {
      const pool = new ApplesaucePool({ WebSocket: BenchSocket as never, keepAlive: 0 } as never)
      const store = new EventStore()
      const ids = new Set<string>()
      const done = lastValueFrom(pool.request(RELAYS, [{ kinds: [1] }], { eventStore: store }).pipe(toArray())).then((events) => {
        for (const e of events) ids.add(e.id)
      })
      return {
        delivered: () => ids.size,
        done,
        close: () => {
          for (const relay of pool.relays.values()) relay.close()
        },
      }
    },
  }
}

/** Feeds the workload into the three sockets, 50 frames per relay per macrotask, then EOSE. */
async function feed(socketsByRelay: readonly BenchSocket[], work: Workload): Promise<void> {
  const frames = socketsByRelay.map((socket, r) => {
    const prefix = `["EVENT",${JSON.stringify(socket.subId)},`
    return (work.perRelay[r] as string[]).map((json) => prefix + json + ']')
  })
  const longest = Math.max(...frames.map((f) => f.length))
  for (let at = 0; at < longest; at += CHUNK) {
    socketsByRelay.forEach((socket, r) => {
      for (const frame of (frames[r] as string[]).slice(at, at + CHUNK)) socket.onmessage?.({ data: frame })
    })
    await new Promise((resolve) => setImmediate(resolve))
  }
  for (const socket of socketsByRelay) socket.onmessage?.({ data: JSON.stringify(['EOSE', socket.subId]) })
}

/**
 * Frames per second, and genuine events the library failed to deliver. A client that drops an id
 * once any copy of it arrived (nostr-tools) loses the event when a forged copy comes first; every
 * other shortfall, and any for ours, is an error.
 */
async function measure(config: Config, work: Workload, mayLose = false): Promise<{ rate: number; lost: number }> {
  BenchSocket.live = []
  const run = await config.start()
  const open = await sockets()
  const started = performance.now()
  await feed(open, work)
  await run.done
  const ms = performance.now() - started
  const delivered = run.delivered()
  await run.close()
  const lost = work.expected - delivered
  if (lost < 0 || (lost > 0 && !mayLose)) throw new Error(`${config.name} delivered ${delivered} events, expected ${work.expected}`)
  return { rate: (work.frames / ms) * 1000, lost }
}

// ---------------------------------------------------------------------------------------------
// End to end

/** One round's query: kind 1 events of that round's tag (a plain object every library accepts). */
type E2eFilter = { kinds: number[]; '#t': string[]; limit: number } & Record<string, never>
const e2eFilter = (tag: string, limit: number): E2eFilter => ({ kinds: [1], '#t': [tag], limit }) as E2eFilter

interface E2eConfig {
  readonly name: string
  /** Prepares what is not measured (lends our verifier); returns the timed query. */
  prepare(): Promise<(urls: readonly string[], filter: E2eFilter) => Promise<number>>
}

function oursE2e(name: string, verifiers: LongLived): E2eConfig {
  return {
    name,
    async prepare() {
      const verifier = await verifiers.lend()
      return async (urls, filter) => {
        // The relays' real max_limit (their NIP-11 says 1000; the pool's default without NIP-11 is 500).
        const pool = createRelayPool({ connect: { allowPrivateHosts: ['127.0.0.1'] }, fetch: false, defaultLimits: { maxLimit: 1000 }, verifier })
        try {
          const result = await pool.query([filter], { relays: urls, origin: 'configured' })
          return result.events.length
        } finally {
          await pool.close()
        }
      }
    },
  }
}

function peerE2e(name: string, query: (urls: readonly string[], filter: E2eFilter) => Promise<number>): E2eConfig {
  return { name, prepare: async () => query }
}

const e2eConfigs = (jsVerifiers: LongLived, wasmVerifiers: LongLived): E2eConfig[] => [
  oursE2e('ours (default)', jsVerifiers),
  oursE2e('ours + WASM', wasmVerifiers),
  peerE2e('nostr-tools (pure)', async (urls, filter) => {
    const pool = new SimplePool({ websocketImplementation: WebSocket, enablePing: false } as never)
    try {
      return (await pool.querySync([...urls], filter)).length
    } finally {
      pool.destroy()
    }
  }),
  peerE2e('nostr-tools + nostr-wasm', async (urls, filter) => {
    const pool = new SimplePool({ websocketImplementation: WebSocket, verifyEvent: wasmVerifyEvent, enablePing: false } as never)
    try {
      return (await pool.querySync([...urls], filter)).length
    } finally {
      pool.destroy()
    }
  }),
  peerE2e('applesauce', async (urls, filter) => {
    const pool = new ApplesaucePool({ WebSocket: WebSocket as never, keepAlive: 0 } as never)
    const store = new EventStore()
    try {
      const events = await lastValueFrom(pool.request([...urls], [filter], { eventStore: store }).pipe(toArray()))
      return new Set(events.map((e) => e.id)).size
    } finally {
      for (const relay of pool.relays.values()) relay.close()
    }
  }),
]


// ---------------------------------------------------------------------------------------------

function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b)
  const mid = s.length >> 1
  return s.length % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2
}

function pad(value: string, width: number): string {
  return value.length >= width ? value : ' '.repeat(width - value.length) + value
}

interface JsonRow {
  metric: string
  unit: 'ops/s'
  ours: number
  peers: Record<string, number>
  goal: string
  met: boolean | null
}

async function main(): Promise<void> {
  const cores = availableParallelism()
  console.log(`ingest bench: ${EVENTS} events by ${AUTHORS} authors on 3 relays, ${ROUNDS} rounds (+1 warm-up), Node ${process.version}, ${cores} cores${QUICK ? ', --quick' : ''}`)
  const nw = await initNostrWasm()
  setNostrWasm(nw)
  sign = (template, sk) => {
    const event = { ...template } as NostrEvent
    nw.finalizeEvent(event, sk)
    return event
  }
  // Every round its own events and authors: in process (clean and forged) and end to end.
  const rounds = Array.from({ length: ROUNDS + 1 }, (_, r) => ({
    clean: makeWorkload(makeEvents(EVENTS, AUTHORS, 100 + r, `clean-${r}`), 11 + r),
    forged: makeWorkload(makeEvents(EVENTS, AUTHORS, 200 + r, `forged-${r}`), 31 + r, 0.1),
    e2e: makeWorkload(makeEvents(E2E_EVENTS, AUTHORS, 300 + r, `e2e-${r}`), 51 + r),
  }))
  const warm = makeEvents(512, 64, 99, 'warm')
  console.log(`  ${rounds[0]!.clean.frames} EVENT frames per round (${(rounds[0]!.clean.frames / EVENTS).toFixed(2)} per event); forged run: relay 3 forges 10% of its copies`)

  const js = new LongLived(() => createWorkerVerifier(), warm)
  const wasm = new LongLived(() => createWasmVerifier(), warm)
  const main = new LongLived(() => createMainThreadVerifier(), warm)
  const configs: Config[] = [
    ours('ours (default: JS batch, workers)', js),
    ours('ours + WASM (workers)', wasm),
    ours('ours, main thread (crypto verifyEvents)', main),
    nostrTools('nostr-tools (pure)', pureVerifyEvent as never),
    nostrTools('nostr-tools + nostr-wasm', wasmVerifyEvent as never),
    applesauce(),
  ]
  const rates = new Map<string, number[]>(configs.map((c) => [c.name, []]))
  const forgedRates = new Map<string, number[]>()
  const forgedConfigs = [configs[0] as Config, configs[3] as Config]
  for (const c of forgedConfigs) forgedRates.set(c.name, [])
  const lostGenuine = new Map<string, number>()
  for (let round = 0; round <= ROUNDS; round++) {
    const { clean, forged } = rounds[round]!
    for (const config of configs) {
      const { rate } = await measure(config, clean)
      if (round > 0) rates.get(config.name)?.push(rate)
    }
    for (const config of forgedConfigs) {
      const { rate, lost } = await measure(config, forged, !config.name.startsWith('ours'))
      if (round > 0) forgedRates.get(config.name)?.push(rate)
      lostGenuine.set(config.name, (lostGenuine.get(config.name) ?? 0) + lost)
    }
    process.stdout.write(round === 0 ? '  warm-up done' : ` ${round}`)
  }
  console.log('')

  // End to end on local relays: every round's events stored up front, each round queries its own.
  const fleet = await startFleet(3)
  const E2E_CONFIGS = e2eConfigs(js, wasm)
  const e2eRates = new Map<string, number[]>(E2E_CONFIGS.map((c) => [c.name, []]))
  try {
    for (const { e2e } of rounds) {
      const byId = new Map(e2e.events.map((e) => [e.id, e]))
      for (let r = 0; r < 3; r++) {
        const stored = (e2e.perRelay[r] as string[]).map((json) => byId.get((JSON.parse(json) as NostrEvent).id) as NostrEvent)
        await (fleet.relays[r] as (typeof fleet.relays)[number]).storeEvents(stored)
      }
    }
    for (let round = 0; round <= ROUNDS; round++) {
      const filter = e2eFilter(`e2e-${round}`, E2E_EVENTS)
      const work = rounds[round]!.e2e
      for (const config of E2E_CONFIGS) {
        const query = await config.prepare()
        const started = performance.now()
        const got = await query(fleet.urls, filter)
        const ms = performance.now() - started
        if (got !== E2E_EVENTS) throw new Error(`${config.name} got ${got} events end to end, expected ${E2E_EVENTS}`)
        if (round > 0) e2eRates.get(config.name)?.push((work.frames / ms) * 1000)
      }
    }
  } finally {
    await fleet.close()
    await Promise.all([js.close(), wasm.close(), main.close()])
  }

  const m = (map: Map<string, number[]>, name: string): number => median(map.get(name) ?? [])
  const peersOf = (map: Map<string, number[]>): Record<string, number> => ({
    'nostr-tools (pure)': m(map, 'nostr-tools (pure)'),
    'nostr-tools + nostr-wasm': m(map, 'nostr-tools + nostr-wasm'),
    applesauce: m(map, 'applesauce'),
  })
  const pure = m(rates, 'nostr-tools (pure)')
  const wasmPeer = m(rates, 'nostr-tools + nostr-wasm')
  console.log('\nin process (frames/s, median)')
  for (const config of configs) {
    const rate = m(rates, config.name)
    console.log(`  ${config.name.padEnd(42)}${pad(rate.toFixed(0), 9)}  x${(rate / pure).toFixed(2)} nostr-tools pure  x${(rate / wasmPeer).toFixed(2)} nostr-tools+wasm`)
  }
  console.log('\nrelay 3 forging 10% of its copies (frames/s, median)')
  const forgedTotal = rounds.reduce((sum, r) => sum + r.forged.expected, 0)
  for (const [name, values] of forgedRates) {
    const lost = lostGenuine.get(name) ?? 0
    console.log(`  ${name.padEnd(42)}${pad(median(values).toFixed(0), 9)}  genuine events lost: ${lost} of ${forgedTotal}`)
  }
  console.log('\nend to end from 3 local relays (frames/s, median)')
  const e2ePure = m(e2eRates, 'nostr-tools (pure)')
  for (const config of E2E_CONFIGS) {
    const rate = m(e2eRates, config.name)
    console.log(`  ${config.name.padEnd(42)}${pad(rate.toFixed(0), 9)}  x${(rate / e2ePure).toFixed(2)} nostr-tools pure`)
  }

  const ourDefault = m(rates, 'ours (default: JS batch, workers)')
  const ourWasm = m(rates, 'ours + WASM (workers)')
  const fastest = Math.max(ourDefault, ourWasm)
  const rows: JsonRow[] = [
    {
      metric: 'ingest, in process, default config (frames/s)',
      unit: 'ops/s',
      ours: ourDefault,
      peers: peersOf(rates),
      goal: '>= 4x nostr-tools (pure)',
      met: ourDefault >= 4 * pure,
    },
    {
      metric: 'ingest, in process, fastest config (frames/s)',
      unit: 'ops/s',
      ours: fastest,
      peers: peersOf(rates),
      goal: '>= 1.5x nostr-tools + nostr-wasm',
      met: fastest >= 1.5 * wasmPeer,
    },
    {
      metric: 'ingest, one relay forging 10% of its copies (frames/s)',
      unit: 'ops/s',
      ours: m(forgedRates, 'ours (default: JS batch, workers)'),
      peers: { 'nostr-tools (pure)': m(forgedRates, 'nostr-tools (pure)') },
      goal: 'forged copies rejected exactly, no genuine event lost (checked for ours)',
      met: (lostGenuine.get('ours (default: JS batch, workers)') ?? 0) === 0,
    },
    {
      metric: 'ingest, end to end from 3 local relays, default config (frames/s)',
      unit: 'ops/s',
      ours: m(e2eRates, 'ours (default)'),
      peers: peersOf(e2eRates),
      goal: 'informative (relays share the main thread)',
      met: null,
    },
    {
      metric: 'ingest, end to end from 3 local relays, WASM (frames/s)',
      unit: 'ops/s',
      ours: m(e2eRates, 'ours + WASM'),
      peers: peersOf(e2eRates),
      goal: 'informative (relays share the main thread)',
      met: null,
    },
  ]
  const out = process.env.BENCH_JSON
  if (out) writeFileSync(out, JSON.stringify({ bench: 'ingest', rows }, null, 2))
}

await main()
