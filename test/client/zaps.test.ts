/**
 * Zaps on the wire: local relays and a local HTTP server playing the LNURL side. A zap finds the
 * recipient's lightning address in their profile, fetches the pay endpoint, signs a zap request
 * naming the recipient's and the user's inboxes, and checks the invoice before handing it over;
 * the server "pays" by publishing a receipt to those relays; `receipts()` finds and validates it
 * against the server's key. Every misbehaviour of the server (wrong key, amount, hash, no
 * allowsNostr, an error status, a huge or slow answer, a redirect, plain http) ends in a stable
 * code, and nothing is signed or sent that should not be.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { getZapEndpoint, useFetchImplementation } from 'nostr-tools/nip57'
import { decodeBolt11 } from '../../src/crypto/bolt11.js'
import type { NostrEvent } from '../../src/crypto/event.js'
import { generateSecretKey } from '../../src/crypto/keys.js'
import { naddrEncode, neventEncode, noteEncode, npubEncode } from '../../src/crypto/nip19.js'
import { encodeLnurl } from '../../src/crypto/nip57.js'
import { lnurlPayUrl } from '../../src/client/lnurl.js'
import { finalizeEvent } from '../../src/crypto/signature.js'
import { isRendezvousError } from '../../src/errors.js'
import { tryNormalizeRelayUrl } from '../../src/relay-pool/url.js'
import { seedPerson, testClient, type SeededPerson } from '../helpers/client-harness.js'
import { startLnurlServer, type LnurlServer } from '../helpers/lnurl-server.js'
import { startFleet, within, type TestFleet } from '../helpers/relay-fleet.js'

let fleet: TestFleet
let lnurl: LnurlServer
let bob: SeededPerson
const now = (): number => Math.floor(Date.now() / 1000)
const url = (i: number): string => tryNormalizeRelayUrl(fleet.urls[i])!
const PAY_URL = 'https://zaps.test/.well-known/lnurlp/alice'

async function store(relay: number, ...events: NostrEvent[]): Promise<void> {
  const results = await fleet.relays[relay]!.storeEvents(events)
  expect(results.every((r) => r.success)).toBe(true)
}

/** A fresh recipient (outbox 1, inbox 2) whose profile names a lightning address of the server. */
async function recipient(profile: Record<string, unknown> = { name: 'carol', lud16: 'alice@zaps.test' }): Promise<SeededPerson & { kind0: NostrEvent }> {
  const person = await seedPerson(fleet, { write: [fleet.urls[1]!], read: [fleet.urls[2]!] })
  const kind0 = finalizeEvent({ kind: 0, content: JSON.stringify(profile), tags: [], created_at: now() - 30 }, person.secretKey)
  await store(0, kind0)
  await store(1, kind0)
  return { ...person, kind0 }
}

/** A note by `person`, stored on their outbox. */
async function noteBy(person: SeededPerson, content = 'a post worth zapping'): Promise<NostrEvent> {
  const note = finalizeEvent({ kind: 1, content, tags: [], created_at: now() - 20 }, person.secretKey)
  await store(1, note)
  return note
}

function client(options: { readOnly?: boolean } = {}) {
  return testClient({
    ...(options.readOnly === true ? { pubkey: bob.pubkey } : { signer: bob.signer }),
    indexerRelays: [fleet.urls[0]!],
    fetch: lnurl.fetch,
  })
}

async function rejection(promise: Promise<unknown>): Promise<{ code: string; details: string | undefined }> {
  try {
    await promise
  } catch (error) {
    if (!isRendezvousError(error)) throw error
    return { code: error.code, details: error.details }
  }
  throw new Error('expected a rejection')
}

const callbacks = (): string[] => lnurl.hits.filter((hit) => hit.includes('/callback'))

beforeAll(async () => {
  // 0: indexer; 1: recipients' outbox; 2: recipients' inbox; 3: bob's relay; 4: named only in zap requests.
  fleet = await startFleet(5)
  lnurl = await startLnurlServer({ users: ['alice'] })
  bob = await seedPerson(fleet, { write: [fleet.urls[3]!], read: [fleet.urls[3]!] })
}, 60_000)

afterEach(() => {
  lnurl.reset()
})

afterAll(async () => {
  await lnurl?.close()
  await fleet?.close()
})

describe('zapping and reading zaps', () => {
  it('zaps a note and a person; the receipts appear where the zap requests said, validate, and add up', async () => {
    const carol = await recipient()
    const note = await noteBy(carol)
    const c = client()
    try {
      const zap = await c.zaps.zap(neventEncode({ id: note.id, author: carol.pubkey }), 21_000, { comment: 'great post' })
      expect(zap.recipient).toBe(carol.pubkey)
      expect(zap.amountMsats).toBe(21_000)
      expect(zap.lnurl).toBe(encodeLnurl(PAY_URL))
      expect(zap.relays).toEqual([url(2), url(3)])
      expect(zap.zapRequest.kind).toBe(9734)
      expect(zap.zapRequest.pubkey).toBe(bob.pubkey)
      expect(zap.zapRequest.content).toBe('great post')
      expect(zap.zapRequest.tags).toEqual([
        ['relays', url(2), url(3)],
        ['amount', '21000'],
        ['lnurl', encodeLnurl(PAY_URL)],
        ['p', carol.pubkey],
        ['e', note.id],
        ['k', '1'],
      ])
      // The invoice is the one the server issued for exactly this zap request.
      const decoded = decodeBolt11(zap.invoice)
      expect(decoded.amountMsats).toBe(21_000n)
      expect(lnurl.invoices.at(-1)?.invoice).toBe(zap.invoice)
      expect(lnurl.invoices.at(-1)?.zapRequest).toBe(JSON.stringify(zap.zapRequest))
      expect(callbacks()).toHaveLength(1)
      expect(callbacks()[0]).toContain(`lnurl=${zap.lnurl}`)

      const receipt = await lnurl.pay(zap.invoice)
      const onNote = await c.zaps.receipts(note)
      expect(onNote.invalid).toEqual([])
      expect(onNote.nostrPubkey).toBe(lnurl.nostrPubkey)
      expect(onNote.zaps).toHaveLength(1)
      expect(onNote.zaps[0]).toMatchObject({ amountMsats: 21_000, sender: bob.pubkey, recipient: carol.pubkey, comment: 'great post', eventId: note.id })
      expect(onNote.zaps[0]!.receipt.id).toBe(receipt.id)
      expect(onNote.totalMsats).toBe(21_000)

      // A zap to the person, then every zap to them (the note's included).
      const zap2 = await c.zaps.zap(npubEncode(carol.pubkey), 5_000)
      expect(zap2.zapRequest.tags.filter((t) => t[0] === 'e')).toEqual([])
      await lnurl.pay(zap2.invoice)
      const toCarol = await c.zaps.receipts(carol.pubkey)
      expect(toCarol.invalid).toEqual([])
      expect(toCarol.zaps.map((z) => z.amountMsats).sort((a, b) => a - b)).toEqual([5_000, 21_000])
      expect(toCarol.totalMsats).toBe(26_000)
      // The note's count does not take the profile zap.
      expect((await c.zaps.receipts(noteEncode(note.id), { relays: [fleet.urls[2]!] })).totalMsats).toBe(21_000)
    } finally {
      await c.close()
    }
  })

  it('resolves the pay endpoint as nostr-tools does (getZapEndpoint), from lud16 and from lud06', async () => {
    const carol = await recipient()
    const dave = await recipient({ name: 'dave', lud06: encodeLnurl(PAY_URL) })
    const c = client()
    try {
      useFetchImplementation(lnurl.fetch)
      for (const person of [carol, dave]) {
        const ours = await c.zaps.payEndpoint(person.pubkey)
        expect(ours).toMatchObject({ url: PAY_URL, allowsNostr: true, nostrPubkey: lnurl.nostrPubkey, minSendable: 1000 })
        expect(await getZapEndpoint(person.kind0 as Parameters<typeof getZapEndpoint>[0])).toBe(ours.callback)
      }
      // A zap through lud06 works the same.
      const zap = await c.zaps.zap(dave.pubkey, 3_000)
      expect(zap.lnurl).toBe(encodeLnurl(PAY_URL))
    } finally {
      useFetchImplementation(globalThis.fetch)
      await c.close()
    }
  })

  it('zaps an addressable event by naddr (a and k tags) and reads its receipts by coordinate', async () => {
    const carol = await recipient()
    const article = finalizeEvent({ kind: 30023, content: 'long read', tags: [['d', 'slug']], created_at: now() - 10 }, carol.secretKey)
    await store(1, article)
    const c = client()
    try {
      const naddr = naddrEncode({ identifier: 'slug', pubkey: carol.pubkey, kind: 30023, relays: [fleet.urls[1]!] })
      const zap = await c.zaps.zap(naddr, 2_000)
      expect(zap.zapRequest.tags).toContainEqual(['a', `30023:${carol.pubkey}:slug`])
      expect(zap.zapRequest.tags).toContainEqual(['k', '30023'])
      await lnurl.pay(zap.invoice)
      const result = await c.zaps.receipts(naddr)
      expect(result.zaps.map((z) => z.address)).toEqual([`30023:${carol.pubkey}:slug`])
      expect(result.totalMsats).toBe(2_000)
    } finally {
      await c.close()
    }
  })

  it('asks, in a second round, the relays the zap requests found name', async () => {
    const carol = await recipient()
    const c = client()
    try {
      const first = await c.zaps.zap(carol.pubkey, 1_000, { relays: [fleet.urls[2]!, fleet.urls[4]!] })
      await lnurl.pay(first.invoice)
      // This one's receipt goes only to relay 4, which is nobody's inbox.
      const second = await c.zaps.zap(carol.pubkey, 2_000, { relays: [fleet.urls[4]!] })
      expect(second.relays).toEqual([url(4)])
      await lnurl.pay(second.invoice)
      const result = await c.zaps.receipts(carol.pubkey)
      expect(result.totalMsats).toBe(3_000)
      expect(result.relays.filter((r) => r.round === 2).map((r) => r.url)).toEqual([url(4)])
      // Marked read: false, relay 4 is not asked again, and the zap found only there is not seen.
      await c.relays.configure(fleet.urls[4]!, { read: false })
      const reqsBefore = fleet.relays[4]!.messagesOfType('REQ').length
      const again = await c.zaps.receipts(carol.pubkey)
      expect(again.totalMsats).toBe(1_000)
      expect(again.relays.map((r) => r.url)).not.toContain(url(4))
      expect(fleet.relays[4]!.messagesOfType('REQ').length).toBe(reqsBefore)
    } finally {
      await c.close()
    }
  })

  it('counts one receipt per invoice', async () => {
    const carol = await recipient()
    const c = client()
    try {
      const zap = await c.zaps.zap(carol.pubkey, 7_000)
      await lnurl.pay(zap.invoice, { paidAt: now() - 5 })
      await lnurl.pay(zap.invoice, { paidAt: now() - 1 })
      const result = await c.zaps.receipts(carol.pubkey)
      expect(result.totalMsats).toBe(7_000)
      expect(result.invalid.map((i) => i.problems.map((p) => p.code))).toEqual([['duplicate-receipt']])
    } finally {
      await c.close()
    }
  })

  it('keeps the total an exact number: a receipt that would push it past Number.MAX_SAFE_INTEGER is not counted', async () => {
    // 50 000 BTC each: nothing checks that a receipt was really paid, so an LNURL server may claim anything.
    lnurl.set({ maxSendable: 9_000_000_000_000_000 })
    const carol = await recipient()
    const c = client()
    try {
      const huge = 5_000_000_000_000_000
      await lnurl.pay((await c.zaps.zap(carol.pubkey, huge)).invoice, { paidAt: now() - 5 })
      await lnurl.pay((await c.zaps.zap(carol.pubkey, huge)).invoice, { paidAt: now() - 1 })
      const result = await c.zaps.receipts(carol.pubkey)
      expect(Number.isSafeInteger(result.totalMsats)).toBe(true)
      expect(result.totalMsats).toBe(huge)
      expect(result.zaps.map((z) => z.amountMsats)).toEqual([huge])
      expect(result.invalid.map((i) => i.problems.map((p) => p.code))).toEqual([['bad-amount']])
    } finally {
      await c.close()
    }
  })

  it('a read-only client reads zaps but cannot zap', async () => {
    const carol = await recipient()
    const signing = client()
    const reading = client({ readOnly: true })
    try {
      await lnurl.pay((await signing.zaps.zap(carol.pubkey, 1_000)).invoice)
      expect((await reading.zaps.receipts(carol.pubkey)).totalMsats).toBe(1_000)
      expect((await rejection(reading.zaps.zap(carol.pubkey, 1_000))).code).toBe('CLIENT_NO_SIGNER')
    } finally {
      await signing.close()
      await reading.close()
    }
  })
})

describe('receipts that do not validate', () => {
  /** Zaps carol once properly, then once more paid with `tamper`; returns the receipts read. */
  async function tamperedReceipts(tamper: Parameters<LnurlServer['pay']>[1]) {
    const carol = await recipient()
    const c = client()
    try {
      await lnurl.pay((await c.zaps.zap(carol.pubkey, 10_000)).invoice)
      await lnurl.pay((await c.zaps.zap(carol.pubkey, 20_000)).invoice, tamper)
      return await c.zaps.receipts(carol.pubkey)
    } finally {
      await c.close()
    }
  }

  it('rejects a receipt signed by another key than the LNURL server', async () => {
    const result = await tamperedReceipts({ signWith: generateSecretKey() })
    expect(result.totalMsats).toBe(10_000)
    expect(result.invalid.map((i) => i.problems.map((p) => p.code))).toEqual([['wrong-signer']])
  })

  it('rejects a receipt whose invoice amount is not the zap request amount', async () => {
    const result = await tamperedReceipts({ receiptAmountDeltaMsats: 1_000_000 })
    expect(result.totalMsats).toBe(10_000)
    expect(result.invalid.map((i) => i.problems.map((p) => p.code))).toEqual([['amount-mismatch']])
  })

  it('rejects a receipt whose invoice does not commit to the zap request (description hash)', async () => {
    const result = await tamperedReceipts({ receiptWrongHash: true })
    expect(result.totalMsats).toBe(10_000)
    expect(result.invalid.map((i) => i.problems.map((p) => p.code))).toEqual([['description-hash-mismatch']])
  })
})

describe('LNURL servers that misbehave', () => {
  it('refuses an invoice for another amount or another description, before anyone pays it', async () => {
    const carol = await recipient()
    const c = client()
    try {
      lnurl.set({ invoiceAmountDeltaMsats: 1_000 })
      const amount = await rejection(c.zaps.zap(carol.pubkey, 21_000))
      expect(amount.code).toBe('LNURL_INVOICE_MISMATCH')
      expect(amount.details).toMatch(/21000/)
      lnurl.set({ invoiceAmountDeltaMsats: 0, wrongDescriptionHash: true })
      expect((await rejection(c.zaps.zap(carol.pubkey, 21_000))).code).toBe('LNURL_INVOICE_MISMATCH')
    } finally {
      await c.close()
    }
  })

  it('refuses a server without allowsNostr (or with a bad nostrPubkey) before signing anything', async () => {
    const carol = await recipient()
    const c = client()
    try {
      lnurl.set({ allowsNostr: false })
      expect((await rejection(c.zaps.zap(carol.pubkey, 1_000))).code).toBe('LNURL_NOSTR_UNSUPPORTED')
      expect((await rejection(c.zaps.receipts(carol.pubkey))).code).toBe('LNURL_NOSTR_UNSUPPORTED')
      lnurl.set({ allowsNostr: true, nostrPubkey: 'not-a-key' })
      // The endpoint is cached for ten minutes: a fresh client asks again.
      const fresh = client()
      try {
        expect((await rejection(fresh.zaps.zap(carol.pubkey, 1_000))).code).toBe('LNURL_NOSTR_UNSUPPORTED')
      } finally {
        await fresh.close()
      }
      expect(callbacks()).toEqual([])
    } finally {
      await c.close()
    }
  })

  it('surfaces status ERROR from the pay endpoint and from the callback, with the reason', async () => {
    const carol = await recipient()
    const c = client()
    try {
      lnurl.set({ payError: 'user disabled' })
      const pay = await rejection(c.zaps.zap(carol.pubkey, 1_000))
      expect(pay.code).toBe('LNURL_ERROR_STATUS')
      expect(pay.details).toContain('user disabled')
      lnurl.set({ payError: undefined, callbackError: 'node offline' })
      const fresh = client()
      try {
        const callback = await rejection(fresh.zaps.zap(carol.pubkey, 1_000))
        expect(callback.code).toBe('LNURL_ERROR_STATUS')
        expect(callback.details).toContain('node offline')
      } finally {
        await fresh.close()
      }
    } finally {
      await c.close()
    }
  })

  it('stops reading an oversized answer', async () => {
    const carol = await recipient()
    for (const where of ['pay', 'callback'] as const) {
      lnurl.set({ hugeBody: where })
      const c = client()
      try {
        expect((await rejection(c.zaps.zap(carol.pubkey, 1_000))).code).toBe('LNURL_RESPONSE_TOO_LARGE')
      } finally {
        await c.close()
      }
    }
  })

  it('gives up on a slow server after timeoutMs, and on an abort at once', async () => {
    const carol = await recipient()
    const c = client()
    try {
      lnurl.set({ delayMs: 5_000 })
      const started = Date.now()
      expect((await rejection(within(c.zaps.zap(carol.pubkey, 1_000, { timeoutMs: 300 }), 4_000))).code).toBe('LNURL_TIMEOUT')
      expect(Date.now() - started).toBeLessThan(3_000)
      const controller = new AbortController()
      const pending = c.zaps.zap(carol.pubkey, 1_000, { signal: controller.signal })
      setTimeout(() => controller.abort(), 300)
      expect((await rejection(within(pending, 4_000))).code).toBe('CLIENT_ABORTED')
    } finally {
      await c.close()
    }
  })

  it('takes a maxSendable too large for a safe integer as "no practical limit", and refuses negative or fractional bounds', async () => {
    const carol = await recipient()
    lnurl.set({ maxSendable: 1e19 })
    const c = client()
    try {
      expect((await c.zaps.payEndpoint(carol.pubkey)).maxSendable).toBe(Number.MAX_SAFE_INTEGER)
      expect((await c.zaps.zap(carol.pubkey, 2_000)).decoded.amountMsats).toBe(2_000n)
    } finally {
      await c.close()
    }
    for (const bounds of [{ minSendable: -1000 }, { maxSendable: -5 }, { minSendable: 1000.5 }]) {
      lnurl.set({ maxSendable: 100_000_000_000, minSendable: 1000, ...bounds })
      const fresh = client()
      try {
        expect((await rejection(fresh.zaps.payEndpoint(carol.pubkey))).code).toBe('LNURL_INVALID_RESPONSE')
      } finally {
        await fresh.close()
      }
    }
  })

  it('adds its parameters to a callback that ends in a bare "?" or carries a query and a fragment', async () => {
    const carol = await recipient()
    for (const callback of [`${lnurl.origin}/lnurlp/alice/callback?`, `${lnurl.origin}/lnurlp/alice/callback?k=1#frag`]) {
      lnurl.set({ callbackUrl: callback })
      const c = client()
      try {
        const zap = await c.zaps.zap(carol.pubkey, 3_000)
        expect(zap.decoded.amountMsats).toBe(3_000n)
      } finally {
        await c.close()
      }
    }
    expect(callbacks().map((hit) => hit.split('?')[1]!.split('&')[0])).toEqual(['amount=3000', 'k=1'])
  })

  it('keeps to https: an http lnurl, an http callback and a redirect are refused', async () => {
    const overHttp = await recipient({ name: 'eve', lud06: encodeLnurl(`${lnurl.localOrigin}/.well-known/lnurlp/alice`) })
    const carol = await recipient()
    const c = client()
    try {
      expect((await rejection(c.zaps.zap(overHttp.pubkey, 1_000))).code).toBe('LNURL_INVALID_ADDRESS')
      expect(lnurl.hits).toEqual([])
      lnurl.set({ callbackUrl: `${lnurl.localOrigin}/lnurlp/alice/callback` })
      expect((await rejection(c.zaps.zap(carol.pubkey, 1_000))).code).toBe('LNURL_INVALID_RESPONSE')
      lnurl.set({ callbackUrl: undefined, redirectTo: `${lnurl.origin}/.well-known/lnurlp/alice` })
      const fresh = client()
      try {
        expect((await rejection(fresh.zaps.zap(carol.pubkey, 1_000))).code).toBe('LNURL_UNREACHABLE')
      } finally {
        await fresh.close()
      }
      expect(callbacks()).toEqual([])
    } finally {
      await c.close()
    }
  })

  it('refuses a recipient without a lightning address, an amount out of range, an unknown event', async () => {
    const nobody = await recipient({ name: 'no wallet' })
    const carol = await recipient()
    const c = client()
    try {
      expect((await rejection(c.zaps.zap(nobody.pubkey, 1_000))).code).toBe('CLIENT_NO_LIGHTNING_ADDRESS')
      const range = await rejection(c.zaps.zap(carol.pubkey, 500))
      expect(range.code).toBe('LNURL_AMOUNT_OUT_OF_RANGE')
      expect(range.details).toBe('1000..100000000000 msats')
      // A bare note id of an event no relay asked has: nobody to zap.
      const hidden = await noteBy(carol, 'only on the outbox')
      expect((await rejection(c.zaps.zap(noteEncode(hidden.id), 1_000))).code).toBe('CLIENT_ZAP_TARGET_NOT_FOUND')
      // The same id with a hint to where it is: found, and its author zapped.
      const zap = await c.zaps.zap(neventEncode({ id: hidden.id, relays: [fleet.urls[1]!] }), 1_000)
      expect(zap.recipient).toBe(carol.pubkey)
      expect(callbacks()).toHaveLength(1)
      await expect(c.zaps.zap(carol.pubkey, 0)).rejects.toThrow(RangeError)
      await expect(c.zaps.zap('not a person', 1_000)).rejects.toThrow(TypeError)
    } finally {
      await c.close()
    }
  })
})

describe('lnurlPayUrl (LUD-16, LUD-06)', () => {
  it('maps an address to its well-known URL, an lnurl to the URL it holds, and keeps to https', () => {
    expect(lnurlPayUrl('Alice@Example.com')).toEqual({ url: 'https://example.com/.well-known/lnurlp/alice', address: 'alice@example.com' })
    expect(lnurlPayUrl('bob+tips@pay.example.org').url).toBe('https://pay.example.org/.well-known/lnurlp/bob+tips')
    // LUD-16: an onion domain is reached over http (through a proxy that reaches it).
    expect(lnurlPayUrl('carol@abcdefghijklmnop.onion').url).toBe('http://abcdefghijklmnop.onion/.well-known/lnurlp/carol')
    expect(lnurlPayUrl(`lightning:${encodeLnurl(PAY_URL).toUpperCase()}`)).toEqual({ url: PAY_URL, address: undefined })
    expect(lnurlPayUrl(PAY_URL).url).toBe(PAY_URL)
    for (const bad of ['alice', 'alice@', '@example.com', 'al ice@example.com', 'alice@exa mple.com', 'http://example.com/x', encodeLnurl('http://example.com/x'), 'lnurl1qqqq', 'https://user:pw@example.com/x']) {
      let code: string | undefined
      try {
        lnurlPayUrl(bad)
      } catch (error) {
        code = isRendezvousError(error) ? error.code : 'other'
      }
      expect({ bad, code }).toEqual({ bad, code: 'LNURL_INVALID_ADDRESS' })
    }
  })
})
