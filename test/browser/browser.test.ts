/**
 * The library in a real browser (Debian's Chromium, driven by playwright-core): a page loads the
 * BUILT package (`dist/`) through an import map, as a user without a bundler would, and talks to
 * real relays on 127.0.0.1. One test per capability the issue names; each checks the outcome from
 * Node (the relay's own store, the library's Node build, nostr-tools), not only what the page says.
 *
 * When Chromium is missing the suite is skipped with a printed reason, or fails when
 * `RENDEZVOUS_REQUIRE_BROWSER=1` (see `describeBrowser` in ./harness.ts). A failing test prints
 * the page's console and saves a screenshot to `test-output/browser/<test name>.png`.
 */
import { readFile } from 'node:fs/promises'
import { get } from 'node:http'
import { join } from 'node:path'
import * as toolsNip17 from 'nostr-tools/nip17'
import * as toolsNip59 from 'nostr-tools/nip59'
import { finalizeEvent as toolsFinalize, getPublicKey as toolsGetPublicKey, verifyEvent as toolsVerify } from 'nostr-tools/pure'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { NostrEvent } from '../../src/crypto/event.js'
import { generateSecretKey, getPublicKey } from '../../src/crypto/keys.js'
import { nip19 } from '../../src/crypto/index.js'
import { getPow } from '../../src/crypto/nip13.js'
import { unwrapDirectMessage, wrapDirectMessage } from '../../src/crypto/nip17.js'
import { createSecretKeySigner } from '../../src/crypto/secret-key-signer.js'
import { finalizeEvent, verifyEvent } from '../../src/crypto/signature.js'
import { seedPerson } from '../helpers/client-harness.js'
import { openRawClient, startFleet, type TestFleet, type TestRelay } from '../helpers/relay-fleet.js'
import {
  IMPORT_MAP,
  REPO_ROOT,
  describeBrowser,
  ensureDist,
  importMapOf,
  launchChromium,
  startStaticServer,
  withPage,
  type ChromiumSession,
  type StaticServer,
} from './harness.js'

/** What `window.lab` (pages/lab.js) offers, as seen from `page.evaluate`. */
interface Lab {
  newKey(): string
  publishNote(pubkey: string, relay: string, content: string): Promise<{ event: NostrEvent; accepted: number; relays: { url: string; status: string }[] }>
  subscribe(name: string, relay: string, filter: object): Promise<{ relays: { url: string; status: string }[]; before: number }>
  received(name: string): NostrEvent[]
  wrapDm(sender: string, recipient: string, content: string): Promise<{ recipient: string; self: boolean; wrap: NostrEvent }[]>
  unwrapDm(recipient: string, wrap: NostrEvent): Promise<UnwrapResult>
  minePow(pubkey: string, bits: number, content: string): Promise<{ event: NostrEvent; minedId: string; progress: { hashes: number }[]; verified: boolean }>
  idbPut(name: string, events: NostrEvent[], seenOn?: string): Promise<unknown[]>
  idbQuery(name: string, filters: object[]): Promise<{ events: NostrEvent[]; seenOn: Record<string, string[]> }>
  openQueue(name: string): boolean
  queuePublish(name: string, pubkey: string, relay: string, content: string): Promise<{ event: NostrEvent; report: QueueReport }>
  queueResume(name: string): Promise<number>
  queueReport(name: string, eventId: string): Promise<QueueReport | undefined>
  nip07Publish(indexer: string, content: string): Promise<Nip07Result>
  closeAll(): Promise<void>
}
type PageError = { name: string; code?: string; message: string; isRendezvousError: boolean }
type UnwrapResult = { ok: true; content: string; kind: number; sender: string; participants: string[] } | { ok: false; error: PageError }
type QueueReport = { state: string; accepted: number; targets: { url: string; status: string; attempts: number }[] }
type Nip07Result = { ok: true; event: NostrEvent; report: QueueReport } | { ok: false; error: PageError }
declare global {
  interface Window {
    lab: Lab
    labReady?: boolean
  }
}

const LAB_PATH = '/test/browser/pages/lab.html'

/** A GET with `node:http` (one request, one connection, closed after). */
function httpGet(url: string): Promise<{ status: number; type: string | undefined; body: string }> {
  return new Promise((resolve, reject) => {
    const request = get(url, { agent: false }, (response) => {
      let body = ''
      response.setEncoding('utf8')
      response.on('data', (chunk: string) => (body += chunk))
      response.on('end', () => resolve({ status: response.statusCode ?? 0, type: response.headers['content-type'], body }))
    })
    request.on('error', reject)
    request.setTimeout(5_000, () => request.destroy(new Error(`GET ${url} timed out`)))
  })
}

/** An event as plain JSON: nostr-tools marks the events it signs with a symbol that `toEqual` sees. */
function plain(event: object): NostrEvent {
  return JSON.parse(JSON.stringify(event)) as NostrEvent
}

// What the pages rely on, checked without a browser (so these run even where Chromium is missing).
describe('the pages and their server', () => {
  it('the lab page and the example use the documented import map', async () => {
    const lab = await readFile(join(REPO_ROOT, 'test/browser/pages/lab.html'), 'utf8')
    expect(importMapOf(lab)).toEqual(IMPORT_MAP)
    const example = await readFile(join(REPO_ROOT, 'examples/browser/index.html'), 'utf8')
    expect(importMapOf(example)).toEqual(IMPORT_MAP)
  })

  it('the static server serves files with their types, and nothing outside its directories', async () => {
    const server = await startStaticServer()
    try {
      server.addFile('/generated/page.html', '<!doctype html><p>made by a test</p>')
      const get = (path: string) => httpGet(`${server.url}${path}`)
      expect(await get('/generated/page.html')).toEqual({ status: 200, type: 'text/html; charset=utf-8', body: '<!doctype html><p>made by a test</p>' })
      expect(await get('/test/browser/pages/lab.js')).toMatchObject({ status: 200, type: 'text/javascript; charset=utf-8' })
      expect(await get('/node_modules/idb-keyval/package.json')).toMatchObject({ status: 200, type: 'application/json; charset=utf-8' })
      expect(await get('/examples/browser/')).toMatchObject({ status: 200, type: 'text/html; charset=utf-8' }) // its index.html
      for (const path of ['/package.json', '/src/index.ts', '/node_modules/', '/dist/../package.json', '/dist/%2e%2e/package.json', '/dist%2F..%2Fpackage.json', '/test/helpers/relay-fleet.ts']) {
        expect((await get(path)).status, path).toBe(404)
      }
    } finally {
      await server.close()
    }
  })
})

describeBrowser('the library in Chromium', () => {
  let server: StaticServer
  let chromium: ChromiumSession
  let fleet: TestFleet
  let relay: TestRelay

  beforeAll(async () => {
    await ensureDist()
    server = await startStaticServer()
    chromium = await launchChromium()
    fleet = await startFleet(1)
    relay = fleet.relays[0]!
  }, 300_000)

  afterAll(async () => {
    await chromium?.close()
    await server?.close()
    await fleet?.close()
  })

  /** Loads the lab page and waits for its module graph (the whole built package) to load. */
  async function openLab(page: import('playwright-core').Page): Promise<void> {
    await page.goto(`${server.url}${LAB_PATH}`)
    await page.waitForFunction(() => window.labReady === true)
  }

  /** Waits for the example page to finish and reads what it shows. */
  async function readExample(page: import('playwright-core').Page) {
    await page.waitForFunction(() => document.body.dataset.state === 'done' || document.body.dataset.state === 'error')
    return page.evaluate(() => ({
      state: document.body.dataset.state,
      status: document.getElementById('status')!.textContent ?? '',
      error: document.getElementById('error')!.textContent ?? '',
      summary: document.getElementById('summary')!.textContent ?? '',
      posts: Array.from(document.querySelectorAll<HTMLElement>('#posts article')).map((a) => ({
        id: a.dataset.id,
        text: a.querySelector('p')!.textContent,
        bold: a.querySelectorAll('b').length,
      })),
      relays: Array.from(document.querySelectorAll<HTMLTableRowElement>('#relays tr')).map((r) => ({
        url: r.dataset.relay,
        status: r.dataset.status,
        cells: Array.from(r.cells).map((c) => c.textContent ?? ''),
      })),
      missing: Array.from(document.querySelectorAll<HTMLElement>('#missing li')).map((li) => ({ pubkey: li.dataset.pubkey, text: li.textContent ?? '' })),
    }))
  }

  /** The events the relay holds for `filter`, read with a raw WebSocket from Node. */
  async function relayHolds(target: TestRelay, filter: object): Promise<NostrEvent[]> {
    const raw = await openRawClient(target.url)
    try {
      return await raw.query([filter])
    } finally {
      await raw.close()
    }
  }

  it('generates a key and publishes a kind 1 the relay then holds', () =>
    withPage(chromium, 'publishes a kind 1', async ({ page }) => {
      await openLab(page)
      const pubkey = await page.evaluate(() => window.lab.newKey())
      expect(pubkey).toMatch(/^[0-9a-f]{64}$/)
      const published = await page.evaluate(
        ([pk, url]) => window.lab.publishNote(pk, url, 'hello from Chromium'),
        [pubkey, relay.url] as const,
      )
      expect(published.relays).toEqual([{ url: relay.url, status: 'ok' }])
      expect(published.event.pubkey).toBe(pubkey)
      const held = await relayHolds(relay, { ids: [published.event.id] })
      expect(held).toEqual([published.event])
      // Signed in the page, checked by another implementation.
      expect(toolsVerify(structuredClone(held[0]!))).toBe(true)
      await page.evaluate(() => window.lab.closeAll())
    }))

  it('subscribes and receives events stored before EOSE and live after it', () =>
    withPage(chromium, 'subscribes live', async ({ page }) => {
      const sk = generateSecretKey()
      const author = getPublicKey(sk)
      const now = Math.floor(Date.now() / 1000)
      const stored = plain(toolsFinalize({ kind: 1, content: 'stored before', tags: [], created_at: now - 10 }, sk))
      await relay.storeEvents([stored])
      await openLab(page)
      const opened = await page.evaluate(
        ([url, pk]) => window.lab.subscribe('live', url, { kinds: [1], authors: [pk] }),
        [relay.url, author] as const,
      )
      expect(opened).toEqual({ relays: [{ url: relay.url, status: 'eose' }], before: 1 })

      // Stored after EOSE: the relay broadcasts it to the open subscription.
      const later = plain(toolsFinalize({ kind: 1, content: 'arrives live', tags: [], created_at: now }, sk))
      const other = finalizeEvent({ kind: 1, content: 'someone else', tags: [], created_at: now }, generateSecretKey())
      expect(await relay.storeEvents([other, later])).toEqual([{ success: true }, { success: true }])
      await page.waitForFunction((id) => window.lab.received('live').some((e) => e.id === id), later.id)
      const received = await page.evaluate(() => window.lab.received('live'))
      expect(received).toEqual([stored, later])
      await page.evaluate(() => window.lab.closeAll())
    }))

  it('gift-wraps a NIP-17 DM in the page and unwraps it there, in Node and from Node', () =>
    withPage(chromium, 'gift-wraps a DM', async ({ page }) => {
      await openLab(page)
      const [alice, bob, carol] = await page.evaluate(() => [window.lab.newKey(), window.lab.newKey(), window.lab.newKey()])

      // In the page: alice -> bob, opened by bob (and alice's own copy by alice).
      const wraps = await page.evaluate(([a, b]) => window.lab.wrapDm(a!, b!, 'hi bob, from the page'), [alice, bob])
      expect(wraps.map((w) => [w.recipient, w.self])).toEqual(
        expect.arrayContaining([
          [bob, false],
          [alice, true],
        ]),
      )
      for (const w of wraps) {
        expect(w.wrap.kind).toBe(1059)
        expect(w.wrap.pubkey).not.toBe(alice) // ephemeral wrap key
        expect(toolsVerify(structuredClone(w.wrap))).toBe(true)
      }
      const forBob = wraps.find((w) => w.recipient === bob)!.wrap
      const opened = await page.evaluate(([b, wrap]) => window.lab.unwrapDm(b, wrap), [bob!, forBob] as const)
      expect(opened).toEqual({ ok: true, content: 'hi bob, from the page', kind: 14, sender: alice, participants: [alice, bob].sort() })
      const selfCopy = wraps.find((w) => w.self)!.wrap
      expect(await page.evaluate(([a, wrap]) => window.lab.unwrapDm(a, wrap), [alice!, selfCopy] as const)).toMatchObject({ ok: true, sender: alice })
      // Not for carol: a clear library error, no content.
      const refused = await page.evaluate(([c, wrap]) => window.lab.unwrapDm(c, wrap), [carol!, forBob] as const)
      expect(refused).toMatchObject({ ok: false, error: { name: 'CryptoError', code: 'NIP59_INVALID_WRAP', isRendezvousError: true } })
      expect(JSON.stringify(refused)).not.toContain('hi bob')

      // Page -> Node: wrapped in the page for a Node key, opened by the library in Node and by nostr-tools.
      const nodeSk = generateSecretKey()
      const nodePk = getPublicKey(nodeSk)
      const toNode = await page.evaluate(([a, n]) => window.lab.wrapDm(a, n, 'hi node, from the page'), [alice!, nodePk] as const)
      const wrapForNode = toNode.find((w) => w.recipient === nodePk)!.wrap
      const inNode = await unwrapDirectMessage(wrapForNode, createSecretKeySigner(nodeSk))
      expect({ content: inNode.rumor.content, sender: inNode.sender }).toEqual({ content: 'hi node, from the page', sender: alice })
      expect(toolsNip59.unwrapEvent(structuredClone(wrapForNode), nodeSk)).toMatchObject({ content: 'hi node, from the page', pubkey: alice, kind: 14 })

      // Node -> page: wrapped by the library in Node, and by nostr-tools, opened in the page.
      const { wraps: fromNode } = await wrapDirectMessage({ signer: createSecretKeySigner(nodeSk), recipients: [alice!], content: 'hi alice, from Node' })
      const libraryWrap = fromNode.find((w) => w.recipient === alice)!.wrap
      expect(await page.evaluate(([a, wrap]) => window.lab.unwrapDm(a, wrap), [alice!, libraryWrap] as const)).toEqual({
        ok: true,
        content: 'hi alice, from Node',
        kind: 14,
        sender: nodePk,
        participants: [alice, nodePk].sort(),
      })
      const toolsWrap = toolsNip17.wrapEvent(nodeSk, { publicKey: alice! }, 'hi alice, from nostr-tools') as NostrEvent
      expect(await page.evaluate(([a, wrap]) => window.lab.unwrapDm(a, wrap), [alice!, toolsWrap] as const)).toMatchObject({
        ok: true,
        content: 'hi alice, from nostr-tools',
        sender: nodePk,
      })
    }))

  it('mines proof of work in a Web Worker with progress reports', () =>
    withPage(chromium, 'mines PoW in a worker', async ({ page }) => {
      const workers: string[] = []
      page.on('worker', (worker) => workers.push(worker.url()))
      await openLab(page)
      const pubkey = await page.evaluate(() => window.lab.newKey())
      // The worker reports after each batch of 10 000 hashes (at most every 10 ms), so a run that
      // finds a hit within its first batch has nothing to report: at 20 bits that happens about
      // once in a hundred runs. Mine again (bounded) until a run shows progress.
      const BITS = 20
      let mined: Awaited<ReturnType<Lab['minePow']>> | undefined
      for (let run = 0; run < 3; run++) {
        mined = await page.evaluate(([pk, bits, n]) => window.lab.minePow(pk, bits, `mined in a worker, run ${n}`), [pubkey, BITS, run] as const)
        checkMined(mined, pubkey, BITS)
        if (mined.progress.length > 0) break
      }
      expect(mined!.progress.length).toBeGreaterThan(0)
      const hashes = mined!.progress.map((p) => p.hashes)
      expect(hashes[0]).toBeGreaterThan(0)
      expect([...hashes].sort((a, b) => a - b)).toEqual(hashes) // cumulative counts
      // The mining ran in a Web Worker started from a Blob URL, not on the page's thread.
      expect(workers.length).toBeGreaterThan(0)
      expect(workers.every((url) => url.startsWith('blob:'))).toBe(true)
    }))

  /** Node's view of a mined event: valid by both implementations, id with the committed bits. */
  function checkMined(mined: Awaited<ReturnType<Lab['minePow']>>, pubkey: string, bits: number): void {
    const { event } = mined
    expect(mined.verified).toBe(true)
    expect(event.id).toBe(mined.minedId) // signing kept the mined id
    expect(event.pubkey).toBe(pubkey)
    expect(verifyEvent(event)).toBe(true)
    expect(toolsVerify(structuredClone(event))).toBe(true)
    expect(getPow(event.id)).toBeGreaterThanOrEqual(bits)
    const nonce = event.tags.find((t) => t[0] === 'nonce')
    expect(nonce?.[2]).toBe(String(bits))
  }

  it('keeps events in indexedDbStorage() across a page reload', () =>
    withPage(chromium, 'IndexedDB across a reload', async ({ page }) => {
      const sk = generateSecretKey()
      const now = Math.floor(Date.now() / 1000)
      const events = [0, 1, 2].map((i) => finalizeEvent({ kind: 1, content: `kept ${i}`, tags: [], created_at: now - i }, sk))
      const profile = finalizeEvent({ kind: 0, content: '{"name":"kept"}', tags: [], created_at: now }, sk)
      await openLab(page)
      const put = await page.evaluate(([all, url]) => window.lab.idbPut('reload-test', all, url), [[...events, profile], relay.url] as [NostrEvent[], string])
      expect(put).toHaveLength(4)

      await page.reload()
      await page.waitForFunction(() => window.labReady === true)
      const found = await page.evaluate(() => window.lab.idbQuery('reload-test', [{ kinds: [1] }]))
      expect(found.events).toEqual(events) // newest first, as stored
      for (const e of events) expect(found.seenOn[e.id]).toEqual([relay.url])
      const profiles = await page.evaluate((id) => window.lab.idbQuery('reload-test', [{ ids: [id] }]), profile.id)
      expect(profiles.events).toEqual([profile])
      // Another database of the same origin holds nothing: the events came from IndexedDB, by name.
      expect((await page.evaluate(() => window.lab.idbQuery('another-db', [{ kinds: [0, 1] }]))).events).toEqual([])
    }))

  it('resumes a publish left pending by a dead relay after a page reload', async () => {
    const flaky = await startFleet(1, { name: 'flaky relay' })
    const target = flaky.relays[0]!
    try {
      await withPage(chromium, 'resumes a pending publish', async ({ page }) => {
        await openLab(page)
        const pubkey = await page.evaluate(() => window.lab.newKey())
        await page.evaluate(() => window.lab.openQueue('resume-test'))
        await target.kill()
        const queued = await page.evaluate(
          ([pk, url]) => window.lab.queuePublish('resume-test', pk, url, 'sent before the reload, delivered after'),
          [pubkey, target.url] as const,
        )
        expect(queued.report.state).toBe('pending')
        expect(queued.report.targets).toEqual([{ url: target.url, status: 'pending', attempts: 1 }])

        // The tab goes away with the publish unfinished; the relay comes back while it is gone.
        await page.reload()
        await page.waitForFunction(() => window.labReady === true)
        await target.restart()
        expect(await relayHolds(target, { ids: [queued.event.id] })).toEqual([])

        await page.evaluate(() => window.lab.openQueue('resume-test'))
        const before = await page.evaluate((id) => window.lab.queueReport('resume-test', id), queued.event.id)
        expect(before).toMatchObject({ state: 'pending', targets: [{ status: 'pending', attempts: 1 }] })
        expect(await page.evaluate(() => window.lab.queueResume('resume-test'))).toBe(1)
        await page.waitForFunction(
          async (id) => (await window.lab.queueReport('resume-test', id))?.state === 'sent',
          queued.event.id,
          { polling: 50 },
        )
        expect(await page.evaluate((id) => window.lab.queueReport('resume-test', id), queued.event.id)).toEqual({
          state: 'sent',
          accepted: 1,
          targets: [{ url: target.url, status: 'ok', attempts: 2 }],
        })
        expect(await relayHolds(target, { ids: [queued.event.id] })).toEqual([queued.event])
        await page.evaluate(() => window.lab.closeAll())
      })
    } finally {
      await flaky.close()
    }
  })

  /**
   * A fake NIP-07 extension: `window.nostr` injected before the page's scripts, as an extension's
   * content script does. Like an extension, it keeps the key out of the page: signing happens in
   * Node (with nostr-tools) behind an exposed function. `refuse` makes `signEvent` reject as when
   * the user clicks "no".
   */
  function fakeExtension(secretKey: Uint8Array, refuse: boolean, calls: string[]) {
    return {
      setup: async (context: import('playwright-core').BrowserContext) => {
        await context.exposeFunction('__fakeExtension', (method: string, template?: { kind: number; content: string; tags: string[][]; created_at: number }) => {
          calls.push(method)
          if (method === 'getPublicKey') return toolsGetPublicKey(secretKey)
          if (method === 'signEvent' && !refuse) return toolsFinalize(template!, secretKey)
          return null
        })
      },
      initScripts: [
        {
          fn: (refuses: boolean) => {
            const call = (window as unknown as { __fakeExtension: (m: string, t?: unknown) => Promise<unknown> }).__fakeExtension
            ;(window as unknown as { nostr: unknown }).nostr = {
              getPublicKey: () => call('getPublicKey'),
              signEvent: async (template: unknown) => {
                const signed = await call('signEvent', template)
                if (refuses) throw new Error('User rejected the request')
                return signed
              },
            }
          },
          arg: refuse,
        },
      ],
    }
  }

  it('NIP-07: publishes an event signed by the extension', async () => {
    const user = await seedPerson(fleet, { write: [relay.url], read: [relay.url] })
    const calls: string[] = []
    await withPage(
      chromium,
      'NIP-07 signs',
      async ({ page }) => {
        await openLab(page)
        const result = await page.evaluate((url) => window.lab.nip07Publish(url, 'signed by the extension'), relay.url)
        if (!result.ok) throw new Error(`publish failed in the page: ${JSON.stringify(result.error)}`)
        expect(result.event.pubkey).toBe(user.pubkey)
        expect(result.report).toMatchObject({ accepted: 1, targets: [{ url: relay.url, status: 'ok' }] })
        expect(calls).toContain('signEvent')
        expect(await relayHolds(relay, { ids: [result.event.id] })).toEqual([result.event])
      },
      fakeExtension(user.secretKey, false, calls),
    )
  })

  it('NIP-07: a user who refuses to sign gets SIGNER_REJECTED and nothing is sent', async () => {
    const user = await seedPerson(fleet, { write: [relay.url], read: [relay.url] })
    const calls: string[] = []
    const eventsBefore = relay.messagesOfType('EVENT').length
    await withPage(
      chromium,
      'NIP-07 refused',
      async ({ page }) => {
        await openLab(page)
        const result = await page.evaluate((url) => window.lab.nip07Publish(url, 'never signed'), relay.url)
        expect(result).toMatchObject({ ok: false, error: { name: 'CryptoError', code: 'SIGNER_REJECTED', isRendezvousError: true } })
        expect(calls).toContain('signEvent') // the extension was asked, and said no
      },
      fakeExtension(user.secretKey, true, calls),
    )
    // Bounded settle: nothing may arrive late either.
    await new Promise((resolve) => setTimeout(resolve, 200))
    const sent = relay.messagesOfType('EVENT').slice(eventsBefore)
    expect(sent.filter((m) => (m[1] as NostrEvent).pubkey === user.pubkey)).toEqual([])
    expect(JSON.stringify(sent)).not.toContain('never signed')
  })

  it('the browser example reads a feed from local relays and shows the per-relay report', async () => {
    // Relay 0 is the indexer; bob writes to 1; carol writes to 2 and to 3, which is down.
    const net = await startFleet(4, (i) => ({ name: `example relay ${i}` }))
    const [indexer, one, two, dead] = net.relays as [TestRelay, TestRelay, TestRelay, TestRelay]
    try {
      const bob = await seedPerson(net, { write: [one.url], read: [one.url] })
      const carol = await seedPerson(net, { write: [two.url, dead.url], read: [two.url] })
      const reader = await seedPerson(net, { write: [indexer.url], read: [indexer.url] })
      const now = Math.floor(Date.now() / 1000)
      const bobPost = finalizeEvent({ kind: 1, content: 'bob posts on relay one <b>not bold</b>', tags: [], created_at: now - 30 }, bob.secretKey)
      const carolPost = finalizeEvent({ kind: 1, content: 'carol posts on relay two', tags: [], created_at: now - 20 }, carol.secretKey)
      await one.storeEvents([bobPost])
      await two.storeEvents([carolPost])
      const follows = finalizeEvent({ kind: 3, content: '', tags: [['p', bob.pubkey], ['p', carol.pubkey]], created_at: now - 100 }, reader.secretKey)
      await indexer.storeEvents([follows])
      await dead.kill()
      const query = new URLSearchParams({ npub: nip19.npubEncode(reader.pubkey), indexer: indexer.url, allowPrivate: '1' })

      await withPage(chromium, 'browser example', async ({ page }) => {
        await page.goto(`${server.url}/examples/browser/index.html?${query}`)
        const shown = await readExample(page)
        expect(shown.state).toBe('done')
        expect(shown.status).toMatch(/follows 2 people/)
        // Newest first; network text shown as text, never as markup.
        expect(shown.posts).toEqual([
          { id: carolPost.id, text: carolPost.content, bold: 0 },
          { id: bobPost.id, text: bobPost.content, bold: 0 },
        ])
        // The per-relay report: each live outbox answered with its one post; the dead relay is
        // never shown as answering, and carol is flagged as possibly missing posts.
        const row = (url: string) => shown.relays.find((r) => r.url === url)
        expect(row(one.url)).toEqual({ url: one.url, status: 'eose', cells: [one.url, 'eose', '1 author', '1'] })
        expect(row(two.url)).toEqual({ url: two.url, status: 'eose', cells: [two.url, 'eose', '1 author', '1'] })
        expect(row(dead.url)?.status).not.toBe('eose')
        expect(shown.missing).toHaveLength(1)
        expect(shown.missing[0]!.pubkey).toBe(carol.pubkey)
        expect(['unhealthy', 'fewer-relays']).toContain(shown.missing[0]!.text.split(': ').pop())
        expect(shown.summary).toMatch(/^2 posts from \d+ relays/)

        // Without allowPrivate=1 (the default), relays named in other people's lists on 127.0.0.1
        // are refused, and the report says so.
        const strict = new URLSearchParams({ npub: nip19.npubEncode(reader.pubkey), indexer: indexer.url })
        await page.goto(`${server.url}/examples/browser/index.html?${strict}`)
        const refused = await readExample(page)
        expect(refused.state).toBe('done')
        expect(refused.posts).toEqual([])
        expect(refused.relays.length).toBeGreaterThan(0)
        for (const r of refused.relays) expect(r.cells[1]).toBe('refused (private-address)')
      })
    } finally {
      await net.close()
    }
  })
})
