import { describe, expect, it } from 'vitest'
import { finalizeEvent, generateSecretKey, verifyEvents, type NostrEvent } from '../../src/crypto/index.js'
import { EventIntake, type IntakeVerdict } from '../../src/relay-pool/intake.js'
import type { EventVerifier, VerifierStats, VerifyHint } from '../../src/relay-pool/verifier.js'
import { withBadSignature, withForgedContent } from '../helpers/scripted-relay.js'

const sk = generateSecretKey()
const event = (content: string): NostrEvent => finalizeEvent({ kind: 1, content, created_at: 1_700_000_000 }, sk)

/** An intake whose verifier records every batch it is handed. */
function spiedIntake(): { intake: EventIntake; batches: NostrEvent[][] } {
  const batches: NostrEvent[][] = []
  const intake = new EventIntake({
    verifiedCacheSize: 100,
    maxPending: 10,
    verify: (events) => {
      batches.push([...events])
      return verifyEvents(events)
    },
  })
  return { intake, batches }
}

type Result = [IntakeVerdict, boolean]

function submit(intake: EventIntake, events: readonly NostrEvent[], source?: string): Promise<Result[]> {
  return Promise.all(events.map((e) => new Promise<Result>((resolve) => intake.submit(e, (v, first) => resolve([v, first]), source))))
}

/**
 * A verifier that holds each batch until the test releases it (in any order), checking it for
 * real; it records batches with their hints.
 */
function manualVerifier(): EventVerifier & {
  batches: Array<{ events: readonly NostrEvent[]; hint: VerifyHint | undefined; release: () => void }>
} {
  const batches: Array<{ events: readonly NostrEvent[]; hint: VerifyHint | undefined; release: () => void }> = []
  return {
    batches,
    verify(events, hint) {
      return new Promise<boolean[]>((resolve) => batches.push({ events, hint, release: () => resolve(verifyEvents(events)) }))
    },
    stats: () => ({}) as VerifierStats,
    close: async () => undefined,
  }
}

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve))

describe('EventIntake', () => {
  it('batches the copies of one turn and never re-verifies a known id', async () => {
    const { intake, batches } = spiedIntake()
    const a = event('a')
    const b = event('b')
    expect(await submit(intake, [a, b, a])).toEqual([
      ['valid', true],
      ['valid', true],
      ['valid', false],
    ])
    // The second copy of `a` waited for the first one's verdict instead of being checked again.
    expect(batches.map((batch) => batch.length)).toEqual([2])
    // Later copies of verified ids cost no signature check at all.
    expect(await submit(intake, [{ ...a }, { ...b }])).toEqual([
      ['valid', false],
      ['valid', false],
    ])
    expect(batches).toHaveLength(1)
    expect(intake.isKnownValid(a.id)).toBe(true)
    expect(intake.stats()).toMatchObject({ verified: 2, joinedInFlight: 1, matchedKnown: 2, rehashed: 0 })
  })

  it('judges each copy on its own: a bad copy first does not poison the good one', async () => {
    const { intake } = spiedIntake()
    const good = event('good')
    expect(await submit(intake, [withBadSignature(good), good, withForgedContent(good)])).toEqual([
      ['invalid', false],
      ['valid', true],
      ['invalid', false],
    ])
    // A forged copy of a known id is caught by comparison and the id hash, without a signature check.
    expect(await submit(intake, [withForgedContent(good)])).toEqual([['invalid', false]])
    expect(intake.stats().rehashed).toBe(1)
  })

  it('refuses copies beyond maxPending as overflow instead of queueing without bound', async () => {
    const { intake } = spiedIntake()
    const many = Array.from({ length: 12 }, (_, i) => event(`n${i}`))
    const verdicts = await submit(intake, many)
    expect(verdicts.filter(([v]) => v === 'overflow')).toHaveLength(2)
    expect(verdicts.filter(([v]) => v === 'valid')).toHaveLength(10)
  })

  it('a verifier that throws marks the batch invalid instead of throwing', async () => {
    const intake = new EventIntake({ verifiedCacheSize: 10, maxPending: 10, verify: () => { throw new Error('boom') } })
    expect(await submit(intake, [event('x')])).toEqual([['invalid', false]])
  })

  it('an event arriving from three relays while its first copy is still being verified is verified once', async () => {
    const verifier = manualVerifier()
    const intake = new EventIntake({ verifiedCacheSize: 100, maxPending: 100, verifier })
    const e = event('three relays')
    const results = [
      submit(intake, [e], 'wss://one'),
      submit(intake, [JSON.parse(JSON.stringify(e)) as NostrEvent], 'wss://two'),
    ]
    await tick()
    results.push(submit(intake, [JSON.parse(JSON.stringify(e)) as NostrEvent], 'wss://three'))
    await tick()
    expect(verifier.batches.map((b) => b.events.length)).toEqual([1])
    verifier.batches[0]!.release()
    expect((await Promise.all(results)).flat()).toEqual([
      ['valid', true],
      ['valid', false],
      ['valid', false],
    ])
    expect(intake.stats()).toMatchObject({ verified: 1, joinedInFlight: 2 })
  })

  it('calls back in submission order whatever order the batches finish in', async () => {
    const verifier = manualVerifier()
    const intake = new EventIntake({ verifiedCacheSize: 100, maxPending: 100, verifier })
    const order: string[] = []
    const first = [event('1'), event('2')]
    const second = [event('3'), withBadSignature(event('4'))]
    for (const e of first) intake.submit(e, (v) => order.push(`${e.content}:${v}`))
    await tick()
    for (const e of second) intake.submit(e, (v) => order.push(`${e.content}:${v}`))
    await tick()
    expect(verifier.batches).toHaveLength(2)
    verifier.batches[1]!.release()
    await tick()
    expect(order).toEqual([])
    verifier.batches[0]!.release()
    await tick()
    expect(order).toEqual(['1:valid', '2:valid', '3:valid', '4:invalid'])
  })

  it('a copy with the id and signature of one in flight but other content is judged alone', async () => {
    const verifier = manualVerifier()
    const intake = new EventIntake({ verifiedCacheSize: 100, maxPending: 100, verifier })
    const e = event('original')
    const results = submit(intake, [e, withForgedContent(e)])
    await tick()
    // The forged copy never reached the verifier: its id hash gave it away.
    expect(verifier.batches.map((b) => b.events)).toEqual([[e]])
    verifier.batches[0]!.release()
    expect(await results).toEqual([
      ['valid', true],
      ['invalid', false],
    ])
  })

  it('two valid signatures of one id are each verified; only the first is the first verification', async () => {
    const { intake, batches } = spiedIntake()
    const e = event('signed twice')
    // BIP-340 signing takes fresh randomness: signing the same id again gives another valid signature.
    const twin = finalizeEvent({ kind: 1, content: 'signed twice', created_at: 1_700_000_000 }, sk)
    expect(twin.id).toBe(e.id)
    expect(twin.sig).not.toBe(e.sig)
    expect(await submit(intake, [e, twin])).toEqual([
      ['valid', true],
      ['valid', false],
    ])
    expect(batches.map((b) => b.length)).toEqual([2])
  })

  it('a relay that sent a forgery has its next copies checked one by one, apart from other relays', async () => {
    const verifier = manualVerifier()
    const intake = new EventIntake({ verifiedCacheSize: 1000, maxPending: 1000, verifier })
    const bad = withBadSignature(event('forged'))
    const round1 = submit(intake, [event('a1'), bad], 'wss://bad')
    const round1b = submit(intake, [event('b1')], 'wss://good')
    await tick()
    // Everyone's copies share one batch until a relay is caught forging.
    expect(verifier.batches.map((b) => [b.events.length, b.hint])).toEqual([[3, { key: '' }]])
    verifier.batches[0]!.release()
    expect(await round1).toEqual([
      ['valid', true],
      ['invalid', false],
    ])
    await round1b
    const round2 = submit(intake, [event('a2'), event('a3')], 'wss://bad')
    const round2b = submit(intake, [event('b2')], 'wss://good')
    await tick()
    expect(verifier.batches.slice(1).map((b) => [b.events.map((e) => e.content), b.hint])).toEqual([
      [['b2'], { key: '' }],
      [['a2', 'a3'], { key: 'wss://bad', single: true }],
    ])
    for (const b of verifier.batches.slice(1)) b.release()
    await Promise.all([round2, round2b])
    expect(intake.stats().suspectChecks).toBe(2)
    // An unknown source is never made suspect (it would send everyone's copies one by one).
    const round3 = submit(intake, [withBadSignature(event('anon'))])
    await tick()
    verifier.batches.at(-1)!.release()
    await round3
    const round4 = submit(intake, [event('anon2')])
    await tick()
    expect(verifier.batches.at(-1)!.hint).toEqual({ key: '' })
    verifier.batches.at(-1)!.release()
    await round4
  })

  it('a delivered event mutated by its holder neither fools nor fails later copies', async () => {
    const { intake } = spiedIntake()
    const e = event('pristine')
    const honest = JSON.parse(JSON.stringify(e)) as NostrEvent
    expect(await submit(intake, [e])).toEqual([['valid', true]])
    // The application edits the object it was given...
    e.content = 'edited by the app'
    // ...a forged copy equal to the edited object is still rejected, and an honest copy still
    // passes by comparison with the intake's own copy (no hash, no signature check).
    expect(await submit(intake, [{ ...e }])).toEqual([['invalid', false]])
    const before = intake.stats()
    expect(await submit(intake, [honest])).toEqual([['valid', false]])
    expect(intake.stats().matchedKnown).toBe(before.matchedKnown + 1)
    expect(intake.stats().verified).toBe(before.verified)
  })

  it('close() drops what is pending without calling back, and later submissions are ignored', async () => {
    const verifier = manualVerifier()
    const intake = new EventIntake({ verifiedCacheSize: 10, maxPending: 10, verifier })
    let called = 0
    intake.submit(event('pending'), () => called++)
    await tick()
    intake.close()
    verifier.batches[0]!.release()
    intake.submit(event('late'), () => called++)
    await tick()
    expect(called).toBe(0)
  })

  it('a verifier that rejects leaves no unhandled rejection: the copies are invalid', async () => {
    const failing: EventVerifier = { verify: () => Promise.reject(new Error('down')), stats: () => ({}) as VerifierStats, close: async () => undefined }
    const intake = new EventIntake({ verifiedCacheSize: 10, maxPending: 10, verifier: failing })
    expect(await submit(intake, [event('r')])).toEqual([['invalid', false]])
  })
})
