/**
 * Memory: 100 open relay connections, each with a live subscription, plus 100,000 events held in
 * memory, for ours and the peers under the same workload.
 *
 * - Relays: 100 real relays on 127.0.0.1 (test/helpers/relay-fleet.ts), run by this (parent)
 *   process, so their memory is never counted.
 * - Each library runs in its own child process (`node --expose-gc`), so nothing is shared: no heap,
 *   no module cache. A child opens one live subscription (`kinds: [1], since: now`) on every relay,
 *   then loads the 100,000 events from the cache file (parsed line by line, as they would arrive
 *   from relays) into the library's store, then proves that the subscriptions are live: the parent
 *   publishes one distinct probe event on each relay and the child must receive all 100. Memory is
 *   read after `gc()` at each stage: node (nothing loaded), loaded (library imported),
 *   subscribed (100 relays answering), stored (+100,000 events), live (probes in; the figure
 *   reported).
 * - Stores: ours `memoryStorage({ maxEvents: 100_000 })` fed by `putEvents` (batches of 1,000,
 *   seen-on relay recorded) beside `createRelayPool` (what `createClient` composes; the facade
 *   adds no per-event state); nostr-tools `SimplePool` + a `Map` of id to event (it has no store);
 *   NDK (no cache adapter by default) `NDKEvent` objects in a `Map`, as an NDK feed holds them;
 *   applesauce `RelayPool` + `EventStore` (its in-memory store, signature check off because the
 *   events were verified when generated, as ours and the others do not re-verify what they store);
 *   "events only": the parsed events in an array and no library, the floor.
 * - Events: 100,000 distinct, valid, signed events (1,000 authors; notes, replies with e/p tags,
 *   hashtags, reactions), generated once (signed with nostr-wasm for speed, a sample checked with
 *   our verifier) and cached in node_modules/.cache/rendezvous-bench/; the first run takes about a
 *   minute more to make them.
 *
 * MB = 1,000,000 bytes. `--quick`: one child per library and no applesauce (its store takes ~20 s
 * to fill here); otherwise all libraries, 5 rounds each (fresh
 * processes, interleaved), medians. Memory hardly varies between rounds; the machine load does not
 * change it much either (unlike timings), but other processes competing for memory can.
 *
 * Run: node scripts/run-ts.mjs bench/memory.bench.ts [--quick] [--only ours,nostr-tools]
 * (BENCH_JSON=file: JSON too; the children get --expose-gc themselves)
 *
 * @module
 */
import { fork } from 'node:child_process'
import { createReadStream, createWriteStream, existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { once } from 'node:events'
import { build } from 'esbuild'
import { sha256 } from '@noble/hashes/sha2.js'
import { initNostrWasm } from 'nostr-wasm'
import { verifyEvent, type NostrEvent } from '../src/crypto/index.js'
import { startFleet, type TestFleet, type TestRelay } from '../test/helpers/relay-fleet.js'

const quick = process.argv.includes('--quick')
const onlyArg = process.argv.includes('--only') ? process.argv[process.argv.indexOf('--only') + 1] : undefined
const ROUNDS = quick ? 1 : 5
const EVENT_COUNT = 100_000
const AUTHORS = 1_000
const RELAYS = 100
const GOAL_MB = 250
const MB = 1_000_000

const LIBRARIES = ['events only', 'ours', 'nostr-tools', 'NDK', 'applesauce'] as const
type Library = (typeof LIBRARIES)[number]
const STAGES = ['node', 'loaded', 'subscribed', 'stored', 'live'] as const

interface Memory {
  rss: number
  heapUsed: number
  external: number
  arrayBuffers: number
}
interface ChildConfig {
  library: Library
  urls: string[]
  eventsFile: string
  oursModule: string
  probeToken: string
  eventCount: number
}
type ChildMessage =
  | { type: 'stage'; stage: string; memory: Memory }
  | { type: 'subscribing' }
  | { type: 'stored'; count: number }
  | { type: 'await-probes' }
  | { type: 'done'; probes: number; stored: number }
  | { type: 'error'; message: string }
type ParentMessage = { type: 'config'; config: ChildConfig } | { type: 'reqs-seen' } | { type: 'probes-sent'; count: number }

/** What one child run measured. */
interface RunResult {
  library: Library
  stages: Record<string, Memory>
  probes: number
  stored: number
  connectionsAtLive: number
  seconds: number
}

// ---------------------------------------------------------------------------------------------
// The child. Spawned from this function's source text (see writeChild), so it must stay
// self-contained: no reference to anything outside its body except types, every module loaded
// with a dynamic import. Only the library under test is loaded.
// ---------------------------------------------------------------------------------------------

async function memoryChild(): Promise<void> {
  const send = (message: ChildMessage): void => void process.send!(message)
  const inbox: ParentMessage[] = []
  let wake: (() => void) | undefined
  process.on('message', (m: ParentMessage) => {
    inbox.push(m)
    wake?.()
  })
  const next = async (type: ParentMessage['type'], ms: number): Promise<ParentMessage> => {
    const deadline = Date.now() + ms
    for (;;) {
      const i = inbox.findIndex((m) => m.type === type)
      if (i >= 0) return inbox.splice(i, 1)[0]!
      if (Date.now() > deadline) throw new Error(`no ${type} from the parent within ${ms} ms`)
      await new Promise<void>((resolve) => {
        wake = resolve
        setTimeout(resolve, 100)
      })
    }
  }
  const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))
  const gc = (globalThis as { gc?: () => void }).gc
  if (!gc) throw new Error('run with --expose-gc')
  const measure = async (stage: string): Promise<void> => {
    for (let i = 0; i < 4; i++) {
      gc()
      await sleep(40)
    }
    const { rss, heapUsed, external, arrayBuffers } = process.memoryUsage()
    send({ type: 'stage', stage, memory: { rss, heapUsed, external, arrayBuffers } })
  }
  const withTimeout = <T>(promise: Promise<T>, ms: number, what: string): Promise<T> =>
    Promise.race([promise, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms).unref())])

  try {
    const { config } = (await next('config', 10_000)) as { type: 'config'; config: ChildConfig }
    const { library, urls, probeToken } = config

    // No library may reach beyond 127.0.0.1, whatever its defaults (NDK has outbox relays).
    const wsModule: any = await import('ws')
    const loopback = (url: string): boolean => {
      try {
        return new URL(url).hostname === '127.0.0.1'
      } catch {
        return false
      }
    }
    class GuardedWebSocket extends wsModule.WebSocket {
      constructor(url: string | URL, ...rest: unknown[]) {
        if (!loopback(String(url))) throw new Error(`memory bench: refused ${String(url)} (127.0.0.1 only)`)
        super(url, ...rest)
      }
    }
    ;(globalThis as any).WebSocket = GuardedWebSocket
    const realFetch = globalThis.fetch
    globalThis.fetch = ((input: any, init?: any) => {
      const url = typeof input === 'string' ? input : input instanceof URL ? input.href : String(input?.url)
      return loopback(url) ? realFetch(input, init) : Promise.reject(new Error(`memory bench: refused fetch ${url}`))
    }) as typeof fetch
    await measure('node')

    const probeIds = new Set<string>()
    const onLive = (event: { id: string; content: string }): void => {
      if (typeof event.content === 'string' && event.content.startsWith(`probe ${probeToken} `)) probeIds.add(event.id)
    }
    const since = Math.floor(Date.now() / 1000) - 5

    interface Adapter {
      subscribe(): Promise<void>
      store(batch: any[], batchIndex: number): Promise<void> | void
      count(): Promise<number> | number
      close(): Promise<void> | void
    }
    let adapter: Adapter
    if (library === 'events only') {
      const events: any[] = []
      adapter = {
        subscribe: async () => {},
        store: (batch) => void events.push(...batch),
        count: () => events.length,
        close: () => {},
      }
    } else if (library === 'ours') {
      const ours: any = await import(config.oursModule)
      const pool = ours.createRelayPool({ maxConnections: urls.length + 10, fetch: false, connect: { allowPrivateHosts: ['127.0.0.1'] } })
      const storage = ours.memoryStorage({ maxEvents: config.eventCount })
      let sub: any
      adapter = {
        subscribe: async () => {
          sub = pool.subscribe([{ kinds: [1], since }], { relays: urls, origin: 'configured', onEvent: onLive })
          const report = await withTimeout(sub.settled as Promise<any>, 30_000, 'ours EOSE')
          const eose = report.relays.filter((r: any) => r.status === 'eose').length
          if (eose !== urls.length) throw new Error(`ours: ${eose} of ${urls.length} relays reached EOSE`)
        },
        store: async (batch, i) => {
          await storage.putEvents(batch, { seenOn: urls[i % urls.length] })
        },
        count: () => storage.countEvents(),
        close: async () => {
          sub?.close()
          await pool.close()
        },
      }
    } else if (library === 'nostr-tools') {
      const nt: any = await import('nostr-tools/pool')
      nt.useWebSocketImplementation(GuardedWebSocket)
      const pool = new nt.SimplePool()
      const events = new Map<string, any>()
      let closer: any
      adapter = {
        subscribe: () =>
          withTimeout(
            new Promise<void>((resolve) => {
              closer = pool.subscribeMany(urls, { kinds: [1], since }, { onevent: onLive, oneose: () => resolve() })
            }),
            30_000,
            'nostr-tools EOSE',
          ),
        store: (batch) => {
          for (const event of batch) events.set(event.id, event)
        },
        count: () => events.size,
        close: () => {
          closer?.close()
          pool.destroy?.()
        },
      }
    } else if (library === 'NDK') {
      const ndkModule: any = await import('@nostr-dev-kit/ndk')
      const NDK = ndkModule.default
      const ndk = new NDK({ explicitRelayUrls: urls, enableOutboxModel: false, autoConnectUserRelays: false, relayConnectionFilter: loopback })
      await withTimeout(ndk.connect(20_000) as Promise<void>, 30_000, 'NDK connect')
      const events = new Map<string, any>()
      let sub: any
      adapter = {
        subscribe: () =>
          withTimeout(
            new Promise<void>((resolve) => {
              sub = ndk.subscribe(
                { kinds: [1], since },
                { closeOnEose: false, groupable: false, relayUrls: urls },
                { onEvent: (e: any) => onLive(e), onEose: () => resolve() },
              )
            }),
            30_000,
            'NDK EOSE',
          ),
        store: (batch) => {
          for (const event of batch) events.set(event.id, new ndkModule.NDKEvent(ndk, event))
        },
        count: () => events.size,
        close: () => {
          sub?.stop()
          for (const relay of ndk.pool.relays.values()) relay.disconnect()
        },
      }
    } else {
      const core: any = await import('applesauce-core')
      const relayModule: any = await import('applesauce-relay')
      const pool = new relayModule.RelayPool({ WebSocket: GuardedWebSocket })
      const store = new core.EventStore({ verifyEvent: () => true })
      let subscription: any
      adapter = {
        // applesauce's group subscription emits events only (no EOSE): the parent's check that
        // every relay has the REQ stands in for it.
        subscribe: async () => {
          subscription = pool.subscription(urls, { kinds: [1], since }).subscribe({ next: (e: any) => onLive(e) })
        },
        store: (batch) => {
          for (const event of batch) store.add(event)
        },
        count: () => store.database?.size ?? store.memory?.size ?? Number.NaN,
        close: () => {
          subscription?.unsubscribe()
          pool.close?.()
        },
      }
    }
    await measure('loaded')

    await adapter.subscribe()
    send({ type: 'subscribing' })
    await next('reqs-seen', 40_000)
    await measure('subscribed')

    // Events arrive as text and are parsed one by one, as from a socket.
    const { createReadStream: read } = await import('node:fs')
    const { createInterface: lines } = await import('node:readline')
    let batch: any[] = []
    let batchIndex = 0
    for await (const line of lines({ input: read(config.eventsFile, { encoding: 'utf8' }), crlfDelay: Infinity })) {
      if (line.length === 0) continue
      batch.push(JSON.parse(line))
      if (batch.length === 1_000) {
        await adapter.store(batch, batchIndex++)
        batch = []
      }
    }
    if (batch.length > 0) await adapter.store(batch, batchIndex++)
    batch = []
    const stored = await adapter.count()
    send({ type: 'stored', count: stored })
    await measure('stored')

    send({ type: 'await-probes' })
    const { count } = (await next('probes-sent', 60_000)) as { type: 'probes-sent'; count: number }
    const deadline = Date.now() + 20_000
    while (probeIds.size < count && Date.now() < deadline) await sleep(20)
    await measure('live')
    send({ type: 'done', probes: probeIds.size, stored })
    await adapter.close()
    setTimeout(() => process.exit(0), 200).unref()
    process.disconnect?.()
  } catch (error) {
    send({ type: 'error', message: error instanceof Error ? `${error.message}\n${error.stack}` : String(error) })
    setTimeout(() => process.exit(1), 200)
  }
}

// ---------------------------------------------------------------------------------------------
// The events: generated once, cached
// ---------------------------------------------------------------------------------------------

const root = process.cwd()
const cacheDir = join(root, 'node_modules', '.cache', 'rendezvous-bench')
const eventsFile = join(cacheDir, `memory-events-v1-${EVENT_COUNT}.jsonl`)

/** A small deterministic PRNG (mulberry32), so the cache is the same workload wherever it is made. */
function prng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const WORDS = (
  'the a relay note nostr outbox event key signal gossip follow list client server query filter reply thread ' +
  'zap lightning bitcoin coffee morning tonight weekend music photo video link post read write today people ' +
  'network protocol open source code release bug fix test bench memory fast small library build ship hello gm'
).split(' ')
const TOPICS = ['nostr', 'bitcoin', 'photography', 'music', 'dev', 'coffee', 'art', 'news']

async function generateEvents(): Promise<void> {
  mkdirSync(cacheDir, { recursive: true })
  const started = Date.now()
  console.log(`generating ${EVENT_COUNT.toLocaleString('en')} signed events once into ${eventsFile} (cached for later runs)...`)
  const wasm = await initNostrWasm()
  const encoder = new TextEncoder()
  const keys = Array.from({ length: AUTHORS }, (_, i) => sha256(encoder.encode(`rendezvous memory bench author ${i}`)))
  const pubkeys: string[] = []
  const random = prng(7)
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!
  const tmp = `${eventsFile}.tmp-${process.pid}`
  const out = createWriteStream(tmp, { encoding: 'utf8' })
  const recent: { id: string; pubkey: string }[] = []
  const base = 1_760_000_000 - EVENT_COUNT * 25
  for (let i = 0; i < EVENT_COUNT; i++) {
    const author = Math.floor(random() * AUTHORS)
    const roll = random()
    const target = recent.length > 0 ? pick(recent) : undefined
    let event: { kind: number; content: string; tags: string[][]; created_at: number; id?: string; pubkey?: string; sig?: string }
    const created_at = base + i * 25
    if (roll < 0.15 && target) {
      event = { kind: 7, content: random() < 0.8 ? '+' : '🤙', tags: [['e', target.id], ['p', target.pubkey]], created_at }
    } else {
      const words = Array.from({ length: 6 + Math.floor(random() * 50) }, () => pick(WORDS))
      const tags: string[][] = []
      if (roll < 0.5 && target) tags.push(['e', target.id, '', 'reply'], ['p', target.pubkey])
      if (random() < 0.2) {
        const topic = pick(TOPICS)
        tags.push(['t', topic])
        words.push(`#${topic}`)
      }
      event = { kind: 1, content: `${words.join(' ')} (${i})`, tags, created_at }
    }
    wasm.finalizeEvent(event as Parameters<typeof wasm.finalizeEvent>[0], keys[author]!)
    pubkeys[author] ??= event.pubkey!
    recent.push({ id: event.id!, pubkey: event.pubkey! })
    if (recent.length > 500) recent.shift()
    if (!out.write(`${JSON.stringify({ id: event.id, pubkey: event.pubkey, created_at, kind: event.kind, tags: event.tags, content: event.content, sig: event.sig })}\n`)) {
      await once(out, 'drain')
    }
    if ((i + 1) % 20_000 === 0) console.log(`  ${(i + 1).toLocaleString('en')} events (${((Date.now() - started) / 1000).toFixed(0)} s)`)
  }
  out.end()
  await once(out, 'finish')
  renameSync(tmp, eventsFile)
}

/** Reads the cache back: the count, distinct ids, and a sample verified with our verifier. */
async function checkEvents(): Promise<{ bytes: number }> {
  const ids = new Set<string>()
  let bytes = 0
  const sample: NostrEvent[] = []
  let n = 0
  for await (const line of createInterface({ input: createReadStream(eventsFile, { encoding: 'utf8' }), crlfDelay: Infinity })) {
    if (line.length === 0) continue
    bytes += Buffer.byteLength(line) + 1
    const event = JSON.parse(line) as NostrEvent
    ids.add(event.id)
    if (n++ % 500 === 0) sample.push(event)
  }
  if (n !== EVENT_COUNT || ids.size !== EVENT_COUNT) throw new Error(`${eventsFile}: ${n} events, ${ids.size} distinct; expected ${EVENT_COUNT} (delete the file to regenerate)`)
  const bad = sample.filter((e) => !verifyEvent(e)).length
  if (bad > 0) throw new Error(`${eventsFile}: ${bad} of ${sample.length} sampled events fail verification (delete the file to regenerate)`)
  return { bytes }
}

// ---------------------------------------------------------------------------------------------
// The parent: relays, children, table
// ---------------------------------------------------------------------------------------------

async function writeChild(dir: string): Promise<{ childFile: string; oursModule: string }> {
  const oursModule = join(dir, 'ours.mjs')
  // Ours from src/ (as every benchmark here), bundled alone so the child loads nothing else.
  await build({
    stdin: {
      contents: "export { createRelayPool } from './src/relay-pool/index.ts'\nexport { memoryStorage } from './src/storage/index.ts'\n",
      resolveDir: root,
      loader: 'ts',
    },
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    outfile: oursModule,
    logLevel: 'warning',
  })
  const childFile = join(dir, 'child.mjs')
  writeFileSync(childFile, `// generated by bench/memory.bench.ts\nawait (${memoryChild.toString()})()\n`)
  return { childFile, oursModule }
}

async function runChild(library: Library, relays: TestRelay[], files: { childFile: string; oursModule: string }): Promise<RunResult> {
  const started = Date.now()
  const probeToken = `${process.pid}-${Math.random().toString(36).slice(2)}`
  const urls = relays.map((r) => r.url)
  // Which relays have seen a REQ from this child (any new connection counts: one child at a time).
  const reqSeen = new Set<number>()
  const unlisten = relays.map((relay, i) =>
    relay.onMessage((m) => {
      if (Array.isArray(m.message) && m.message[0] === 'REQ') reqSeen.add(i)
    }),
  )
  const child = fork(files.childFile, [], { execArgv: ['--expose-gc'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'], cwd: root })
  const stages: Record<string, Memory> = {}
  let result: RunResult | undefined
  let failure: Error | undefined
  const wasm = await wasmSigner()
  const probeKey = sha256(new TextEncoder().encode(`probe ${probeToken}`))
  const exited = once(child, 'exit')
  const timer = setTimeout(() => {
    failure ??= new Error(`${library}: child did not finish within 240 s`)
    child.kill('SIGKILL')
  }, 240_000)
  try {
    const messages: ChildMessage[] = []
    let wake: (() => void) | undefined
    child.on('message', (m: ChildMessage) => {
      messages.push(m)
      wake?.()
    })
    child.send({ type: 'config', config: { library, urls, eventsFile, oursModule: files.oursModule, probeToken, eventCount: EVENT_COUNT } } satisfies ParentMessage)
    let connectionsAtLive = 0
    let stored = 0
    for (let done = false; !done; ) {
      const m = messages.shift()
      if (!m) {
        if (child.exitCode !== null || child.signalCode !== null) throw failure ?? new Error(`${library}: child exited (${child.exitCode ?? child.signalCode}) early`)
        await new Promise<void>((resolve) => {
          wake = resolve
          setTimeout(resolve, 100)
        })
        continue
      }
      switch (m.type) {
        case 'stage':
          stages[m.stage] = m.memory
          if (m.stage === 'live') connectionsAtLive = relays.reduce((sum, r) => sum + r.connections(), 0)
          break
        case 'subscribing': {
          const deadline = Date.now() + 30_000
          while (library !== 'events only' && reqSeen.size < relays.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20))
          if (library !== 'events only' && reqSeen.size < relays.length) throw new Error(`${library}: only ${reqSeen.size} of ${relays.length} relays got a REQ`)
          // Give the relays a moment to register the subscriptions before anything is published.
          await new Promise((r) => setTimeout(r, 300))
          child.send({ type: 'reqs-seen' } satisfies ParentMessage)
          break
        }
        case 'stored':
          stored = m.count
          break
        case 'await-probes': {
          let count = 0
          if (library !== 'events only') {
            const now = Math.floor(Date.now() / 1000)
            await Promise.all(
              relays.map(async (relay, i) => {
                const probe = { kind: 1, content: `probe ${probeToken} ${i}`, tags: [['t', 'memory-bench-probe']], created_at: now } as Parameters<typeof wasm.finalizeEvent>[0]
                wasm.finalizeEvent(probe, probeKey)
                const outcome = await relay.publishDirect(probe as unknown as NostrEvent)
                if (!outcome.success) throw new Error(`probe refused by ${relay.url}: ${outcome.message}`)
              }),
            )
            count = relays.length
          }
          child.send({ type: 'probes-sent', count } satisfies ParentMessage)
          break
        }
        case 'done':
          result = { library, stages, probes: m.probes, stored: m.stored || stored, connectionsAtLive, seconds: (Date.now() - started) / 1000 }
          done = true
          break
        case 'error':
          throw new Error(`${library} child: ${m.message}`)
      }
    }
    await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))])
    if (child.exitCode === null) child.kill('SIGKILL')
    if (!result) throw failure ?? new Error(`${library}: no result`)
    return result
  } finally {
    clearTimeout(timer)
    for (const off of unlisten) off()
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL')
      await exited
    }
  }
}

let wasmInstance: ReturnType<typeof initNostrWasm> | undefined
/** nostr-wasm, loaded once (it signs the probes). */
function wasmSigner(): ReturnType<typeof initNostrWasm> {
  wasmInstance ??= initNostrWasm()
  return wasmInstance
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

const mb = (bytes: number): number => Math.round(bytes / (MB / 10)) / 10

async function main(): Promise<void> {
  // --quick leaves applesauce out (its 100,000 EventStore.add calls take ~20 s here) to stay under a minute.
  const libraries = (onlyArg ? onlyArg.split(',') : quick ? LIBRARIES.filter((l) => l !== 'applesauce') : [...LIBRARIES]) as Library[]
  for (const l of libraries) if (!LIBRARIES.includes(l)) throw new Error(`--only: unknown library ${l} (${LIBRARIES.join(', ')})`)
  if (!existsSync(eventsFile)) await generateEvents()
  const { bytes } = await checkEvents()
  const runDir = join(cacheDir, `memory-run-${process.pid}`)
  mkdirSync(runDir, { recursive: true })
  const fleets: TestFleet[] = []
  try {
    const files = await writeChild(runDir)
    // startFleet starts at most 50 relays per call.
    for (let left = RELAYS; left > 0; left -= 50) fleets.push(await startFleet(Math.min(50, left), { record: false }))
    const relays = fleets.flatMap((f) => f.relays)
    console.log(
      `Memory: ${relays.length} relays on 127.0.0.1 with one live subscription each + ${EVENT_COUNT.toLocaleString('en')} events ` +
        `(${(bytes / MB).toFixed(1)} MB as JSON). Node ${process.version}; ${ROUNDS} round(s) per library; MB = 10^6 bytes.`,
    )
    const runs: RunResult[] = []
    for (let round = 0; round < ROUNDS; round++) {
      for (const library of libraries) {
        const run = await runChild(library, relays, files)
        const live = run.stages.live!
        console.log(
          `  round ${round + 1} ${library.padEnd(11)} rss ${mb(live.rss).toFixed(1).padStart(6)} MB, heap ${mb(live.heapUsed).toFixed(1).padStart(6)} MB, ` +
            `stored ${run.stored}, probes ${run.probes}/${library === 'events only' ? 0 : relays.length}, relay-side connections ${run.connectionsAtLive}, ${run.seconds.toFixed(1)} s`,
        )
        if (library !== 'events only' && run.probes !== relays.length) throw new Error(`${library}: ${run.probes} of ${relays.length} live subscriptions delivered the probe`)
        if (run.stored !== EVENT_COUNT) throw new Error(`${library}: holds ${run.stored} events, expected ${EVENT_COUNT}`)
        runs.push(run)
      }
    }

    // Per library and stage, the medians.
    const med = (library: Library, stage: string, key: keyof Memory): number =>
      median(runs.filter((r) => r.library === library).map((r) => r.stages[stage]![key]))
    console.log('\nRSS / heapUsed after gc() by stage (MB, medians). live = the workload; the other columns show where the memory goes.')
    console.log(`${'library'.padEnd(12)}${STAGES.map((s) => s.padStart(18)).join('')}`)
    for (const library of libraries) {
      console.log(`${library.padEnd(12)}${STAGES.map((s) => `${mb(med(library, s, 'rss')).toFixed(1)} / ${mb(med(library, s, 'heapUsed')).toFixed(1)}`.padStart(18)).join('')}`)
    }
    console.log('\nWhat the workload adds (MB, medians of rss | heapUsed deltas):')
    for (const library of libraries) {
      const d = (a: string, b: string, k: keyof Memory): string => mb(med(library, b, k) - med(library, a, k)).toFixed(1)
      console.log(
        `  ${library.padEnd(12)} library ${d('node', 'loaded', 'rss')} | ${d('node', 'loaded', 'heapUsed')}; ` +
          `100 live subscriptions ${d('loaded', 'subscribed', 'rss')} | ${d('loaded', 'subscribed', 'heapUsed')}; ` +
          `100k events ${d('subscribed', 'stored', 'rss')} | ${d('subscribed', 'stored', 'heapUsed')}; ` +
          `external+arrayBuffers at live ${mb(med(library, 'live', 'external')).toFixed(1)}`,
      )
    }

    const peers = libraries.filter((l) => l !== 'ours' && l !== 'events only')
    const rows = []
    if (libraries.includes('ours')) {
      const ours = med('ours', 'live', 'rss')
      const peerRow = (key: keyof Memory): Record<string, number> =>
        Object.fromEntries([...peers, ...(libraries.includes('events only') ? (['events only'] as const) : [])].map((p) => [p, mb(med(p, 'live', key))]))
      rows.push(
        { metric: 'RSS, 100 relays with live subscriptions + 100k events (after gc)', unit: 'MB', ours: mb(ours), peers: peerRow('rss'), goal: `< ${GOAL_MB} MB RSS`, met: ours < GOAL_MB * MB },
        { metric: 'heapUsed, same workload (after gc)', unit: 'MB', ours: mb(med('ours', 'live', 'heapUsed')), peers: peerRow('heapUsed'), goal: 'size, for comparison', met: null },
      )
      console.log(`\nours / peer (RSS): ${peers.map((p) => `${p} ${(ours / med(p, 'live', 'rss')).toFixed(2)}x`).join(', ')}; goal < ${GOAL_MB} MB: ${ours < GOAL_MB * MB ? 'met' : 'NOT met'} (${mb(ours).toFixed(1)} MB)`)
    }
    if (process.env.BENCH_JSON) writeFileSync(process.env.BENCH_JSON, `${JSON.stringify({ bench: 'memory', rows }, null, 2)}\n`)
  } finally {
    await Promise.all(fleets.map((f) => f.close()))
    rmSync(runDir, { recursive: true, force: true })
  }
}

await main()
