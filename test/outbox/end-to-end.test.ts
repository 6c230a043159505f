/**
 * The outbox layer end to end on real relays (issue 4, last "done means"): 30 local relays and an
 * indexer hold a generated network of 500 people (test/helpers/fleet-network.ts); a client that
 * follows 200 of them discovers their relay lists through the indexer with the tracker, scores the
 * evidence with each relay's health from the pool, selects relays (k = 2, budget 20), fetches
 * their posts with the pool, re-plans once around relays that fail, and must recall what the
 * model-level simulation recalls, within one point.
 *
 * References, all computed without the wire on the same network and follows:
 * - the same plan counted by the ground truth: the wire must get exactly those events, so any
 *   event lost by the pool or the paging shows up;
 * - the same pipeline (scorer with the health the client saw, selector, one re-plan) on evidence
 *   fed directly with the lists the fleet holds: within one point (in practice equal), so a list
 *   the tracker failed to discover shows up;
 * - `bench/recall.bench.ts`'s simulation, the selector on the model's own candidates
 *   (`declaredCandidates`), whose fixed weights know nothing of relay health or decay: ties break
 *   differently, so it may differ by an author or two (about a point each at this size).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { relayHealthFactor } from '../../src/outbox/scorer.js'
import { createRelayPool } from '../../src/relay-pool/pool.js'
import {
  modelRecall,
  pipelineModelRecall,
  readFollowsOnWire,
  simulateRounds,
  startFleetNetwork,
  type FleetNetwork,
  type RecallFigures,
} from '../helpers/fleet-network.js'
import { openRawClient } from '../helpers/relay-fleet.js'

const K = 2
const BUDGET = 20
/** A floor a working pipeline clears with room to spare (it recalls 95-98% here, the big two ~79%). */
const RECALL_FLOOR = 0.85

let net: FleetNetwork

beforeAll(async () => {
  net = await startFleetNetwork({ seed: 1, people: 500, relays: 30, follows: 200, postsBy: 'follows', listsBy: 'follows' })
}, 60_000)

afterAll(async () => {
  await net?.close()
})

function line(name: string, f: RecallFigures): string {
  return (
    `${name.padEnd(28)} recall ${(100 * f.recall).toFixed(1)}% (${f.recalled}/${f.expected}), ` +
    `${f.connections} relays asked (${f.failedRelays} failed), ${f.copiesPerEvent.toFixed(2)} copies/event`
  )
}

describe('the fleet network', () => {
  it('holds the model: every copy stored, dead relays refuse, lists on the indexer', async () => {
    expect(net.fleet.relays).toHaveLength(30)
    expect(net.network.relays.filter((r) => r.alive)).toHaveLength(30)
    expect(net.seeded.refused).toBe(0)
    expect(net.deadUrls.length).toBeGreaterThan(0)
    expect(new Set([...net.deadUrls, ...net.fleet.urls, net.indexerUrl]).size).toBe(net.deadUrls.length + 31)
    const holders = net.network.people.filter((p) => p.hasRelayList).length
    const client = await openRawClient(net.indexerUrl)
    try {
      const lists = await client.query([{ kinds: [10002], limit: 1000 }])
      expect(lists).toHaveLength(holders)
      const followList = await client.query([{ kinds: [3], authors: [net.user.pubkey] }])
      expect(followList[0]?.tags.filter((t) => t[0] === 'p').map((t) => t[1])).toEqual(net.follows)
      const refused = await Promise.allSettled(net.deadUrls.slice(0, 3).map((url) => openRawClient(url, 1_000)))
      expect(refused.map((r) => r.status)).toEqual(refused.map(() => 'rejected'))
    } finally {
      await client.close()
    }
    const expected = net.follows.reduce((sum, pk) => sum + (net.postIds.get(pk)?.length ?? 0), 0)
    expect(net.seeded.posts).toBe(expected)
  })

  it('puts each post exactly where the model says, censoring relays left out', async () => {
    const authors = net.follows.filter((pk) => (net.postIds.get(pk)?.length ?? 0) > 0)
    // Some followed authors post to a live relay that censors them: the fleet must not serve them there.
    const censored = authors.filter((pk) => net.network.relays.some((r) => r.alive && r.censors.has(pk) && net.network.byPubkey.get(pk)!.reached.includes(r.url)))
    expect(censored.length).toBeGreaterThan(0)
    const sample = [...new Set([...censored, ...authors.slice(0, 40)])]
    for (const url of net.fleet.urls) {
      const client = await openRawClient(url)
      try {
        const events = await client.query([{ kinds: [1], authors: sample, limit: 1000 }])
        const got = [...new Set(events.map((e) => e.pubkey))].sort()
        expect(got, url).toEqual(sample.filter((pk) => net.holding(pk).has(url)).sort())
        for (const e of events) expect(net.postIds.get(e.pubkey)).toContain(e.id)
      } finally {
        await client.close()
      }
    }
  })
})

describe('outbox reads on the wire', () => {
  it('discovers, selects and fetches within one point of the model-level recall', async () => {
    const pool = createRelayPool({
      connect: { allowPrivateHosts: ['127.0.0.1'] },
      fetch: false,
      connectTimeoutMs: 3_000,
      eoseTimeoutMs: 8_000,
    })
    try {
      const run = await readFollowsOnWire(net, pool, { perAuthor: K, maxRelays: BUDGET })
      const { tracker, evidence, first, second, read, figures } = run

      // The tracker found every list there is, through the indexer.
      const followed = net.follows.map((pk) => net.network.byPubkey.get(pk)!)
      const holders = followed.filter((p) => p.hasRelayList)
      expect(tracker.requested).toBe(net.follows.length)
      expect(tracker.found.relayList).toBe(holders.length)
      expect(tracker.missing).toEqual(followed.filter((p) => !p.hasRelayList).map((p) => p.pubkey).sort())
      expect(tracker.relays.find((r) => r.url === net.indexerUrl)?.status).toBe('eose')
      // Only dead relays fail: every live relay the tracker asked answered.
      const deadUrls = new Set(net.deadUrls)
      for (const r of tracker.relays) expect(`${r.url} ${r.status}`).toBe(`${r.url} ${deadUrls.has(r.url) ? 'failed' : 'eose'}`)
      for (const p of holders) expect(evidence.evidenceFor(p.pubkey).lists.nip65).toBeDefined()
      for (const p of followed.filter((q) => !q.hasRelayList && q.kind3Relays.length > 0)) {
        expect(evidence.evidenceFor(p.pubkey).lists.kind3).toBeDefined()
      }

      const model = modelRecall(net, { perAuthor: K, maxRelays: BUDGET })
      const offWire = pipelineModelRecall(net, {
        now: run.now,
        health: (url) => run.health.get(url) ?? relayHealthFactor(undefined, run.now),
        perAuthor: K,
        maxRelays: BUDGET,
      })
      const samePlan = simulateRounds(net, second ? [first.relays, second.relays] : [first.relays])
      const dead = new Set(net.deadUrls)
      const s = net.seeded
      console.log(
        [
          `fleet: 30 relays + indexer, ${net.network.people.length} people, ${net.follows.length} follows ` +
            `(${holders.length} with a 10002), ${net.deadUrls.length} dead relay URLs; seeded ${s.stored} copies of ` +
            `${s.signed} events in ${((s.generateMs + s.signMs + s.storeMs) / 1000).toFixed(1)} s`,
          `tracker: ${tracker.fetched} fetched, found ${tracker.found.relayList} 10002 / ${tracker.found.dmRelays} 10050 / ` +
            `${tracker.found.kind3} kind 3; ${tracker.relays.length} relays asked ` +
            `(${tracker.relays.filter((r) => r.status !== 'eose').length} failed)`,
          line('wire (tracker+scorer+pool)', figures),
          line('model-level simulation', model.figures),
          line('same pipeline, no wire', offWire.figures),
          line('model of the wire plan', samePlan),
          `selection: ${first.relays.size} relays (${[...first.relays.keys()].filter((u) => dead.has(u)).length} dead), ` +
            `re-plan: ${second ? `${second.relays.size} relays` : 'none'}; pool connections attempted ` +
            `${pool.allRelayStats().filter((r) => r.connectAttempts > 0).length}; ` +
            `tracker ${run.ms.tracker.toFixed(0)} ms, select ${run.ms.select.toFixed(0)} ms, read ${run.ms.read.toFixed(0)} ms`,
        ].join('\n'),
      )

      // Nothing but the followed authors' posts came back, and nothing the plan reaches was lost.
      expect(run.unexpected).toBe(0)
      expect(figures.recalled).toBe(samePlan.recalled)
      expect(figures.downloads).toBe(samePlan.downloads)
      expect(read.failed.every((url) => dead.has(url))).toBe(true)
      // The issue's target, against the client's own pipeline run on the model (same scorer and
      // health, no wire: a gap is a discovery or fetch loss) ...
      expect(Math.abs(figures.recall - offWire.figures.recall)).toBeLessThanOrEqual(0.01)
      // ... and against recall.bench's simulation on the model's own candidates, whose weights
      // know nothing of relay health or of the scorer's decay: ties break differently, which moved
      // one author (~0.9 point here) either way in the runs measured; two points of slack.
      expect(Math.abs(figures.recall - model.figures.recall)).toBeLessThanOrEqual(0.02)
      // A floor a broken pipeline cannot reach.
      expect(figures.recall).toBeGreaterThanOrEqual(RECALL_FLOOR)
      expect(first.relays.size).toBeLessThanOrEqual(BUDGET)
      expect(second?.relays.size ?? 0).toBeLessThanOrEqual(BUDGET)
      expect(figures.copiesPerEvent).toBeLessThanOrEqual(K + 0.3)

      // A query report for every chosen relay, naming every author chosen there.
      const reported = new Map<string, Set<string>>()
      for (const round of read.reports) {
        for (const r of round) {
          const set = reported.get(r.url) ?? new Set<string>()
          for (const a of r.authors) set.add(a)
          reported.set(r.url, set)
          expect(r.outcome.url).toBe(r.url)
          expect(r.outcome.status).toBe(dead.has(r.url) ? 'failed' : 'eose')
        }
      }
      for (const selection of second ? [first, second] : [first]) {
        for (const [url, authors] of selection.relays) {
          const set = reported.get(url)
          expect(set, url).toBeDefined()
          for (const a of authors) expect(set?.has(a), `${url} ${a}`).toBe(true)
        }
      }
    } finally {
      await pool.close()
    }
  })
})
