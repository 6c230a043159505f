/**
 * `npm run demo`: Rendezvous on a whole Nostr network that lives on this machine, no internet.
 *
 * 1. Starts real relays on 127.0.0.1 and fills them from the network generator: a few hundred
 *    people with relay lists, posts on the relays each one actually reached, some relays dead
 *    (closed ports) and some censoring.
 * 2. As one user following 200 of them: discovers their relay lists through an indexer relay,
 * 3. chooses relays (k = 2, budget 20),
 * 4. fetches the feed with a progress bar,
 * 5. compares recall and connections with asking two big relays about everyone (both on the wire),
 * 6. publishes a note with proof of work and prints the delivery report,
 * 7. sends a NIP-17 private message that the recipient's own client reads back,
 * 8. writes an SVG chart of recall against the connection budget, each point measured on the wire.
 *
 * Usage: `node scripts/run-ts.mjs demo/demo.ts [--out <dir>]` (default dir: `demo-output`).
 * Exit code 0 on success, 1 with a one-line reason on failure; everything is closed either way.
 *
 * @module
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { relative, resolve } from 'node:path'
import { createClient, type Client, type FeedPage, type PublishResult, isRendezvousError } from '../src/index.js'
import { createSecretKeySigner, hexToBytes, nip19 } from '../src/crypto/index.js'
import { createRelayPool } from '../src/relay-pool/index.js'
import type { TrackerReport } from '../src/outbox/index.js'
// The network is the project's test fleet: real relays (@nostr-relay/core) in this process.
import { applyOffWireClues, bigTwoUrls, fetchRounds, startFleetNetwork, type FleetNetwork } from '../test/helpers/fleet-network.js'
import { recallChartSvg } from './chart.js'
import { progressBar, table, type Output } from './terminal.js'

// ---- settings ------------------------------------------------------------------------------------

/** The network: same as the end-to-end test's, so the numbers can be compared with it. */
const SEED = 1
const PEOPLE = 500
const LIVE_RELAYS = 30
const FOLLOWS = 200
/** Redundancy and budget of the headline run. */
const K = 2
const BUDGET = 20
/** Budgets of the chart; BUDGET's point is the headline run itself. */
const CHART_BUDGETS = [2, 4, 6, 8, 10, 15, 20, 30]
const POW_BITS = 16
/** More than the network holds (≤ 3 posts per author): a feed page that holds every post. */
const FEED_LIMIT = 1_000
/** The whole run is aborted after this long (it takes well under a minute). */
const DEADLINE_MS = 100_000
/** Timeouts of the demo's pools: local relays answer in milliseconds. */
const POOL_TIMEOUTS = { connectTimeoutMs: 3_000, eoseTimeoutMs: 5_000, publishTimeoutMs: 5_000 }

// ---- small helpers ---------------------------------------------------------------------------------

const out: Output = process.stdout
const say = (line = ''): void => void out.write(`${line}\n`)
const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`
const percent = (part: number, whole: number): string => (whole === 0 ? '0.0%' : `${((100 * part) / whole).toFixed(1)}%`)
const shortNpub = (pubkey: string): string => {
  const npub = nip19.npubEncode(pubkey)
  return `${npub.slice(0, 10)}…${npub.slice(-4)}`
}

/** An error the demo explains itself (no stack trace). */
class DemoError extends Error {
  override name = 'DemoError'
}

/** Leading zero bits of a hex id: the proof of work it carries. */
function leadingZeroBits(hex: string): number {
  let bits = 0
  for (const ch of hex) {
    const nibble = parseInt(ch, 16)
    if (nibble === 0) {
      bits += 4
      continue
    }
    return bits + Math.clz32(nibble) - 28
  }
  return bits
}

function parseArgs(argv: readonly string[]): { outDir: string } {
  let outDir = 'demo-output'
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--out' && argv[i + 1] !== undefined) outDir = argv[++i] as string
    else throw new DemoError(`unknown argument ${JSON.stringify(argv[i])} (usage: demo.ts [--out <dir>])`)
  }
  return { outDir: resolve(outDir) }
}

// ---- the run ---------------------------------------------------------------------------------------

/** Everything the demo must close, whatever happens. */
interface Resources {
  net?: FleetNetwork
  readonly clients: Client[]
  readonly closers: (() => Promise<void>)[]
}

/** Errors the clients survived on their own (reported once at the end, not as stack traces). */
const survived: unknown[] = []

/** A client of the library as an app would create one, allowed to reach the local relays only. */
function newClient(resources: Resources, net: FleetNetwork, secretKey: string, maxRelays = BUDGET): Client {
  const signer = createSecretKeySigner(hexToBytes(secretKey))
  // The signer keeps its own copy of the key; wiping it is part of cleaning up.
  resources.closers.push(async () => signer.close())
  const client = createClient({
    signer,
    indexerRelays: [net.indexerUrl],
    perAuthor: K,
    maxRelays,
    // Loopback addresses are refused by default (a relay list could point a client at its own
    // network); the demo's relays are all on 127.0.0.1. NIP-11 documents are not fetched.
    pool: { connect: { allowPrivateHosts: ['127.0.0.1'] }, fetch: false, ...POOL_TIMEOUTS },
    onError: (error) => survived.push(error),
  })
  resources.clients.push(client)
  return client
}

/** Ground truth: the ids of every post the followed people have on some live relay. */
function truthOf(net: FleetNetwork): { ids: Set<string>; authorsWithPosts: string[] } {
  const ids = new Set<string>()
  const authorsWithPosts: string[] = []
  for (const pk of net.follows) {
    const posts = net.postIds.get(pk) ?? []
    for (const id of posts) ids.add(id)
    if (posts.length > 0) authorsWithPosts.push(pk)
  }
  return { ids, authorsWithPosts }
}

/** One row of the comparison, measured on the wire. */
interface Measured {
  readonly recalled: number
  readonly expected: number
  readonly relaysAsked: number
  readonly relaysFailed: number
  readonly authorsMissed: number
}

function measure(net: FleetNetwork, events: Iterable<{ id: string; pubkey: string }>, relaysAsked: number, relaysFailed: number): Measured {
  const truth = truthOf(net)
  const recalledIds = new Set<string>()
  const authorsFound = new Set<string>()
  for (const e of events) {
    if (!truth.ids.has(e.id)) continue
    recalledIds.add(e.id)
    authorsFound.add(e.pubkey)
  }
  return {
    recalled: recalledIds.size,
    expected: truth.ids.size,
    relaysAsked,
    relaysFailed,
    authorsMissed: truth.authorsWithPosts.filter((pk) => !authorsFound.has(pk)).length,
  }
}

/** What one outbox read did. */
interface OutboxRun {
  readonly tracker: TrackerReport
  readonly clues: number
  readonly plan: ReturnType<Client['router']['readPlan']>
  readonly page: FeedPage
  readonly measured: Measured
}

/**
 * The library's read of the follows: relay lists through the indexer (the tracker), the off-wire
 * clues, the router's plan (shown to the user), then the feed itself, which plans the same way,
 * asks each chosen relay about its authors and re-plans around the relays that fail.
 */
async function outboxRead(
  client: Client,
  net: FleetNetwork,
  signal: AbortSignal,
  hooks: {
    onPlanned?: (run: Pick<OutboxRun, 'tracker' | 'clues' | 'plan'>) => void
    onProgress?: (done: number, total: number, events: number) => void
  } = {},
): Promise<OutboxRun> {
  const tracker = await client.tracker.ensureRelayLists(net.follows, { signal })
  // NIP-05 documents and relay hints in other people's events: a real client collects these as it
  // goes (profiles it loads, tags it reads). The local network has no web server and no such third-
  // party events, so they are handed to the evidence store directly, as if learned earlier.
  const clues = applyOffWireClues(client.evidence, net, net.follows, Math.floor(Date.now() / 1000))
  const plan = client.router.readPlan(net.follows)
  hooks.onPlanned?.({ tracker, clues, plan })
  const page = await client.feed({
    authors: net.follows,
    kinds: [1],
    limit: FEED_LIMIT,
    eoseTimeoutMs: POOL_TIMEOUTS.eoseTimeoutMs,
    signal,
    ...(hooks.onProgress !== undefined && { onProgress: (p) => hooks.onProgress?.(p.relaysDone, p.relaysTotal, p.events) }),
  })
  const asked = new Set(page.report.relays.map((r) => r.url))
  const failed = new Set(page.report.relays.filter((r) => r.status !== 'eose').map((r) => r.url))
  return { tracker, clues, plan, page, measured: measure(net, page.events, asked.size, failed.size) }
}

/** The fixed-list approach: ask the two most popular relays about every follow, on the wire. */
async function bigTwoRead(net: FleetNetwork, resources: Resources): Promise<Measured> {
  const pool = createRelayPool({ connect: { allowPrivateHosts: ['127.0.0.1'] }, fetch: false, ...POOL_TIMEOUTS })
  resources.closers.push(() => pool.close())
  const urls = bigTwoUrls(net)
  const read = await fetchRounds(pool, [new Map(urls.map((url) => [url, net.follows]))])
  await pool.close()
  return measure(net, read.events.values(), urls.length, read.failed.length)
}

/** A relay's name in the generated network ("relay-3"), easier to read than a port. */
function relayName(net: FleetNetwork, url: string): string {
  if (url === net.indexerUrl) return 'indexer'
  const model = net.modelUrlOf(url)
  return model === undefined ? url : model.replace(/^wss?:\/\//, '').replace(/\.example\/?$/, '')
}

function describeTarget(target: PublishResult['report']['targets'][number]): string {
  if (target.status === 'ok' || target.status === 'duplicate') return `${target.status}: the relay holds it`
  // The relay's or the pool's words, cut before any detail in parentheses (URLs, retry times).
  const why = (target.last?.message ?? target.last?.status ?? 'no answer yet').split(' (')[0]
  if (target.status === 'pending') return `not yet: ${why}; retried in the background`
  return `${target.status}: ${why}`
}

async function run(resources: Resources, signal: AbortSignal, outDir: string): Promise<void> {
  const started = performance.now()
  say('Rendezvous demo: the outbox model on a Nostr network running on this machine (127.0.0.1, no internet)')
  say()

  // 1. The network.
  const net = await startFleetNetwork({ seed: SEED, people: PEOPLE, relays: LIVE_RELAYS, follows: FOLLOWS, postsBy: 'follows', listsBy: 'follows' })
  resources.net = net
  const censoring = net.network.relays.filter((r) => r.alive && r.censors.size > 0).length
  const truth = truthOf(net)
  say(`1. Network: ${PEOPLE} people on ${net.fleet.relays.length} live relays, ${net.deadUrls.length} dead ones (closed ports) and an indexer;`)
  say(`   ${censoring} relays censor someone. You follow ${net.follows.length} people, who have ${truth.ids.size} posts. (ready in ${seconds(performance.now() - started)})`)

  // 2-4. The library's read; the plan is printed before the feed starts.
  const client = newClient(resources, net, net.user.secretKey)
  const bar = progressBar(out, 'relays', { indent: '   ' })
  const headline = await outboxRead(client, net, signal, {
    onPlanned: ({ clues, plan }) => {
      const sources = { nip65: 0, kind3: 0, none: 0 }
      for (const pk of net.follows) sources[client.tracker.relayListOf(pk)?.source ?? 'none']++
      say(`2. Relay lists of your follows, through the indexer: ${sources.nip65} NIP-65 lists, ${sources.kind3} legacy kind 3 relay maps,`)
      say(`   ${sources.none} with neither; +${clues} NIP-05 / relay-hint clues for the ${sources.kind3 + sources.none} without a NIP-65 list.`)
      const byAuthor = plan.selection.byAuthor
      const twice = net.follows.filter((pk) => (byAuthor.get(pk)?.length ?? 0) >= K).length
      const once = net.follows.filter((pk) => (byAuthor.get(pk)?.length ?? 0) === 1).length
      say(`3. Relay choice (k=${K}, budget ${BUDGET}): ${plan.selection.relays.size} relays; ${twice} follows covered ${K}x, ${once} once, ${net.follows.length - twice - once} not at all.`)
      say('4. Fetching the feed:')
    },
    onProgress: (done, total, events) => bar.update(done, total, `${events} posts`),
  })
  bar.finish()
  const { page } = headline
  const secondRound = new Set(page.report.relays.filter((r) => r.round === 2).map((r) => r.url)).size
  const failedUrls = new Set(page.report.relays.filter((r) => r.status !== 'eose').map((r) => r.url))
  const allDead = [...failedUrls].every((url) => net.deadUrls.includes(url))
  const reasons = new Map<string, number>()
  for (const m of page.report.missing) reasons.set(m.reason, (reasons.get(m.reason) ?? 0) + 1)
  const failedNote =
    failedUrls.size === 0
      ? 'no relay failed'
      : `${failedUrls.size} relays failed${allDead ? ' (dead ones)' : ''}, ` +
        (secondRound > 0 ? `their authors were re-planned to ${secondRound} other relays` : 'no other relay was known for their authors')
  say(`   ${page.events.length} posts in ${seconds(page.report.ms)}; ${failedNote}.`)
  if (page.report.missing.length > 0) {
    const why = [...reasons].map(([r, n]) => `${r} ${n}`).join(', ')
    say(`   The feed's report names ${page.report.missing.length} authors who may be missing posts (${why}).`)
  }

  // 5. The comparison.
  const big = await bigTwoRead(net, resources)
  const row = (name: string, m: Measured): string[] => [
    name,
    `${m.recalled}/${m.expected} (${percent(m.recalled, m.expected)})`,
    String(m.relaysAsked),
    String(m.relaysFailed),
    String(m.authorsMissed),
  ]
  say(`5. Compared with asking the two biggest relays about everyone (both measured on the wire just now):`)
  say()
  for (const line of table(
    ['approach', 'posts recalled', 'relays asked', 'relays failed', 'authors missed'],
    [row(`outbox model (Rendezvous, k=${K}, budget ${BUDGET})`, headline.measured), row('two big relays', big)],
    '   ',
  )) {
    say(line)
  }
  say()
  say(`   authors missed: of the ${truth.authorsWithPosts.length} follows with posts, those of whom nothing came back.`)
  say(`   Before its feed, the outbox client fetched the ${FOLLOWS} relay lists from the indexer.`)

  // 6. A note with proof of work, to the user's own relays (one of them down).
  const [write1, write2, read1, dm1] = net.fleet.urls
  const down = net.deadUrls[0]
  if (write1 === undefined || write2 === undefined || read1 === undefined || dm1 === undefined || down === undefined) {
    throw new DemoError('the network is too small for the demo')
  }
  await client.setRelays({ write: [write1, write2, down], read: [read1], dm: [dm1] }, { signal })
  let lastPow: { hashes: number; hashesPerSecond: number } | undefined
  const powStart = performance.now()
  const published = await client.publish(
    { kind: 1, content: 'Hello from the Rendezvous demo: this note carries proof of work.' },
    { pow: POW_BITS, onPowProgress: (p) => (lastPow = { hashes: p.hashes, hashesPerSecond: p.hashesPerSecond }), signal },
  )
  const powMs = performance.now() - powStart
  const zeros = leadingZeroBits(published.event.id)
  const rate = lastPow !== undefined && lastPow.hashesPerSecond > 0 ? `, ~${Math.round(lastPow.hashesPerSecond / 1000)}k hashes/s` : ''
  const targets = published.report.targets
  say(
    `6. Published a note with proof of work ${POW_BITS} (id ${published.event.id.slice(0, 12)}…, ${zeros} zero bits${rate}, ${seconds(powMs)}):` +
      ` ${published.report.accepted} of ${targets.length} relays hold it`,
  )
  const label = (url: string): string => `${relayName(net, url)}${net.deadUrls.includes(url) ? ' (down)' : ''}`
  const nameWidth = Math.max(...targets.map((t) => label(t.url).length))
  for (const t of targets) say(`     ${label(t.url).padEnd(nameWidth)}  ${t.reasons.join('+')}  ${describeTarget(t)}`)

  // 7. A private message that the recipient's own client reads back.
  const recipient = net.follows
    .map((pk) => net.network.byPubkey.get(pk))
    .find((p) => p !== undefined && p.secretKey !== undefined && p.dmRelays.length > 0 && p.dmRelays.every((u) => net.network.relayByUrl.get(u)?.alive === true))
  if (recipient?.secretKey === undefined) throw new DemoError('no followed person has a DM relay list with live relays')
  const text = 'Hola! A private message from the Rendezvous demo.'
  const sent = await client.sendDm(recipient.pubkey, text, { signal })
  const theirs = sent.deliveries.filter((d) => !d.self)
  const mine = sent.deliveries.filter((d) => d.self)
  const held = (d: (typeof sent.deliveries)[number]): string => `${d.report.accepted}/${d.relays.length}`
  say(
    `7. Sent a NIP-17 private message to ${shortNpub(recipient.pubkey)}: gift wrap on ${theirs.map(held).join(', ')} of their DM relays` +
      `${mine.length > 0 ? `, your copy on ${mine.map(held).join(', ')} of yours` : ''}.`,
  )
  const other = newClient(resources, net, recipient.secretKey)
  const inbox = await other.dms({ peer: net.user.pubkey, signal })
  const got = inbox.messages.find((m) => m.content === text)
  if (got === undefined) throw new DemoError(`the recipient's client did not find the message (${inbox.messages.length} messages, ${inbox.undecryptable} undecryptable)`)
  say(`   Their client read it back from their DM relays: "${got.content}"`)
  // `sender` is the seal's signer, checked by the library when it opened the wrap.
  const from = got.sender === net.user.pubkey ? 'you' : 'NOT you'
  say(`   Signed by ${shortNpub(got.sender)} (${from}, verified); their inbox: ${inbox.messages.length} message(s), ${inbox.undecryptable} unreadable.`)

  // 8. The chart: every point is a fresh client reading on the wire with that budget.
  const chartStart = performance.now()
  const curve: { x: number; y: number }[] = []
  for (const budget of CHART_BUDGETS) {
    if (budget === BUDGET) {
      curve.push({ x: budget, y: (100 * headline.measured.recalled) / headline.measured.expected })
      continue
    }
    const fresh = newClient(resources, net, net.user.secretKey, budget)
    const r = await outboxRead(fresh, net, signal)
    curve.push({ x: budget, y: (100 * r.measured.recalled) / r.measured.expected })
    await fresh.close()
  }
  const bigRecall = (100 * big.recalled) / big.expected
  const svg = recallChartSvg({
    title: `Recall of ${FOLLOWS} follows\u2019 posts against connection budget`,
    xLabel: 'connection budget (relays asked in the first round)',
    yLabel: 'posts recalled (%)',
    xTicks: CHART_BUDGETS,
    series: [
      { label: `outbox model (Rendezvous, k=${K})`, color: '#1f6feb', points: curve },
      {
        label: 'two big relays (fixed list)',
        color: '#d1242f',
        dashed: true,
        markers: false,
        points: [CHART_BUDGETS[0] ?? 0, CHART_BUDGETS.at(-1) ?? 0].map((x) => ({ x, y: bigRecall })),
      },
    ],
    caption: [
      `Measured on the wire in one run of npm run demo: ${PEOPLE} generated people (seed ${SEED}), ${FOLLOWS} followed,`,
      `${net.fleet.relays.length} live relays, ${net.deadUrls.length} dead, some censoring, all on 127.0.0.1. Each outbox point is a fresh`,
      `client: relay lists via the indexer, relay choice, feed, one re-plan around failed relays. The two big`,
      `relays do not depend on the budget: that client always asks the same 2 relays about everyone.`,
    ],
  })
  mkdirSync(outDir, { recursive: true })
  const file = resolve(outDir, 'recall-vs-budget.svg')
  writeFileSync(file, svg)
  const shown = relative(process.cwd(), file)
  const points = curve.map((p) => `${p.x}: ${p.y.toFixed(0)}%`).join(', ')
  say(`8. Chart of recall against connection budget (${points}; two big relays ${bigRecall.toFixed(0)}%), in ${seconds(performance.now() - chartStart)}:`)
  say(`   ${shown.startsWith('..') ? file : shown}`)
}

async function main(): Promise<void> {
  const started = performance.now()
  const resources: Resources = { clients: [], closers: [] }
  const controller = new AbortController()
  const deadline = setTimeout(() => controller.abort(new DemoError(`took longer than ${DEADLINE_MS / 1000} s`)), DEADLINE_MS)
  const interrupt = (): void => controller.abort(new DemoError('interrupted'))
  process.once('SIGINT', interrupt)
  let failure: unknown
  try {
    const { outDir } = parseArgs(process.argv.slice(2))
    await Promise.race([
      run(resources, controller.signal, outDir),
      // Steps that take no signal (the network's seeding) still end the run on a timeout or Ctrl-C.
      new Promise<never>((_, reject) => controller.signal.addEventListener('abort', () => reject(controller.signal.reason), { once: true })),
    ])
  } catch (error) {
    failure = controller.signal.aborted ? controller.signal.reason : error
  } finally {
    clearTimeout(deadline)
    process.removeListener('SIGINT', interrupt)
    await Promise.allSettled(resources.clients.map((c) => c.close()))
    await Promise.allSettled(resources.closers.map((close) => close()))
    await resources.net?.close().catch((error: unknown) => (failure ??= error))
  }
  if (failure !== undefined) {
    const message = failure instanceof Error ? failure.message : String(failure)
    const code = isRendezvousError(failure) ? ` [${failure.code}]` : ''
    process.stderr.write(`\ndemo failed: ${message}${code}\n`)
    process.exitCode = 1
  } else {
    if (survived.length > 0) say(`\n(${survived.length} errors were survived along the way; first: ${survived[0] instanceof Error ? survived[0].message : String(survived[0])})`)
    say(`\nfinished in ${seconds(performance.now() - started)}`)
    process.exitCode = 0
  }
  // Everything is closed; should anything still hold the event loop, do not hang the terminal.
  setTimeout(() => {
    process.stderr.write('demo: something was still running after cleanup; exiting\n')
    process.exit(process.exitCode ?? 1)
  }, 5_000).unref()
}

await main()
