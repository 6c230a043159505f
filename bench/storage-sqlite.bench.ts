/**
 * The SQLite adapter against the in-memory store, in the same run: insert 100,000 synthetic events
 * in batches of 500, then time author, tag and kind+since queries on each.
 *
 * The events look like a follow graph's traffic: ~2,000 authors (a few very active), kinds 1, 7,
 * 6, 0, 3 and 10002 in rough real-world proportions, `p`/`e`/`t` tags on notes, reactions and
 * reposts, long `p` lists on contact lists, `r` tags on relay lists. Replaceable kinds keep only
 * their newest version, so fewer than 100,000 events remain stored.
 *
 * Usage: node scripts/run-ts.mjs bench/storage-sqlite.bench.ts [--events 100000] [--rounds 200]
 *
 * @module
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { NostrEvent } from '../src/crypto/event.js'
import { memoryStorage } from '../src/storage/memory.js'
import { sqliteStorage } from '../src/storage/sqlite.js'
import type { Storage, StorageFilter } from '../src/storage/types.js'
import { createRng } from '../test/helpers/network-generator.js'

/** A seeded uniform source in [0, 1) (the network generator's PRNG). */
function prng(seed: number): () => number {
  const rng = createRng(seed)
  return () => rng.next()
}

const args = process.argv.slice(2)
const arg = (name: string, fallback: number): number => {
  const i = args.indexOf(`--${name}`)
  return i >= 0 ? Number(args[i + 1]) : fallback
}
const EVENTS = arg('events', 100_000)
const ROUNDS = arg('rounds', 200)
const BATCH = 500
const AUTHORS = 2000
const HASHTAGS = 300
const START = 1_700_000_000
const SPAN = 30 * 86_400

const random = prng(42)
const int = (n: number, r = random): number => Math.floor(r() * n)
/** Skewed pick in [0, n): a few values are picked often, most rarely (activity, hashtags). */
const skewed = (n: number, r = random): number => Math.floor(n * r() ** 3)
const hex = (n: number, length = 64): string => n.toString(16).padStart(length, '0')
const pubkeyOf = (i: number): string => hex(0x1000_0000 + i)
const SIG = 'ab'.repeat(64)

function generate(count: number): NostrEvent[] {
  const events: NostrEvent[] = []
  for (let i = 0; i < count; i++) {
    const author = skewed(AUTHORS)
    const created_at = START + Math.floor((i / count) * SPAN) + int(600)
    const roll = random()
    const kind = roll < 0.6 ? 1 : roll < 0.82 ? 7 : roll < 0.9 ? 6 : roll < 0.95 ? 0 : roll < 0.975 ? 3 : 10002
    const tags: string[][] = []
    const someEvent = (): string => events[int(events.length)]?.id ?? hex(1)
    if (kind === 1) {
      if (random() < 0.3) tags.push(['e', someEvent(), '', 'reply'])
      for (let p = int(3); p > 0; p--) tags.push(['p', pubkeyOf(skewed(AUTHORS))])
      for (let t = int(3); t > 0; t--) tags.push(['t', `tag${skewed(HASHTAGS)}`])
    } else if (kind === 7 || kind === 6) {
      tags.push(['e', someEvent()], ['p', pubkeyOf(skewed(AUTHORS))])
    } else if (kind === 3) {
      for (let p = 50 + int(250); p > 0; p--) tags.push(['p', pubkeyOf(int(AUTHORS))])
    } else if (kind === 10002) {
      for (let r = 2 + int(5); r > 0; r--) tags.push(['r', `wss://relay${int(200)}.example/`])
    }
    const content = kind === 1 ? `note ${i} about tag${int(HASHTAGS)} `.repeat(1 + int(6)) : kind === 0 ? `{"name":"user${author}"}` : kind === 7 ? '+' : ''
    events.push({ id: hex(i + 1), pubkey: pubkeyOf(author), created_at, kind, tags, content, sig: SIG })
  }
  return events
}

interface Figures {
  insertPerSecond: number
  stored: number
  queries: Map<string, { median: number; p95: number; results: number }>
}

type QueryKind = { name: string; filter: (r: () => number) => StorageFilter }

const QUERY_KINDS: QueryKind[] = [
  { name: 'authors: 1, limit 100', filter: (r) => ({ authors: [pubkeyOf(skewed(AUTHORS, r))], limit: 100 }) },
  { name: 'authors: 50, limit 100', filter: (r) => ({ authors: Array.from({ length: 50 }, () => pubkeyOf(int(AUTHORS, r))), limit: 100 }) },
  { name: '#p: 1 value, limit 100', filter: (r) => ({ '#p': [pubkeyOf(skewed(AUTHORS, r))], limit: 100 }) },
  { name: '#t: 1 value, limit 100', filter: (r) => ({ '#t': [`tag${skewed(HASHTAGS, r)}`], limit: 100 }) },
  { name: 'kinds [1,6] + since, limit 100', filter: (r) => ({ kinds: [1, 6], since: START + SPAN - 86_400 * (1 + int(20, r)), limit: 100 }) },
  {
    name: 'kinds [7] + 50 authors + since',
    filter: (r) => ({ kinds: [7], authors: Array.from({ length: 50 }, () => pubkeyOf(int(AUTHORS, r))), since: START + SPAN - 7 * 86_400 }),
  },
]

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!
}

async function measure(storage: Storage, events: readonly NostrEvent[]): Promise<Figures> {
  const t0 = performance.now()
  for (let i = 0; i < events.length; i += BATCH) {
    await storage.putEvents(events.slice(i, i + BATCH), { seenOn: `wss://relay${i % 7}.example/` })
  }
  const insertMs = performance.now() - t0
  const queries = new Map<string, { median: number; p95: number; results: number }>()
  for (const kind of QUERY_KINDS) {
    // The same filters for both stores: each query kind has its own fixed seed.
    const filterRandom = prng(QUERY_KINDS.indexOf(kind) + 1000)
    const filters = Array.from({ length: ROUNDS }, () => kind.filter(filterRandom))
    for (const filter of filters.slice(0, 10)) await storage.queryEvents([filter]) // warm-up
    const times: number[] = []
    let results = 0
    for (const filter of filters) {
      const t = performance.now()
      results += (await storage.queryEvents([filter])).length
      times.push(performance.now() - t)
    }
    times.sort((a, b) => a - b)
    queries.set(kind.name, { median: percentile(times, 0.5), p95: percentile(times, 0.95), results: results / ROUNDS })
  }
  return { insertPerSecond: (events.length / insertMs) * 1000, stored: await storage.countEvents(), queries }
}

async function main(): Promise<void> {
  console.log(`generating ${EVENTS} events (${AUTHORS} authors, batches of ${BATCH}) ...`)
  const events = generate(EVENTS)
  const tags = events.reduce((n, e) => n + e.tags.length, 0)
  console.log(`${tags} tags in all; ${ROUNDS} queries per kind\n`)

  const dir = mkdtempSync(join(tmpdir(), 'rendezvous-bench-'))
  const path = join(dir, 'bench.db')
  try {
    const sqlite = sqliteStorage({ path })
    const sq = await measure(sqlite, events)
    await sqlite.close()
    const fileMb = statSync(path).size / 1e6

    const memory = memoryStorage({ maxEvents: 200_000 })
    const mem = await measure(memory, events)
    await memory.close()

    const pad = (s: string, n: number): string => s.padEnd(n)
    const num = (x: number, d = 2): string => x.toFixed(d).padStart(9)
    console.log(`stored events: sqlite ${sq.stored}, memory ${mem.stored}; sqlite file ${fileMb.toFixed(1)} MB`)
    console.log(
      `insert: sqlite ${Math.round(sq.insertPerSecond)} events/s, memory ${Math.round(mem.insertPerSecond)} events/s, ` +
        `memory/sqlite ${(mem.insertPerSecond / sq.insertPerSecond).toFixed(1)}x\n`,
    )
    console.log(`${pad('query', 34)} ${pad('results', 8)} ${'sqlite med'.padStart(10)} ${'p95'.padStart(9)} ${'memory med'.padStart(10)} ${'p95'.padStart(9)}  sqlite/memory (median)`)
    for (const [name, s] of sq.queries) {
      const m = mem.queries.get(name)!
      console.log(
        `${pad(name, 34)} ${num(s.results, 1).padStart(8)} ${num(s.median, 3).padStart(10)} ${num(s.p95, 3)} ${num(m.median, 3).padStart(10)} ${num(m.p95, 3)}  ${(s.median / m.median).toFixed(2)}x`,
      )
    }
    console.log('\n(times in ms per query; lower is better)')
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

await main()
