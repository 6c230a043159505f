/**
 * The `rendezvous` command line, run as a child process (the real bin file, bundled with the
 * current sources by ./bundle.ts) against local relays only: help, usage errors and exit codes,
 * then each command on seeded people, checked on the relays themselves where the command writes.
 * Every child gets a timeout; a child that does not exit on its own (a socket or timer left open)
 * is killed and fails its test.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { NostrEvent } from '../../src/crypto/event.js'
import { getPow } from '../../src/crypto/nip13.js'
import { unwrapDirectMessage } from '../../src/crypto/nip17.js'
import { decode, nprofileEncode, npubEncode } from '../../src/crypto/nip19.js'
import { encrypt } from '../../src/crypto/nip49.js'
import { finalizeEvent } from '../../src/crypto/signature.js'
import { shortNpub } from '../../src/cli/format.js'
import { normalizeRelayUrl } from '../../src/relay-pool/url.js'
import { seedPerson, type SeededPerson } from '../helpers/client-harness.js'
import { openRawClient, startFleet, startWsHost, waitFor, type TestFleet, type TestRelay } from '../helpers/relay-fleet.js'
import { bundleCli, type CliBundle } from './bundle.js'

/**
 * Generous (a run takes under a second here, on a shared machine) yet below the pool's 30 s idle
 * timeout: a command that leaves its client open is killed and fails instead of just exiting late.
 */
const CHILD_TIMEOUT_MS = 20_000
const PASSPHRASE = 'correct horse battery staple'

// r0 is the indexer; r1..r5 are people's relays.
let fleet: TestFleet
let bundle: CliBundle

beforeAll(async () => {
  ;[fleet, bundle] = await Promise.all([startFleet(6), bundleCli()])
}, 120_000)

afterAll(async () => {
  bundle?.remove()
  await fleet?.close()
})

const url = (i: number): string => fleet.urls[i]!
const relay = (i: number): TestRelay => fleet.relays[i]!
/** What the relays and the CLI print: the normalised spelling. */
const norm = (i: number): string => normalizeRelayUrl(url(i))
/** {@link norm} for a RegExp. */
const rx = (i: number): string => escape(norm(i))

interface Run {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
  readonly stdout: string
  readonly stderr: string
}

/**
 * Starts the CLI with `args` and stdin `input` (closed right away when not given), in an
 * environment holding only PATH and `env`.
 */
function start(args: readonly string[], options: { input?: string; env?: Record<string, string> } = {}): { child: ChildProcess; done: Promise<Run> } {
  const child = spawn(process.execPath, [bundle.file, ...args], {
    env: { PATH: process.env.PATH ?? '', ...options.env },
    timeout: CHILD_TIMEOUT_MS,
    killSignal: 'SIGKILL',
    stdio: ['pipe', 'pipe', 'pipe'],
  })
  const done = new Promise<Run>((resolve, reject) => {
    let stdout = ''
    let stderr = ''
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk))
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
    child.on('error', reject)
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }))
  })
  // A child that exits before reading stdin closes the pipe under us: that is not a test failure.
  child.stdin!.on('error', () => {})
  child.stdin!.end(options.input ?? '')
  return { child, done }
}

/** {@link start}, and wait for the exit. */
function cli(args: readonly string[], options: { input?: string; env?: Record<string, string> } = {}): Promise<Run> {
  return start(args, options).done
}

/** The options that point the CLI at the local fleet. */
const local = (): string[] => ['--indexer', url(0), '--allow-private', '--timeout', '3000']

/** Runs a command expected to succeed, and shows its stderr when it does not. */
async function ok(args: readonly string[], options: { input?: string; env?: Record<string, string> } = {}): Promise<Run> {
  const run = await cli([...args, ...local()], options)
  expect(run.signal, `killed: ${run.stderr}`).toBeNull()
  expect(run.code, run.stderr).toBe(0)
  return run
}

/** A signed kind 3 of `person` following `follows`, stored on the indexer and `on`. */
async function seedFollows(person: SeededPerson, follows: readonly SeededPerson[], on: readonly number[], content = ''): Promise<NostrEvent> {
  const event = finalizeEvent(
    { kind: 3, content, tags: follows.map((f) => ['p', f.pubkey]), created_at: Math.floor(Date.now() / 1000) - 30 },
    person.secretKey,
  )
  for (const i of [0, ...on]) expect((await relay(i).storeEvents([event]))[0]?.success).toBe(true)
  return event
}

async function seedPost(person: SeededPerson, content: string, on: number, ago: number): Promise<NostrEvent> {
  const event = finalizeEvent({ kind: 1, content, tags: [], created_at: Math.floor(Date.now() / 1000) - ago }, person.secretKey)
  expect((await relay(on).storeEvents([event]))[0]?.success).toBe(true)
  return event
}

async function queryRelay(i: number, filters: readonly object[]): Promise<NostrEvent[]> {
  const raw = await openRawClient(url(i))
  try {
    return await raw.query(filters)
  } finally {
    await raw.close()
  }
}

function eventsSentBy(pubkey: string): number {
  return fleet.relays.reduce((n, r) => n + r.messagesOfType('EVENT').filter((m) => (m[1] as NostrEvent | undefined)?.pubkey === pubkey).length, 0)
}

function wrapsSent(): number {
  return fleet.relays.reduce((n, r) => n + r.messagesOfType('EVENT').filter((m) => (m[1] as NostrEvent | undefined)?.kind === 1059).length, 0)
}

describe('help and usage errors', () => {
  it('--help: the command list, and each command its usage and own options, on stdout with exit 0', async () => {
    const general = await cli(['--help'])
    expect(general.code).toBe(0)
    expect(general.stderr).toBe('')
    for (const name of ['relays', 'plan', 'feed', 'publish', 'dm']) expect(general.stdout).toMatch(new RegExp(`^  ${name} `, 'm'))
    expect(general.stdout).toContain('--indexer <url>')

    const own: Record<string, string[]> = {
      relays: [],
      plan: ['--k <n>', '--budget <n>'],
      feed: ['--limit <n>'],
      publish: ['--key <ncryptsec>', '--passphrase-stdin', '--pow <bits>'],
      dm: ['--key <ncryptsec>', '--passphrase-stdin'],
    }
    const runs = await Promise.all(Object.keys(own).map((name) => cli([name, '--help'])))
    Object.keys(own).forEach((name, i) => {
      const run = runs[i]!
      expect(run.code, name).toBe(0)
      expect(run.stderr, name).toBe('')
      expect(run.stdout, name).toMatch(new RegExp(`^Usage: rendezvous ${name} `))
      for (const option of [...own[name]!, '--json', '--allow-private', '--timeout <ms>']) expect(run.stdout, name).toContain(option)
    })
    // Options of other commands are not offered.
    expect(runs[0]!.stdout).not.toContain('--pow')
    // `help <command>` is `<command> --help`.
    expect((await cli(['help', 'plan'])).stdout).toBe(runs[1]!.stdout)
  }, 120_000)

  it('bad arguments: exit 2 and one line on stderr naming the problem, nothing on stdout, no network', async () => {
    const cases: Array<[string[], RegExp, Record<string, string>?]> = [
      [[], /missing command/],
      [['follow', 'npub1x'], /unknown command 'follow'/],
      [['feed', 'npub1x', '--bogus'], /unknown option --bogus for feed/],
      [['plan', 'npub1x', '--limit', '5'], /option --limit does not apply to plan/],
      [['relays'], /relays: missing <npub\|nprofile\|hex>/],
      [['relays', 'npub1notakey'], /relays: 'npub1notakey' is not an npub, nprofile or hex public key/],
      [['feed', npubEncode('f'.repeat(64)), '--limit', 'ten'], /--limit must be a whole number/],
      [['feed', npubEncode('f'.repeat(64)), '--limit'], /option --limit needs a value/],
      [['plan', npubEncode('f'.repeat(64)), '--k', '0'], /--k must be a whole number from 1/],
      [['relays', npubEncode('f'.repeat(64)), '--indexer', 'https://example.com'], /--indexer 'https:\/\/example.com' is not a relay URL/],
      [['publish'], /publish: missing <text>/],
      [['publish', 'two', 'words'], /unexpected argument 'words' \(quote the text\)/],
      [['publish', '   '], /publish: the text is empty/],
      [['publish', 'gm'], /publish needs your key: --key <ncryptsec> or RENDEZVOUS_NCRYPTSEC/],
      [['publish', 'gm', '--key', 'nsec1abc'], /holds an nsec/],
      [['publish', 'gm', '--key', 'ncryptsec1qqqq'], /--key is not a valid ncryptsec \(NIP49_INVALID\)/],
      [['publish', 'gm'], /RENDEZVOUS_NCRYPTSEC is not a valid ncryptsec/, { RENDEZVOUS_NCRYPTSEC: 'junk' }],
      [['dm', npubEncode('f'.repeat(64))], /dm: missing <text>/],
      [['dm', 'bob', 'hi'], /dm: 'bob' is not an npub/],
      [['publish', 'gm', '--json=yes'], /option --json takes no value/],
      [['feed', npubEncode('f'.repeat(64)), '--limit', '1', '--limit', '2'], /option --limit given twice/],
    ]
    const runs = await Promise.all(cases.map(([args, , env]) => cli([...args, '--indexer', url(0)], env === undefined ? {} : { env })))
    cases.forEach(([args, message], i) => {
      const run = runs[i]!
      const label = args.join(' ')
      expect(run.code, label).toBe(2)
      expect(run.stdout, label).toBe('')
      expect(run.stderr, label).toMatch(/^rendezvous: [^\n]*\n$/)
      expect(run.stderr, label).toMatch(message)
    })
  }, 120_000)

  it('a passphrase is never read from a pipe unless asked: without a terminal the prompt is a usage error', async () => {
    const key = await encrypt(new Uint8Array(32).fill(7), PASSPHRASE, { logN: 8 })
    const run = await cli(['publish', 'gm', '--key', key, ...local()], { input: `${PASSPHRASE}\n` })
    expect(run.code).toBe(2)
    expect(run.stderr).toMatch(/^rendezvous: no terminal to ask the passphrase on: pipe it in with --passphrase-stdin\n$/)
  })
})

describe('relays', () => {
  it("prints the seeded 10002 and 10050 with their markers, the kind 3 map, and each relay's evidence", async () => {
    const alice = await seedPerson(fleet, { write: [url(1)], read: [url(2)], dm: [url(3)] })
    await seedFollows(alice, [], [], JSON.stringify({ [url(4)]: { read: true, write: true } }))
    const text = await ok(['relays', npubEncode(alice.pubkey)])
    expect(text.stderr).toBe('')
    const out = text.stdout
    expect(out.startsWith(`${npubEncode(alice.pubkey)}\n  hex ${alice.pubkey}\n`)).toBe(true)
    expect(out).toMatch(new RegExp(`^Relay list \\(kind 10002\\) of .*:\\n  ${rx(1)}\\s+write\\n  ${rx(2)}\\s+read\\n`, 'm'))
    expect(out).toMatch(new RegExp(`^DM relays \\(kind 10050\\) of .*:\\n  ${rx(3)}\\n`, 'm'))
    expect(out).toMatch(new RegExp(`^Relay map in the follow list \\(kind 3\\) of .*:\\n  ${rx(4)}\\s+read\\+write\\n`, 'm'))
    // Evidence rows: the outbox scores 100 for reading, the inbox 100 for mentions; kind 3 30/30.
    expect(out).toMatch(new RegExp(`^  ${rx(1)}\\s+100\\.0\\s+0\\.0\\s+nip65-write `, 'm'))
    expect(out).toMatch(new RegExp(`^  ${rx(2)}\\s+0\\.0\\s+100\\.0\\s+nip65-read `, 'm'))
    expect(out).toMatch(new RegExp(`^  ${rx(4)}\\s+30\\.0\\s+30\\.0\\s+kind3-write .*kind3-read `, 'm'))
    expect(out).toMatch(new RegExp(`^  ${rx(0)}\\s+eose`, 'm'))

    const json = JSON.parse((await ok(['relays', alice.pubkey, '--json'])).stdout)
    expect(json.relayList).toEqual({ createdAt: alice.relayList!.created_at, write: [norm(1)], read: [norm(2)] })
    expect(json.dmRelays).toEqual({ createdAt: alice.dmRelayList!.created_at, relays: [norm(3)] })
    expect(json.kind3RelayMap).toMatchObject({ write: [norm(4)], read: [norm(4)] })
    expect(json.listSource).toBe('nip65')
    const byUrl = new Map<string, { outbox: number; inbox: number; sources: Record<string, unknown> }>(json.evidence.map((e: { url: string }) => [e.url, e]))
    expect(byUrl.get(norm(1))).toMatchObject({ outbox: 100, inbox: 0 })
    expect(Object.keys(byUrl.get(norm(1))!.sources)).toEqual(['nip65-write'])
    expect(byUrl.get(norm(2))).toMatchObject({ outbox: 0, inbox: 100 })
  }, 120_000)

  it("an nprofile's relays are asked too: lists no indexer holds are found through its hint", async () => {
    const hidden = await seedPerson(fleet, { write: [url(5)], dm: [url(5)], indexers: [] })
    const bare = JSON.parse((await ok(['relays', npubEncode(hidden.pubkey), '--json'])).stdout)
    expect(bare.relayList).toBeNull()
    expect(bare.dmRelays).toBeNull()
    const hinted = JSON.parse((await ok(['relays', nprofileEncode({ pubkey: hidden.pubkey, relays: [url(5)] }), '--json'])).stdout)
    expect(hinted.relayList).toMatchObject({ write: [norm(5)], read: [] })
    expect(hinted.dmRelays).toMatchObject({ relays: [norm(5)] })
    expect(Object.keys(hinted.evidence.find((e: { url: string }) => e.url === norm(5)).sources).sort()).toEqual(['nip19-hint', 'nip65-write'])
  }, 120_000)
})

describe('plan and feed', () => {
  let alice: SeededPerson
  let bob: SeededPerson
  let carol: SeededPerson
  let erin: SeededPerson
  let dave: SeededPerson
  const posts: NostrEvent[] = []

  beforeAll(async () => {
    // Bob, Carol and Erin each write to one relay of their own; Dave has no relay list at all.
    alice = await seedPerson(fleet, { write: [url(1)], read: [url(1)] })
    bob = await seedPerson(fleet, { write: [url(1)] })
    carol = await seedPerson(fleet, { write: [url(2)] })
    erin = await seedPerson(fleet, { write: [url(3)] })
    dave = await seedPerson(fleet, {})
    await seedFollows(alice, [bob, carol, erin, dave], [1])
    posts.push(await seedPost(bob, 'hello from bob', 1, 300))
    // A post that tries to clear the screen and retitle the terminal, over two lines.
    posts.push(await seedPost(carol, 'evil\u001b[2J\u001b]0;pwned\u0007 title\nsecond line', 2, 200))
    posts.push(await seedPost(erin, 'erin was here', 3, 100))
  }, 60_000)

  it('plan: each relay with its authors, and who is left short and why (budget, no relays)', async () => {
    const json = JSON.parse((await ok(['plan', npubEncode(alice.pubkey), '--k', '1', '--budget', '2', '--json'])).stdout)
    expect(json.follows).toBe(4)
    expect(json).toMatchObject({ k: 1, budget: 2 })
    expect(json.relays).toHaveLength(2)
    const outboxOf = new Map([[bob.pubkey, norm(1)], [carol.pubkey, norm(2)], [erin.pubkey, norm(3)]])
    for (const r of json.relays) {
      expect(r.authors).toHaveLength(1)
      expect(outboxOf.get(r.authors[0])).toBe(r.url)
    }
    const short = new Map<string, { reason: string; have: number }>(json.short.map((s: { pubkey: string }) => [s.pubkey, s]))
    expect(short.get(dave.pubkey)).toMatchObject({ reason: 'no-relays', have: 0 })
    const covered = new Set(json.relays.map((r: { authors: string[] }) => r.authors[0]))
    const leftOut = [bob, carol, erin].filter((p) => !covered.has(p.pubkey))
    expect(leftOut).toHaveLength(1)
    expect(short.get(leftOut[0]!.pubkey)).toMatchObject({ reason: 'budget', have: 0 })
    expect(short.size).toBe(2)

    const text = (await ok(['plan', npubEncode(alice.pubkey), '--k', '1'])).stdout
    expect(text).toMatch(/ follows 4 people /)
    expect(text).toMatch(/^Cover: 3 relays \(budget 20\), up to 1 per author; coverage 3 of 4$/m)
    for (const i of [1, 2, 3]) expect(text).toMatch(new RegExp(`^  ${rx(i)}\\s+1 author$`, 'm'))
    expect(text).toMatch(/^Short \(1 author: 1 no-relays\):$/m)
    expect(text).toContain(`${shortNpub(dave.pubkey)}  no-relays  0/1 relays  nothing known about where they write`)
  }, 120_000)

  it('feed: the posts newest first, one safe line each, then a summary of the read', async () => {
    const run = await ok(['feed', npubEncode(alice.pubkey), '--k', '1'])
    expect(run.stderr).toBe('')
    const lines = run.stdout.split('\n')
    expect(lines[0]).toMatch(new RegExp(`^\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\dZ  ${escape(shortNpub(erin.pubkey))}  erin was here$`))
    expect(lines[1]).toMatch(new RegExp(`  ${escape(shortNpub(carol.pubkey))}  evil \\[2J \\]0;pwned title second line$`))
    expect(lines[2]).toMatch(new RegExp(`  ${escape(shortNpub(bob.pubkey))}  hello from bob$`))
    // No escape sequence or bell reaches the terminal.
    expect(run.stdout).not.toMatch(/[\u0000-\u0009\u000b-\u001f]/)
    expect(lines.at(-2)).toBe('3 posts from 3 relays asked; none failed; 1 author may be missing posts (1 no-relays).')

    const json = JSON.parse((await ok(['feed', alice.pubkey, '--k', '1', '--limit', '1', '--json'])).stdout)
    expect(json.events.map((e: NostrEvent) => e.id)).toEqual([posts[2]!.id])
    expect(json.report.missing).toEqual([{ pubkey: dave.pubkey, reason: 'no-relays' }])
  }, 120_000)

  it('feed and plan of someone with no follow list: exit 1, one line', async () => {
    const runs = await Promise.all(['feed', 'plan'].map((command) => cli([command, npubEncode(dave.pubkey), ...local()])))
    for (const run of runs) {
      expect(run.code).toBe(1)
      expect(run.stdout).toBe('')
      expect(run.stderr).toBe(`rendezvous: no follow list (kind 3) found for ${npubEncode(dave.pubkey)}\n`)
    }
  }, 60_000)
})

describe('publish and dm', () => {
  it('publish: the note lands on every outbox, with its note1 id and a row per relay', async () => {
    const writer = await seedPerson(fleet, { write: [url(1), url(2)], read: [url(3)] })
    const key = await encrypt(writer.secretKey, PASSPHRASE, { logN: 8 })
    const run = await ok(['publish', 'hello from the cli', '--key', key, '--passphrase-stdin'], { input: `${PASSPHRASE}\n` })
    expect(run.stderr).toBe('')
    const noteId = run.stdout.split('\n')[0]!
    const decoded = decode(noteId)
    expect(decoded.type).toBe('note')
    const id = decoded.data as string
    expect(run.stdout).toMatch(/^Delivery: sent, accepted by 2 of 2 relays$/m)
    for (const i of [1, 2]) expect(run.stdout).toMatch(new RegExp(`^  ${rx(i)}\\s+ok\\s+my outbox`, 'm'))
    for (const i of [1, 2]) {
      const [stored] = await queryRelay(i, [{ ids: [id] }])
      expect(stored).toMatchObject({ id, pubkey: writer.pubkey, kind: 1, content: 'hello from the cli' })
    }
    // The inbox is not an outbox: a note mentioning nobody does not go there.
    expect(await queryRelay(3, [{ ids: [id] }])).toEqual([])
  }, 120_000)

  it('publish --pow --json with the key in RENDEZVOUS_NCRYPTSEC: a mined id and the report as JSON', async () => {
    const writer = await seedPerson(fleet, { write: [url(4)] })
    const key = await encrypt(writer.secretKey, PASSPHRASE, { logN: 8 })
    const run = await ok(['publish', 'mined', '--pow', '8', '--json', '--passphrase-stdin'], { input: `${PASSPHRASE}\r\n`, env: { RENDEZVOUS_NCRYPTSEC: key } })
    const json = JSON.parse(run.stdout)
    expect(getPow(json.id)).toBeGreaterThanOrEqual(8)
    expect(json.event.tags.find((t: string[]) => t[0] === 'nonce')?.[2]).toBe('8')
    expect(json.report).toMatchObject({ eventId: json.id, state: 'sent', accepted: 1 })
    expect(await queryRelay(4, [{ ids: [json.id] }])).toHaveLength(1)
  }, 120_000)

  it('publish with no outbox known: exit 1 saying what to do; with --relay it lands there', async () => {
    const writer = await seedPerson(fleet, {})
    const key = await encrypt(writer.secretKey, PASSPHRASE, { logN: 8 })
    const env = { RENDEZVOUS_NCRYPTSEC: key }
    const nowhere = await cli(['publish', 'into the void', '--passphrase-stdin', ...local()], { input: `${PASSPHRASE}\n`, env })
    expect(nowhere.code).toBe(1)
    expect(nowhere.stderr).toMatch(/^rendezvous: nowhere to publish: no outbox relays \(kind 10002 write\) found for npub1\w+; pass --relay <url> \(CLIENT_NO_TARGETS\)\n$/)
    expect(eventsSentBy(writer.pubkey)).toBe(0)

    const run = await ok(['publish', 'to a chosen relay', '--relay', url(4), '--passphrase-stdin', '--json'], { input: `${PASSPHRASE}\n`, env })
    const json = JSON.parse(run.stdout)
    expect(json.plan.noOutboxes).toBe(true)
    expect(json.report.targets.map((t: { url: string; reasons: string[] }) => [t.url, t.reasons])).toEqual([[norm(4), ['manual']]])
    expect(await queryRelay(4, [{ ids: [json.id] }])).toHaveLength(1)
  }, 120_000)

  it('a wrong passphrase: exit 1, one line with NIP49_WRONG_PASSPHRASE, nothing sent', async () => {
    const writer = await seedPerson(fleet, { write: [url(1)] })
    const key = await encrypt(writer.secretKey, PASSPHRASE, { logN: 8 })
    const run = await cli(['publish', 'never sent', '--key', key, '--passphrase-stdin', ...local()], { input: 'wrong horse\n' })
    expect(run.code).toBe(1)
    expect(run.stdout).toBe('')
    expect(run.stderr).toBe('rendezvous: Wrong passphrase or corrupted ncryptsec (NIP49_WRONG_PASSPHRASE)\n')
    expect(eventsSentBy(writer.pubkey)).toBe(0)
  }, 60_000)

  it("dm: a gift wrap lands on the recipient's 10050 relay only, opens to the text, and the copy on mine", async () => {
    const sender = await seedPerson(fleet, { write: [url(1)], dm: [url(3)] })
    const recipient = await seedPerson(fleet, { write: [url(1)], dm: [url(5)] })
    const key = await encrypt(sender.secretKey, PASSPHRASE, { logN: 8 })
    const run = await ok(['dm', npubEncode(recipient.pubkey), 'psst, 8pm', '--passphrase-stdin'], { input: `${PASSPHRASE}\n`, env: { RENDEZVOUS_NCRYPTSEC: key } })
    expect(run.stdout).toMatch(new RegExp(`^To ${escape(shortNpub(recipient.pubkey))} \\(1 DM relay\\):\\nDelivery: sent, accepted by 1 of 1 relay\\n  ${rx(5)}\\s+ok\\s+dm relay`, 'm'))
    expect(run.stdout).toMatch(new RegExp(`^Your own copy \\(1 DM relay\\):\\nDelivery: sent, accepted by 1 of 1 relay\\n  ${rx(3)}\\s+ok`, 'm'))
    expect(run.stdout).not.toContain('psst')

    const wraps = await queryRelay(5, [{ kinds: [1059], '#p': [recipient.pubkey] }])
    expect(wraps).toHaveLength(1)
    const opened = await unwrapDirectMessage(wraps[0]!, recipient.signer)
    expect(opened.sender).toBe(sender.pubkey)
    expect(opened.rumor.content).toBe('psst, 8pm')
    expect(await queryRelay(3, [{ kinds: [1059], '#p': [sender.pubkey] }])).toHaveLength(1)
    // Strict routing: not on the recipient's outbox.
    expect(await queryRelay(1, [{ kinds: [1059], '#p': [recipient.pubkey] }])).toEqual([])
  }, 120_000)

  it('dm to someone without DM relays: exit 1 with the client code, nothing sent', async () => {
    const sender = await seedPerson(fleet, { write: [url(1)], dm: [url(3)] })
    const recipient = await seedPerson(fleet, { write: [url(1)] })
    const key = await encrypt(sender.secretKey, PASSPHRASE, { logN: 8 })
    const wrapsBefore = wrapsSent()
    const run = await cli(['dm', recipient.pubkey, 'hello?', '--key', key, '--passphrase-stdin', ...local()], { input: `${PASSPHRASE}\n` })
    expect(run.code).toBe(1)
    expect(run.stderr).toMatch(/^rendezvous: [^\n]*\(CLIENT_DM_RECIPIENT_NOT_READY\)\n$/)
    // Gift wraps are signed by throwaway keys: count them all.
    expect(wrapsSent()).toBe(wrapsBefore)
  }, 60_000)
})

describe('interrupt', () => {
  it('Ctrl-C while relays are slow: the command stops, closes its client and exits 130 on its own', async () => {
    // An indexer that accepts the connection and never answers.
    const silent = await startWsHost({ onConnection: () => {}, nip11: () => null, maxPayload: 1 << 20 })
    try {
      const { child, done } = start(['relays', npubEncode('f'.repeat(64)), '--indexer', silent.url, '--timeout', '40000'])
      await waitFor(() => silent.sockets.size > 0, 20_000, 'the CLI connected')
      child.kill('SIGINT')
      const run = await done
      expect(run.signal, run.stderr).toBeNull()
      expect(run.code).toBe(130)
      expect(run.stderr).toBe('rendezvous: interrupted\n')
      expect(run.stdout).toBe('')
    } finally {
      await silent.close()
    }
  }, 60_000)
})

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}
