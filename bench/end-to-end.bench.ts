/**
 * Recall end to end on a fleet of real local relays (test/helpers/fleet-network.ts): the outbox
 * pipeline (tracker on an indexer → evidence → scorer → selector → pool, one re-plan after failed
 * relays) against the model-level simulation of the same network, and against the fixed list of
 * the two biggest relays, on the same fleet.
 *
 * Rows:
 * - ours (wire): `readFollowsOnWire`, k = 2, budget 20;
 * - ours, penalty box skipped (wire): the same, but relays the pool holds in its penalty box after
 *   the tracker's fetch (they refused a connection) are passed to the selector as `unhealthy`;
 * - model-level: the selector on the model's own candidates (`declaredCandidates`), dead relays
 *   found on first use, one re-plan; events counted by the ground truth (bench/recall.bench.ts's
 *   algorithm, on the fleet's URLs);
 * - model of the wire plan: the ground truth's count for the relays the wire client actually
 *   asked (equal to the wire row when the pool loses nothing);
 * - same pipeline, no wire: the scorer (with the health the wire client saw), the selector and the
 *   re-plan on evidence fed directly with the lists the fleet holds (equal to the wire row when the
 *   tracker discovered every list);
 * - big two (wire) and (model): ask the two most popular relays for every follow.
 *
 * "recall" is distinct posts received over posts that exist on a live relay for the followed
 * authors; "relays" counts relays asked in the read (the tracker's fetch is reported apart);
 * "copies/ev" is downloads per event received.
 *
 * Usage: node scripts/run-ts.mjs bench/end-to-end.bench.ts [--seeds 1,2,3]
 *        [--scales 500:30:200,2000:50:1000]   (people:relays:follows)
 *
 * @module
 */
import { relayHealthFactor } from '../src/outbox/scorer.js'
import { createRelayPool, type RelayPool } from '../src/relay-pool/pool.js'
import {
  bigTwoUrls,
  fetchRounds,
  modelRecall,
  pipelineModelRecall,
  readFollowsOnWire,
  simulateRounds,
  startFleetNetwork,
  wireFigures,
  type FleetNetwork,
  type RecallFigures,
} from '../test/helpers/fleet-network.js'

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`)
  return i >= 0 ? process.argv[i + 1] : undefined
}

const SEEDS = (arg('seeds') ?? '1,2,3').split(',').map(Number)
const SCALES = (arg('scales') ?? '500:30:200,2000:50:1000').split(',').map((s) => {
  const [people, relays, follows] = s.split(':').map(Number)
  if (![people, relays, follows].every((n) => Number.isSafeInteger(n) && (n as number) > 0)) throw new RangeError(`--scales takes people:relays:follows, got ${s}`)
  return { people: people as number, relays: relays as number, follows: follows as number }
})
if (SEEDS.some((n) => !Number.isSafeInteger(n))) throw new RangeError('--seeds takes integers')
const K = 2
const BUDGET = 20

function newPool(): RelayPool {
  return createRelayPool({ connect: { allowPrivateHosts: ['127.0.0.1'] }, fetch: false, connectTimeoutMs: 3_000, eoseTimeoutMs: 10_000 })
}

function pad(value: string | number, width: number): string {
  const s = String(value)
  return s.length >= width ? s : ' '.repeat(width - s.length) + s
}

interface Row {
  readonly name: string
  readonly f: RecallFigures
  readonly ms?: number
}

function print(rows: readonly Row[]): void {
  console.log(`${'strategy'.padEnd(36)}${pad('recall', 8)}${pad('events', 10)}${pad('relays', 8)}${pad('failed', 8)}${pad('copies/ev', 11)}${pad('ms', 8)}`)
  for (const { name, f, ms } of rows) {
    console.log(
      `${name.padEnd(36)}${pad(`${(100 * f.recall).toFixed(1)}%`, 8)}${pad(`${f.recalled}/${f.expected}`, 10)}${pad(f.connections, 8)}` +
        `${pad(f.failedRelays, 8)}${pad(f.copiesPerEvent.toFixed(2), 11)}${pad(ms === undefined ? '' : ms.toFixed(0), 8)}`,
    )
  }
}

async function measure(net: FleetNetwork): Promise<{ rows: Row[]; notes: string[] }> {
  const rows: Row[] = []
  const notes: string[] = []
  const dead = new Set(net.deadUrls)

  for (const skipPenaltyBox of [false, true]) {
    const pool = newPool()
    try {
      const run = await readFollowsOnWire(net, pool, { perAuthor: K, maxRelays: BUDGET, skipPenaltyBox })
      const name = skipPenaltyBox ? 'ours, penalty box skipped (wire)' : 'ours (wire)'
      rows.push({ name, f: run.figures, ms: run.ms.total })
      if (run.unexpected > 0) notes.push(`${name}: ${run.unexpected} unexpected events`)
      const firstDead = [...run.first.relays.keys()].filter((u) => dead.has(u))
      const triedByTracker = new Set(run.tracker.relays.filter((r) => r.status !== 'eose').map((r) => r.url))
      notes.push(
        `${name}: tracker ${run.ms.tracker.toFixed(0)} ms (${run.tracker.relays.length} relays asked, ${triedByTracker.size} failed), ` +
          `select ${run.ms.select.toFixed(0)} ms, read ${run.ms.read.toFixed(0)} ms; first selection ${run.first.relays.size} relays, ` +
          `${firstDead.length} dead (${firstDead.filter((u) => triedByTracker.has(u)).length} of them had just failed for the tracker); ` +
          `re-plan ${run.second ? `${run.second.relays.size} relays` : 'none'}; pool connections ${pool.allRelayStats().filter((s) => s.connectAttempts > 0).length}`,
      )
      if (!skipPenaltyBox) {
        const rounds = run.second ? [run.first.relays, run.second.relays] : [run.first.relays]
        rows.push({ name: 'model of the wire plan', f: simulateRounds(net, rounds) })
        const health = (url: string): number => run.health.get(url) ?? relayHealthFactor(undefined, run.now)
        rows.push({ name: 'same pipeline, no wire', f: pipelineModelRecall(net, { now: run.now, health, perAuthor: K, maxRelays: BUDGET }).figures })
      }
    } finally {
      await pool.close()
    }
  }
  const model = modelRecall(net, { perAuthor: K, maxRelays: BUDGET })
  rows.push({ name: 'model-level simulation', f: model.figures })

  const big = new Map(bigTwoUrls(net).map((url) => [url, net.follows]))
  const pool = newPool()
  try {
    const read = await fetchRounds(pool, [big])
    const { figures, unexpected } = wireFigures(net, read)
    rows.push({ name: 'big two (wire)', f: figures, ms: read.ms })
    if (unexpected > 0) notes.push(`big two: ${unexpected} unexpected events`)
  } finally {
    await pool.close()
  }
  rows.push({ name: 'big two (model)', f: simulateRounds(net, [big]) })
  return { rows, notes }
}

async function main(): Promise<void> {
  console.log(`end-to-end recall on local relays: k=${K}, budget ${BUDGET}, seeds ${SEEDS.join(',')}`)
  const summary: string[] = []
  for (const scale of SCALES) {
    for (const seed of SEEDS) {
      const t0 = performance.now()
      const net = await startFleetNetwork({ seed, ...scale, postsBy: 'follows', listsBy: 'follows' })
      try {
        const s = net.seeded
        const holders = net.follows.filter((pk) => net.network.byPubkey.get(pk)?.hasRelayList).length
        console.log(
          `\n== seed ${seed}: ${scale.people} people, ${net.fleet.relays.length} relays + indexer, ${net.deadUrls.length} dead URLs, ` +
            `${scale.follows} follows (${holders} with a 10002); fleet up in ${((performance.now() - t0) / 1000).toFixed(1)} s ` +
            `(keys+network ${(s.generateMs / 1000).toFixed(1)} s, signing ${s.signed} events ${(s.signMs / 1000).toFixed(1)} s, ` +
            `storing ${s.stored} copies ${(s.storeMs / 1000).toFixed(1)} s)`,
        )
        const { rows, notes } = await measure(net)
        print(rows)
        for (const note of notes) console.log(`   ${note}`)
        const by = (name: string): RecallFigures => (rows.find((r) => r.name === name) as Row).f
        const wire = by('ours (wire)')
        const model = by('model-level simulation')
        const big = by('big two (wire)')
        const gap = 100 * (wire.recall - model.recall)
        summary.push(
          `${scale.people}:${net.fleet.relays.length}:${scale.follows} seed ${seed}: wire ${(100 * wire.recall).toFixed(1)}% vs model ` +
            `${(100 * model.recall).toFixed(1)}% (${gap >= 0 ? '+' : ''}${gap.toFixed(1)} pt) [target within 1 pt: ${Math.abs(gap) <= 1 ? 'met' : 'MISSED'}], ` +
            `${wire.connections} relays (${wire.failedRelays} dead), ${wire.copiesPerEvent.toFixed(2)} copies/event; ` +
            `big two ${(100 * big.recall).toFixed(1)}% with 2 relays`,
        )
      } finally {
        await net.close()
      }
    }
  }
  console.log('\n== summary (people:relays:follows)')
  for (const line of summary) console.log(line)
}

await main()
