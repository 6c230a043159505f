import { afterEach, describe, expect, it } from 'vitest'
import { finalizeEvent, generateSecretKey, type NostrEvent } from '../../src/crypto/index.js'
import { StorageError } from '../../src/errors.js'
import { createPublishQueue, type DeliveryReport, type PublishQueue, type PublishQueueOptions } from '../../src/outbox/publish-queue.js'
import type { PublishOptions, PublishOutcome, PublishReport } from '../../src/relay-pool/pool.js'
import { memoryStorage } from '../../src/storage/memory.js'
import type { Storage } from '../../src/storage/types.js'
import { expectRejectionCode } from '../helpers/errors.js'
import { poolHarness } from '../helpers/pool-harness.js'
import { waitFor, within } from '../helpers/relay-fleet.js'

const sk = generateSecretKey()
let counter = 0
function note(text = 'hello'): NostrEvent {
  counter += 1
  return finalizeEvent({ kind: 1, created_at: 1_700_000_000 + counter, tags: [], content: `${text} ${counter}` }, sk)
}

const queues: PublishQueue[] = []
const storages: Storage[] = []
afterEach(async () => {
  await Promise.all(queues.splice(0).map((q) => q.close()))
  await Promise.all(storages.splice(0).map((s) => s.close()))
})

function makeQueue(options: Partial<PublishQueueOptions> & Pick<PublishQueueOptions, 'pool'>): { queue: PublishQueue; storage: Storage } {
  const storage = options.storage ?? memoryStorage()
  if (!options.storage) storages.push(storage)
  const queue = createPublishQueue({ baseDelayMs: 20, maxDelayMs: 200, ...options, storage })
  queues.push(queue)
  return { queue, storage }
}

/** A pool stand-in answering from a script per relay, recording each call. */
function fakePool(answer: (url: string, attempt: number) => Partial<PublishOutcome> | Promise<Partial<PublishOutcome>>) {
  const calls: Array<{ urls: string[] }> = []
  const attempts = new Map<string, number>()
  return {
    calls,
    pool: {
      async publish(event: NostrEvent, options: PublishOptions): Promise<PublishReport> {
        calls.push({ urls: [...options.relays] })
        const relays = await Promise.all(
          options.relays.map(async (url) => {
            const n = (attempts.get(url) ?? 0) + 1
            attempts.set(url, n)
            return { url, status: 'ok', ...(await answer(url, n)) } as PublishOutcome
          }),
        )
        return { eventId: event.id, relays, accepted: relays.filter((r) => r.status === 'ok' || r.status === 'duplicate').length }
      },
    },
  }
}

/** `storage` with some methods replaced (a plain delegating object: adapters use private fields). */
function withOverrides(storage: Storage, overrides: Partial<Storage>): Storage {
  const wrapped = {} as Record<string, unknown>
  for (const key of ['putEvents', 'queryEvents', 'getEvent', 'countEvents', 'addSeenOn', 'seenOn', 'removeEvents', 'getRecord', 'getRecords', 'putRecords', 'putRecord', 'deleteRecord', 'listRecords', 'close'] as const) {
    wrapped[key] = (storage[key] as (...args: unknown[]) => unknown).bind(storage)
  }
  return Object.assign(wrapped, { name: storage.name }, overrides) as unknown as Storage
}

const A = 'wss://a.example'
const B = 'wss://b.example'
const C = 'wss://c.example'

describe('publish queue: states and retries (scripted pool)', () => {
  it('writes the record before the first publish call, then reports sent', async () => {
    const order: string[] = []
    const storage = memoryStorage()
    storages.push(storage)
    const spy = withOverrides(storage, {
      putRecord: async (...args: Parameters<Storage['putRecord']>) => {
        order.push('write')
        return storage.putRecord(...args)
      },
    })
    const { pool } = fakePool(() => {
      order.push('publish')
      return { status: 'ok' }
    })
    const { queue } = makeQueue({ pool, storage: spy })
    const handle = await queue.publish(note(), [{ url: A, reason: 'my-outbox' }])
    const report = await handle.settled
    expect(order[0]).toBe('write')
    expect(order).toContain('publish')
    expect(report.state).toBe('sent')
    expect(report.accepted).toBe(1)
    expect(report.targets[0]).toMatchObject({ url: A, status: 'ok', attempts: 1, reasons: ['my-outbox'] })
    expect(await queue.report(handle.eventId)).toMatchObject({ state: 'sent' })
  })

  it('retries a failing relay with backoff until it accepts; partial in between', async () => {
    const { pool, calls } = fakePool((url, n) => (url === B && n < 3 ? { status: 'failed', code: 'RELAY_CONNECTION_FAILED' } : { status: 'ok' }))
    const { queue } = makeQueue({ pool })
    const states: string[] = []
    queue.subscribe((r) => states.push(r.state))
    const handle = await queue.publish(note(), [{ url: A }, { url: B }])
    const report = await handle.settled
    expect(report.state).toBe('sent')
    expect(report.targets.find((t) => t.url === B)).toMatchObject({ status: 'ok', attempts: 3 })
    expect(states).toContain('partial')
    expect(states.at(-1)).toBe('sent')
    // A is never re-sent once it accepted.
    expect(calls.filter((c) => c.urls.includes(A))).toHaveLength(1)
  })

  it('a permanent rejection (blocked:, invalid:, pow:) is final and never retried', async () => {
    const { pool, calls } = fakePool((url) =>
      url === A ? { status: 'rejected', prefix: 'blocked', message: 'blocked: not on the list' } : url === B ? { status: 'pow-required', prefix: 'pow', difficulty: 20 } : { status: 'rejected', prefix: 'invalid', message: 'invalid: bad' },
    )
    const { queue } = makeQueue({ pool })
    const report = await (await queue.publish(note(), [{ url: A }, { url: B }, { url: C }])).settled
    expect(report.state).toBe('failed')
    expect(report.targets.map((t) => t.status)).toEqual(['rejected', 'rejected', 'rejected'])
    expect(calls.flatMap((c) => c.urls).sort()).toEqual([A, B, C])
  })

  it('a publish that reached no relay is pending while retrying, then failed — never sent', async () => {
    const { pool } = fakePool(() => ({ status: 'timeout', code: 'RELAY_TIMEOUT' }))
    const { queue } = makeQueue({ pool, maxAttempts: 3 })
    const seen: DeliveryReport[] = []
    queue.subscribe((r) => seen.push(r))
    const report = await (await queue.publish(note(), [{ url: A }, { url: B }])).settled
    expect(seen.some((r) => r.state === 'pending')).toBe(true)
    expect(seen.every((r) => r.state !== 'sent' && r.state !== 'partial')).toBe(true)
    expect(report.state).toBe('failed')
    expect(report.targets.every((t) => t.status === 'gave-up' && t.attempts === 3)).toBe(true)
  })

  it('waits at least the pool’s retryAfterMs before trying a penalty-boxed relay again', async () => {
    const times: number[] = []
    const { pool } = fakePool((_url, n) => {
      times.push(Date.now())
      return n === 1 ? { status: 'rate-limited', retryAfterMs: 150 } : { status: 'ok' }
    })
    const { queue } = makeQueue({ pool, baseDelayMs: 1 })
    await (await queue.publish(note(), [{ url: A }])).settled
    expect(times).toHaveLength(2)
    expect(times[1]! - times[0]!).toBeGreaterThanOrEqual(140)
  })

  it('an invalid URL is refused up front; duplicate URLs merge their reasons', async () => {
    const { pool, calls } = fakePool(() => ({ status: 'ok' }))
    const { queue } = makeQueue({ pool })
    const report = await (
      await queue.publish(note(), [
        { url: 'not a relay', reason: 'tagged-inbox' },
        { url: 'wss://A.example/', reason: 'my-outbox' },
        { url: A, reason: 'tagged-inbox' },
      ])
    ).settled
    expect(report.targets).toHaveLength(2)
    expect(report.targets.find((t) => t.url === A)?.reasons).toEqual(['my-outbox', 'tagged-inbox'])
    expect(report.targets.find((t) => t.url === 'not a relay')?.status).toBe('refused')
    expect(calls.flatMap((c) => c.urls)).toEqual([A])
    expect(report.state).toBe('sent')
  })

  it('refuses an event that does not verify, and stores nothing', async () => {
    const { pool, calls } = fakePool(() => ({ status: 'ok' }))
    const { queue, storage } = makeQueue({ pool })
    const forged = { ...note(), content: 'changed' }
    await expectRejectionCode(queue.publish(forged, [{ url: A }]), 'RELAY_EVENT_INVALID')
    expect(await storage.listRecords('publish-queue')).toEqual([])
    expect(calls).toHaveLength(0)
  })

  it('when the first write fails (disk full) the publish rejects and nothing is sent', async () => {
    const storage = memoryStorage()
    storages.push(storage)
    const full = withOverrides(storage, {
      putRecord: async () => {
        throw new StorageError('STORAGE_FULL', 'disk full')
      },
    })
    const { pool, calls } = fakePool(() => ({ status: 'ok' }))
    const { queue } = makeQueue({ pool, storage: full })
    await expectRejectionCode(queue.publish(note(), [{ url: A }]), 'STORAGE_FULL')
    expect(calls).toHaveLength(0)
    expect(await queue.pending()).toEqual([])
  })

  it('resumes unfinished publishes from storage after a restart; finished ones stay finished', async () => {
    const storage = memoryStorage()
    storages.push(storage)
    // First "process": B never answers before we shut down.
    const first = fakePool((url) => (url === B ? new Promise<Partial<PublishOutcome>>(() => {}) : { status: 'ok' }))
    const q1 = createPublishQueue({ pool: first.pool, storage, baseDelayMs: 20 })
    const event = note()
    const done = note()
    await (await q1.publish(done, [{ url: A }])).settled
    await q1.publish(event, [{ url: A }, { url: B }])
    await waitFor(async () => (await q1.report(event.id))?.targets.find((t) => t.url === A)?.status === 'ok')
    // close() cannot abort the fake pool's never-ending promise, so don't wait for it.
    void q1.close()

    const second = fakePool(() => ({ status: 'ok' }))
    const { queue: q2 } = makeQueue({ pool: second.pool, storage })
    expect((await q2.pending()).map((r) => r.eventId)).toEqual([event.id])
    expect(await q2.resume()).toBe(1)
    await waitFor(async () => (await q2.report(event.id))?.state === 'sent')
    expect(second.calls.flatMap((c) => c.urls)).toEqual([B])
    expect(first.calls.flatMap((c) => c.urls).sort()).toEqual([A, A, B])
    expect((await q2.report(done.id))?.state).toBe('sent')
  })

  it('skips and reports a corrupt record on resume, and keeps it', async () => {
    const storage = memoryStorage()
    storages.push(storage)
    await storage.putRecord('publish-queue', 'x'.repeat(64), { v: 1, event: 'garbage' })
    const errors: unknown[] = []
    const { pool } = fakePool(() => ({ status: 'ok' }))
    const { queue } = makeQueue({ pool, storage, onError: (e) => errors.push(e) })
    expect(await queue.resume()).toBe(0)
    expect(errors.map((e) => (e as { code?: string }).code)).toEqual(['PUBLISH_QUEUE_CORRUPT'])
    expect(await storage.getRecord('publish-queue', 'x'.repeat(64))).toEqual({ v: 1, event: 'garbage' })
    expect(await queue.prune()).toBe(0)
  })

  it('prune drops finished publishes older than retainMs, keeps unfinished ones', async () => {
    let clock = 1_000_000
    const { pool } = fakePool((url) => (url === B ? { status: 'failed' } : { status: 'ok' }))
    const { queue, storage } = makeQueue({ pool, now: () => clock, retainMs: 1000, maxAttempts: 50, baseDelayMs: 10_000 })
    const finished = note()
    const unfinished = note()
    await (await queue.publish(finished, [{ url: A }])).settled
    await queue.publish(unfinished, [{ url: B }])
    await waitFor(async () => (await queue.report(unfinished.id))?.targets[0]?.attempts === 1)
    clock += 5000
    expect(await queue.prune()).toBe(1)
    expect(await storage.getRecord('publish-queue', finished.id)).toBeUndefined()
    expect(await storage.getRecord('publish-queue', unfinished.id)).toBeDefined()
  })

  it('reports() lists pending and finished publishes oldest first, from memory and from storage', async () => {
    let clock = 5_000_000
    const { pool } = fakePool((url) => (url === A ? { status: 'ok' } : url === B ? { status: 'rejected', prefix: 'blocked' } : { status: 'failed' }))
    const options = { pool, now: () => clock, retainMs: 10_000, baseDelayMs: 60_000, maxDelayMs: 60_000 }
    const { queue, storage } = makeQueue(options)
    const sent = note('sent')
    const failed = note('failed')
    const waiting = note('waiting')
    await (await queue.publish(sent, [{ url: A }])).settled
    clock += 1
    await (await queue.publish(failed, [{ url: B }])).settled
    clock += 1
    await queue.publish(waiting, [{ url: C }])
    await waitFor(async () => (await queue.report(waiting.id))?.targets[0]?.attempts === 1)
    const expected = [
      { eventId: sent.id, state: 'sent' },
      { eventId: failed.id, state: 'failed' },
      { eventId: waiting.id, state: 'pending' },
    ]
    expect(await queue.reports()).toMatchObject(expected)
    // pending() keeps to the unfinished one: reports() is the wider view.
    expect((await queue.pending()).map((r) => r.eventId)).toEqual([waiting.id])
    // A second queue on the same storage, never resumed, reads the same from the records.
    const { queue: reader } = makeQueue({ ...options, storage })
    expect(await reader.reports()).toMatchObject(expected)
    // Past retention the finished ones drop out (before any prune); the unfinished one stays.
    clock += 20_000
    expect((await queue.reports()).map((r) => r.eventId)).toEqual([waiting.id])
    expect((await reader.reports()).map((r) => r.eventId)).toEqual([waiting.id])
  })

  it('reports() skips and reports a corrupt record, and keeps it', async () => {
    const storage = memoryStorage()
    storages.push(storage)
    await storage.putRecord('publish-queue', 'y'.repeat(64), { v: 1, event: 'garbage' })
    const errors: unknown[] = []
    const { pool } = fakePool(() => ({ status: 'ok' }))
    const { queue } = makeQueue({ pool, storage, onError: (e) => errors.push(e) })
    const event = note()
    await (await queue.publish(event, [{ url: A }])).settled
    expect((await queue.reports()).map((r) => r.eventId)).toEqual([event.id])
    expect(errors.map((e) => (e as { code?: string }).code)).toEqual(['PUBLISH_QUEUE_CORRUPT'])
    expect(await storage.getRecord('publish-queue', 'y'.repeat(64))).toEqual({ v: 1, event: 'garbage' })
  })

  it('after close, publish rejects with PUBLISH_QUEUE_CLOSED and settled handles resolve', async () => {
    const { pool } = fakePool(() => ({ status: 'failed' }))
    const { queue } = makeQueue({ pool, baseDelayMs: 10_000 })
    const handle = await queue.publish(note(), [{ url: A }])
    await queue.close()
    expect((await handle.settled).state).toBe('pending')
    await expectRejectionCode(queue.publish(note(), [{ url: A }]), 'PUBLISH_QUEUE_CLOSED')
  })
})

describe('publish queue on the wire', () => {
  const { pool, relay, scripted } = poolHarness({ connect: { allowPrivateHosts: ['127.0.0.1'] }, fetch: false, backoff: { penaltyMs: { 'connect-refused': 50 } } })

  it('delivers to every live relay and keeps retrying a dead one until it comes back', async () => {
    const up = await relay()
    const down = await relay()
    await down.kill()
    const { queue } = makeQueue({ pool: pool({ backoff: { baseMs: 10, maxMs: 50, penaltyMs: { 'connect-refused': 50 } } }), maxAttempts: 40, baseDelayMs: 30, maxDelayMs: 100 })
    const event = note('wire')
    const handle = await queue.publish(event, [
      { url: up.url, reason: 'my-outbox' },
      { url: down.url, reason: 'tagged-inbox' },
    ])
    await waitFor(() => handle.report().state === 'partial', 5000, 'partial')
    expect(handle.report().targets.find((t) => t.url === down.url)?.status).toBe('pending')
    await down.restart()
    const report = await within(handle.settled, 10_000)
    expect(report.state).toBe('sent')
    expect(report.accepted).toBe(2)
    expect(down.messagesOfType('EVENT').some((m) => (m[1] as NostrEvent).id === event.id)).toBe(true)
  })

  it('blocked: from a real-wire relay is final; rate-limited: is retried', async () => {
    let rateLimited = 0
    const blocker = await scripted({ onEvent: (client, e) => client.ok((e as NostrEvent).id, false, 'blocked: no') })
    const limiter = await scripted({
      onEvent: (client, e) => {
        rateLimited += 1
        client.ok((e as NostrEvent).id, rateLimited > 1, rateLimited > 1 ? '' : 'rate-limited: slow down')
      },
    })
    const { queue } = makeQueue({ pool: pool({ backoff: { penaltyMs: { 'rate-limited': 40 } } }), baseDelayMs: 20 })
    const report = await (await queue.publish(note(), [{ url: blocker.url }, { url: limiter.url }])).settled
    expect(report.targets.find((t) => t.url === blocker.url)).toMatchObject({ status: 'rejected', attempts: 1, last: { prefix: 'blocked' } })
    expect(report.targets.find((t) => t.url === limiter.url)).toMatchObject({ status: 'ok', attempts: 2 })
    expect(blocker.messagesOfType('EVENT')).toHaveLength(1)
  })
})
