/**
 * Recall at model level: how many of the followed authors' events a client gets with each relay
 * choice, on the synthetic network of test/helpers/network-generator.ts.
 *
 * Each author's posts sit on the relays they actually reached, minus dead relays and relays that
 * censor them. A strategy says which relays to ask for which authors; a relay that is dead fails to
 * connect and returns nothing. Strategies:
 * - ceiling: every relay anything points to for every author (no budget);
 * - big-two: the two most popular relays for everyone;
 * - popularity: each author's k most popular known relays (popularity = how many follows name the
 *   relay), no budget, like NDK's per-author pick;
 * - ours: `selectRelays` at budget 20 and k = 2; relays that fail to connect are reported and the
 *   plan is re-planned once with `replanAfterFailure`, as the client does;
 * - variants of ours to explain the figures: no re-plan, k = 1 and 3, and dead relays known up
 *   front (`unhealthy`, what NIP-66 liveness data gives).
 * A sweep then runs ours (k = 2, re-plan) with each `firstCoverBonus` of `--bonus` and prints,
 * per bonus, the share of the ceiling, copies per event and authors left with no relay.
 *
 * Usage: node scripts/run-ts.mjs bench/recall.bench.ts [--seeds 1,2,3] [--people 12000]
 *        [--follows 200,1000,2000,10000] [--bonus 0,0.25,0.5,1,2]
 *
 * @module
 */
import { replanAfterFailure, selectRelays, type SelectRelaysOptions } from '../src/outbox/selector.js'
import type { RelaySelection, ScoredRelay } from '../src/outbox/types.js'
import {
  declaredCandidates,
  generateNetwork,
  holdingRelays,
  knownRelays,
  networkStats,
  pickFollows,
  type SyntheticNetwork,
  type SyntheticPerson,
} from '../test/helpers/network-generator.js'

// ---------------------------------------------------------------------------------------------
// Arguments
// ---------------------------------------------------------------------------------------------

function argList(name: string, fallback: number[]): number[] {
  const i = process.argv.indexOf(`--${name}`)
  const raw = i >= 0 ? process.argv[i + 1] : undefined
  if (raw === undefined) return fallback
  const values = raw.split(',').map(Number)
  if (values.some((v) => !Number.isSafeInteger(v) || v < 0)) throw new RangeError(`--${name} takes integers, got ${raw}`)
  return values
}

const SEEDS = argList('seeds', [1, 2, 3])
const PEOPLE = argList('people', [12_000])[0] ?? 12_000
const FOLLOW_COUNTS = argList('follows', [200, 1_000, 2_000, 10_000]).filter((n) => n <= PEOPLE)
const BUDGET = 20
const K = 2
const BONUSES = ((): number[] => {
  const i = process.argv.indexOf('--bonus')
  const raw = i >= 0 ? process.argv[i + 1] : undefined
  if (raw === undefined) return [0, 0.25, 0.5, 1, 2]
  const values = raw.split(',').map(Number)
  if (values.some((v) => !(v >= 0) || !Number.isFinite(v))) throw new RangeError(`--bonus takes numbers >= 0, got ${raw}`)
  return values
})()

// ---------------------------------------------------------------------------------------------
// The simulation
// ---------------------------------------------------------------------------------------------

/** One fetch round: relay → authors asked there. */
type Round = ReadonlyMap<string, readonly string[]>

interface Plan {
  readonly rounds: readonly Round[]
  /** Only for our selector: the final selection, to explain the losses. */
  readonly selection?: RelaySelection
  readonly ms?: number
}

interface Outcome {
  /** Events fetched at least once. */
  readonly recalled: number
  /** Authors with at least one event fetched. */
  readonly authorsRecalled: ReadonlySet<string>
  /** Distinct relays a connection was attempted to, and how many of them were dead. */
  readonly connections: number
  readonly deadConnections: number
  /** Copies downloaded (an event fetched from two relays counts twice). */
  readonly downloads: number
}

interface World {
  readonly network: SyntheticNetwork
  readonly follows: readonly string[]
  readonly candidates: Map<string, ScoredRelay[]>
  /** Author → the relays that serve their posts. */
  readonly holding: ReadonlyMap<string, ReadonlySet<string>>
  readonly person: (pubkey: string) => SyntheticPerson
}

function simulate(world: World, plan: Plan): Outcome {
  const attempted = new Set<string>()
  const asked = new Set<string>()
  const authorsRecalled = new Set<string>()
  let downloads = 0
  for (const round of plan.rounds) {
    for (const [url, authors] of round) {
      attempted.add(url)
      if (world.network.relayByUrl.get(url)?.alive !== true) continue
      for (const author of authors) {
        // A relay asked again for the same author in the re-plan round sends nothing new: the
        // client keeps the subscription open rather than asking twice.
        const pair = `${url} ${author}`
        if (asked.has(pair)) continue
        asked.add(pair)
        if (!world.holding.get(author)?.has(url)) continue
        const posts = world.person(author).posts
        if (posts === 0) continue
        downloads += posts
        authorsRecalled.add(author)
      }
    }
  }
  let recalled = 0
  for (const author of authorsRecalled) recalled += world.person(author).posts
  const deadConnections = [...attempted].filter((url) => world.network.relayByUrl.get(url)?.alive !== true).length
  return { recalled, authorsRecalled, connections: attempted.size, deadConnections, downloads }
}

function invert(byAuthor: ReadonlyMap<string, readonly string[]>): Map<string, string[]> {
  const byRelay = new Map<string, string[]>()
  for (const [author, urls] of byAuthor) {
    for (const url of urls) {
      const list = byRelay.get(url)
      if (list) list.push(author)
      else byRelay.set(url, [author])
    }
  }
  return byRelay
}

// ---------------------------------------------------------------------------------------------
// Strategies
// ---------------------------------------------------------------------------------------------

function ceiling(world: World): Plan {
  return { rounds: [invert(new Map(world.follows.map((a) => [a, knownRelays(world.person(a))])))] }
}

function bigTwo(world: World): Plan {
  const top = world.network.relays.filter((r) => r.rank < 2).map((r) => r.url)
  return { rounds: [new Map(top.map((url) => [url, world.follows]))] }
}

function popularity(world: World, k: number): Plan {
  const count = new Map<string, number>()
  for (const scored of world.candidates.values()) for (const { url } of scored) count.set(url, (count.get(url) ?? 0) + 1)
  const byAuthor = new Map<string, string[]>()
  for (const [author, scored] of world.candidates) {
    const picked = scored
      .map((s) => s.url)
      .sort((a, b) => (count.get(b) ?? 0) - (count.get(a) ?? 0) || (a < b ? -1 : a > b ? 1 : 0))
      .slice(0, k)
    byAuthor.set(author, picked)
  }
  return { rounds: [invert(byAuthor)] }
}

/**
 * Not a real strategy: greedy max-coverage on where the events actually are among the known relays
 * (it knows reach, dead relays, censors and who posts), weighted by posts. An upper-bound-ish reference for any budgeted choice:
 * when it stays under 95% of the ceiling, the budget cannot reach the target on this network.
 */
function oracle(world: World, budget: number): Plan {
  const byRelay = new Map<string, string[]>()
  for (const author of world.follows) {
    if (world.person(author).posts === 0) continue
    const known = new Set(knownRelays(world.person(author)))
    for (const url of world.holding.get(author) ?? []) {
      if (!known.has(url)) continue
      const list = byRelay.get(url)
      if (list) list.push(author)
      else byRelay.set(url, [author])
    }
  }
  const covered = new Set<string>()
  const chosen = new Map<string, string[]>()
  for (let step = 0; step < budget; step++) {
    let best: string | undefined
    let bestGain = 0
    for (const [url, authors] of byRelay) {
      if (chosen.has(url)) continue
      let gain = 0
      for (const a of authors) if (!covered.has(a)) gain += world.person(a).posts
      if (gain > bestGain || (gain === bestGain && gain > 0 && best !== undefined && url < best)) {
        best = url
        bestGain = gain
      }
    }
    if (best === undefined) break
    const authors = byRelay.get(best) ?? []
    chosen.set(best, authors)
    for (const a of authors) covered.add(a)
  }
  return { rounds: [chosen] }
}

interface OursOptions {
  readonly k: number
  readonly replan: boolean
  /** Dead relays known before selecting (NIP-66 liveness). */
  readonly knowDead: boolean
  /** Authors who never post left out of the candidates (what a last-seen timestamp would tell). */
  readonly activeOnly?: boolean
  /** `firstCoverBonus`; the selector's default when absent. */
  readonly bonus?: number
}

function ours(world: World, { k, replan, knowDead, activeOnly = false, bonus }: OursOptions): Plan {
  const candidates = activeOnly ? new Map([...world.candidates].filter(([author]) => world.person(author).posts > 0)) : world.candidates
  const options: SelectRelaysOptions = {
    candidates,
    perAuthor: k,
    maxRelays: BUDGET,
    ...(bonus !== undefined ? { firstCoverBonus: bonus } : {}),
    ...(knowDead ? { unhealthy: world.network.relays.filter((r) => !r.alive).map((r) => r.url) } : {}),
  }
  const start = performance.now()
  const first = selectRelays(options)
  const failed = [...first.relays.keys()].filter((url) => world.network.relayByUrl.get(url)?.alive !== true)
  if (!replan || failed.length === 0) return { rounds: [first.relays], selection: first, ms: performance.now() - start }
  const second = replanAfterFailure(first, failed, options)
  return { rounds: [first.relays, second.relays], selection: second, ms: performance.now() - start }
}

// ---------------------------------------------------------------------------------------------
// Loss analysis: why authors the ceiling recalls are missed by our selection
// ---------------------------------------------------------------------------------------------

/**
 * Why an author the ceiling recalls got nothing from our selection:
 * - `short: <reason>`: the selection gave them no relay at all (budget, unhealthy, no-relays);
 * - `censored`: a relay asked for them holds their posts but drops them;
 * - `asked only dead`: every relay asked for them failed to connect, even after the re-plan;
 * - `asked where not reached`: relays asked are up but their posts never landed there (an author
 *   reaching only some of their declared relays, or a wrong hint); `(k short)` when they got
 *   fewer than k relays because of the budget.
 */
function lossCauses(world: World, ceilingOutcome: Outcome, outcome: Outcome, plan: Plan): Map<string, { authors: number; events: number; noList: number }> {
  const causes = new Map<string, { authors: number; events: number; noList: number }>()
  const asked = new Map<string, Set<string>>()
  for (const round of plan.rounds) {
    for (const [url, authors] of round) {
      for (const a of authors) {
        const set = asked.get(a) ?? new Set<string>()
        set.add(url)
        asked.set(a, set)
      }
    }
  }
  for (const author of ceilingOutcome.authorsRecalled) {
    if (outcome.authorsRecalled.has(author)) continue
    const person = world.person(author)
    const urls = [...(asked.get(author) ?? [])]
    const short = plan.selection?.short.get(author)
    const relayOf = (url: string) => world.network.relayByUrl.get(url)
    let cause: string
    if (urls.length === 0) cause = short ? `short: ${short.reason}` : 'not asked'
    else if (urls.some((url) => relayOf(url)?.censors.has(author))) cause = 'censored'
    else if (urls.every((url) => relayOf(url)?.alive === false)) cause = 'asked only dead'
    else cause = `asked where not reached${short?.reason === 'budget' ? ' (k short)' : ''}`
    const entry = causes.get(cause) ?? { authors: 0, events: 0, noList: 0 }
    entry.authors++
    entry.events += person.posts
    if (!person.hasRelayList) entry.noList++
    causes.set(cause, entry)
  }
  return causes
}

// ---------------------------------------------------------------------------------------------
// Report
// ---------------------------------------------------------------------------------------------

const STRATEGIES: readonly { name: string; plan: (w: World) => Plan }[] = [
  { name: 'ceiling (every known relay)', plan: ceiling },
  { name: 'big two (fixed)', plan: bigTwo },
  { name: `popularity per author, k=${K}`, plan: (w) => popularity(w, K) },
  { name: `oracle greedy b=${BUDGET} (reference)`, plan: (w) => oracle(w, BUDGET) },
  { name: `ours k=${K} b=${BUDGET} + replan`, plan: (w) => ours(w, { k: K, replan: true, knowDead: false }) },
  { name: `ours k=${K} b=${BUDGET}, no replan`, plan: (w) => ours(w, { k: K, replan: false, knowDead: false }) },
  { name: `ours k=1 b=${BUDGET} + replan`, plan: (w) => ours(w, { k: 1, replan: true, knowDead: false }) },
  { name: `ours k=3 b=${BUDGET} + replan`, plan: (w) => ours(w, { k: 3, replan: true, knowDead: false }) },
  { name: `ours k=${K} b=${BUDGET}, dead known`, plan: (w) => ours(w, { k: K, replan: true, knowDead: true }) },
  { name: `ours k=${K} b=${BUDGET}, inactive dropped`, plan: (w) => ours(w, { k: K, replan: true, knowDead: false, activeOnly: true }) },
]
const OURS = STRATEGIES[4]?.name ?? ''
const ORACLE = STRATEGIES[3]?.name ?? ''

function pad(value: string | number, width: number): string {
  const s = String(value)
  return s.length >= width ? s : ' '.repeat(width - s.length) + s
}

function pct(n: number, d: number): string {
  return d === 0 ? '-' : `${((100 * n) / d).toFixed(1)}%`
}

interface Row {
  readonly name: string
  readonly outcome: Outcome
  readonly ms?: number
}

function buildWorld(network: SyntheticNetwork, followCount: number, seed: number): World {
  const follows = pickFollows(network, followCount, seed * 1_000 + followCount)
  const person = (pubkey: string): SyntheticPerson => {
    const p = network.byPubkey.get(pubkey)
    if (!p) throw new Error(`unknown pubkey ${pubkey}`)
    return p
  }
  return {
    network,
    follows,
    candidates: declaredCandidates(network, follows),
    holding: new Map(follows.map((a) => [a, new Set(holdingRelays(network, person(a)))])),
    person,
  }
}

/** Authors the first selection (before any re-plan) gives no relay although they have some. */
function uncoveredAuthors(world: World, k: number, bonus: number): number {
  const first = selectRelays({ candidates: world.candidates, perAuthor: k, maxRelays: BUDGET, firstCoverBonus: bonus })
  let n = 0
  for (const s of first.short.values()) if (s.have === 0 && s.reason === 'budget') n++
  return n
}

interface SweepCell {
  readonly ofCeiling: number
  readonly copies: number
  readonly zeroK2: number
  readonly zeroK1: number
}

function main(): void {
  console.log(`recall simulation: network of ${PEOPLE} people, seeds ${SEEDS.join(',')}, budget ${BUDGET}, k=${K}`)
  const summary: string[] = []
  const sweep: { label: string; cells: SweepCell[] }[] = []
  for (const seed of SEEDS) {
    const t0 = performance.now()
    const network = generateNetwork({ seed, people: PEOPLE })
    const genMs = performance.now() - t0
    const s = networkStats(network)
    console.log(
      `\n== seed ${seed}: generated in ${genMs.toFixed(0)} ms; ${s.relays} relays (${pct(s.deadShare * s.relays, s.relays)} dead), ` +
        `${pct(s.noListShare * s.people, s.people)} without 10002, top-2 write share ${pct(s.topTwoWriteShare, 1)}, ` +
        `mean list ${s.meanListSize.toFixed(2)}, dead list entries ${pct(s.deadPairShare, 1)}, ${s.communities} communities`,
    )
    for (const followCount of FOLLOW_COUNTS) {
      const world = buildWorld(network, followCount, seed)
      const rows: Row[] = STRATEGIES.map(({ name, plan }) => {
        const p = plan(world)
        return { name, outcome: simulate(world, p), ...(p.ms !== undefined ? { ms: p.ms } : {}) }
      })
      const top = rows[0]?.outcome as Outcome
      const noList = world.follows.filter((a) => !world.person(a).hasRelayList).length
      const totalEvents = world.follows.reduce((sum, a) => sum + world.person(a).posts, 0)
      console.log(
        `\n-- ${followCount} follows (${pct(noList, followCount)} without 10002); events posted ${totalEvents}, ` +
          `recallable by the ceiling ${top.recalled} (${pct(top.recalled, totalEvents)})`,
      )
      console.log(`${'strategy'.padEnd(34)}${pad('events', 8)}${pad('of ceil', 9)}${pad('authors', 9)}${pad('relays', 8)}${pad('dead', 6)}${pad('copies/ev', 11)}${pad('ms', 8)}`)
      for (const row of rows) {
        const o = row.outcome
        console.log(
          `${row.name.padEnd(34)}${pad(o.recalled, 8)}${pad(pct(o.recalled, top.recalled), 9)}${pad(o.authorsRecalled.size, 9)}` +
            `${pad(o.connections, 8)}${pad(o.deadConnections, 6)}${pad(o.recalled === 0 ? '-' : (o.downloads / o.recalled).toFixed(2), 11)}` +
            `${pad(row.ms === undefined ? '' : row.ms.toFixed(1), 8)}`,
        )
      }
      const oursRow = rows.find((r) => r.name === OURS) as Row
      const oursPlan = ours(world, { k: K, replan: true, knowDead: false })
      const causes = lossCauses(world, top, oursRow.outcome, oursPlan)
      const lost = top.recalled - oursRow.outcome.recalled
      const parts = [...causes].sort((a, b) => b[1].events - a[1].events).map(([cause, c]) => `${cause}: ${c.authors} authors/${c.events} events (${c.noList} without 10002)`)
      console.log(`   ours lost ${lost} events vs the ceiling: ${parts.join('; ') || 'none'}`)
      const ratio = oursRow.outcome.recalled / Math.max(1, top.recalled)
      const copies = oursRow.outcome.downloads / Math.max(1, oursRow.outcome.recalled)
      summary.push(
        `seed ${seed} ${pad(followCount, 6)} follows: ours ${pct(oursRow.outcome.recalled, top.recalled)} of ceiling events ` +
          `(${pct(oursRow.outcome.authorsRecalled.size, top.authorsRecalled.size)} of its authors; oracle b=20 ${pct(rows.find((r) => r.name === ORACLE)?.outcome.recalled ?? 0, top.recalled)}) ` +
          `[target >= 95%: ${ratio >= 0.95 ? 'met' : `MISSED by ${(100 * (0.95 - ratio)).toFixed(1)} pt`}], ` +
          `${copies.toFixed(2)} copies/event [target <= ${K + 0.3}: ${copies <= K + 0.3 ? 'met' : `MISSED by ${(copies - K - 0.3).toFixed(2)}`}], ` +
          `${oursRow.outcome.connections} relays asked (${oursRow.outcome.deadConnections} dead)`,
      )
      const zeroK1 = uncoveredAuthors(world, 1, 0)
      sweep.push({
        label: `seed ${seed} ${pad(followCount, 6)} follows`,
        cells: BONUSES.map((bonus) => {
          const o = simulate(world, ours(world, { k: K, replan: true, knowDead: false, bonus }))
          return {
            ofCeiling: o.recalled / Math.max(1, top.recalled),
            copies: o.downloads / Math.max(1, o.recalled),
            zeroK2: uncoveredAuthors(world, K, bonus),
            zeroK1,
          }
        }),
      })
    }
  }
  console.log(`\n== firstCoverBonus sweep (ours k=${K} b=${BUDGET} + replan): % of ceiling events / copies per event / authors with no relay in the first selection (k=1 for reference)`)
  console.log(`${''.padEnd(22)}${BONUSES.map((b) => pad(`bonus ${b}`, 22)).join('')}${pad('k=1 zero', 10)}`)
  for (const { label, cells } of sweep) {
    const row = cells.map((c) => pad(`${pct(c.ofCeiling, 1)} / ${c.copies.toFixed(2)} / ${c.zeroK2}`, 22)).join('')
    console.log(`${label.padEnd(22)}${row}${pad(cells[0]?.zeroK1 ?? '-', 10)}`)
  }
  const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length)
  const stat = BONUSES.map((_, i) => {
    const col = sweep.map((s) => s.cells[i] as SweepCell)
    return pad(`${(100 * mean(col.map((c) => c.ofCeiling))).toFixed(2)}% min ${pct(Math.min(...col.map((c) => c.ofCeiling)), 1)}`, 22)
  })
  console.log(`${'mean, worst'.padEnd(22)}${stat.join('')}`)
  const met = BONUSES.map((_, i) => pad(`${sweep.filter((s) => (s.cells[i] as SweepCell).ofCeiling >= 0.95).length}/${sweep.length} >= 95%`, 22))
  console.log(`${'target met'.padEnd(22)}${met.join('')}`)
  const zeros = BONUSES.map((_, i) => pad(`${sweep.reduce((sum, s) => sum + (s.cells[i] as SweepCell).zeroK2, 0)} (k=1: ${sweep.reduce((sum, s) => sum + (s.cells[i] as SweepCell).zeroK1, 0)})`, 22))
  console.log(`${'no relay, total'.padEnd(22)}${zeros.join('')}`)
  console.log('\n== targets (ours = selectRelays k=2, budget 20, one re-plan after failed connections)')
  for (const line of summary) console.log(line)
  console.log('\n"copies/ev" = downloads per recalled event (1 = no duplicate); "dead" = relays asked that failed to connect.')
}

main()
