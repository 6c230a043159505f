import { describe, expect, it } from 'vitest'
import { finalizeEvent, generateSecretKey, verifyEvents, type NostrEvent } from '../../src/crypto/index.js'
import { EventIntake, type IntakeVerdict } from '../../src/relay-pool/intake.js'
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

function submit(intake: EventIntake, events: readonly NostrEvent[]): Promise<Array<[IntakeVerdict, boolean]>> {
  return Promise.all(events.map((e) => new Promise<[IntakeVerdict, boolean]>((resolve) => intake.submit(e, (v, first) => resolve([v, first])))))
}

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
    expect(batches.map((batch) => batch.length)).toEqual([3])
    // Later copies of verified ids cost no signature check at all.
    expect(await submit(intake, [a, b])).toEqual([
      ['valid', false],
      ['valid', false],
    ])
    expect(batches).toHaveLength(1)
    expect(intake.isKnownValid(a.id)).toBe(true)
  })

  it('judges each copy on its own: a bad copy first does not poison the good one', async () => {
    const { intake } = spiedIntake()
    const good = event('good')
    expect(await submit(intake, [withBadSignature(good), good, withForgedContent(good)])).toEqual([
      ['invalid', false],
      ['valid', true],
      ['invalid', false],
    ])
    // A forged copy of a known id is caught by the id hash without a signature check.
    expect(await submit(intake, [withForgedContent(good)])).toEqual([['invalid', false]])
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
})
