/**
 * Publishing from the client: optional NIP-13 proof of work, signing, routing (my outboxes plus
 * the inboxes of everyone tagged or mentioned) and the durable publish queue, with the wait the
 * caller asked for. Internal: the public face is `Client.publish`.
 *
 * @module
 */
import type { EventTemplate, NostrEvent } from '../crypto/event.js'
import { minePow } from '../crypto/nip13.js'
import { findNostrUris } from '../crypto/nip21.js'
import { ClientError, isRendezvousError } from '../errors.js'
import type { DeliveryHandle, DeliveryReport, PublishTarget } from '../outbox/publish-queue.js'
import { FOLLOW_LIST_KIND } from '../outbox/relay-lists.js'
import { PEOPLE_SET_KINDS } from '../outbox/router.js'
import { abortError, type ClientContext } from './context.js'
import type { PublishOptions, PublishResult, PublishWait } from './types.js'

/** Options of {@link signTemplate}. @internal */
export interface SignOptions {
  readonly pow?: number | undefined
  readonly onPowProgress?: PublishOptions['onPowProgress']
  readonly signal?: AbortSignal | undefined
}

/**
 * Mines (when asked) and signs a template with the client's signer.
 *
 * @throws ClientError `CLIENT_NO_SIGNER`, `CLIENT_ABORTED`, `CLIENT_CLOSED`; the signer's errors.
 * @internal
 */
export async function signTemplate(context: ClientContext, template: EventTemplate, options: SignOptions = {}): Promise<NostrEvent> {
  context.assertOpen()
  const signer = context.requireSigner('signing an event')
  const difficulty = options.pow ?? context.options.powDifficulty
  if (!Number.isSafeInteger(difficulty) || difficulty < 0 || difficulty > 256) throw new RangeError('pow must be an integer from 0 to 256')
  const base: EventTemplate = {
    kind: template.kind,
    content: template.content,
    tags: (template.tags ?? []).map((tag) => [...tag]),
    created_at: template.created_at ?? context.nowSeconds(),
  }
  const { signal, release } = context.link(options.signal)
  try {
    let toSign = base
    if (difficulty > 0) {
      const pubkey = await context.me()
      try {
        const mined = await minePow({ ...base, pubkey, tags: base.tags ?? [] }, difficulty, {
          signal,
          ...(options.onPowProgress !== undefined && { onProgress: options.onPowProgress }),
        })
        toSign = { kind: mined.kind, content: mined.content, tags: mined.tags, created_at: mined.created_at }
      } catch (error) {
        if (signal.aborted) throw abortError(context, error)
        throw error
      }
    }
    if (signal.aborted) throw abortError(context)
    return await signer.signEvent(toSign)
  } finally {
    release()
  }
}

/**
 * Queues a signed event for `targets` and waits as asked. An abort ends the wait, not the publish:
 * once queued, the event is delivered and retried by the queue whatever the caller does.
 *
 * @throws ClientError `CLIENT_ABORTED`, `CLIENT_CLOSED`; the queue's errors (a storage write that
 * failed: then nothing was sent).
 * @internal
 */
export async function deliver(
  context: ClientContext,
  event: NostrEvent,
  targets: readonly PublishTarget[],
  wait: PublishWait = 'first-answers',
  callerSignal?: AbortSignal,
): Promise<{ report: DeliveryReport; delivery: DeliveryHandle }> {
  context.assertOpen()
  let delivery: DeliveryHandle
  try {
    delivery = await context.queue.publish(event, targets)
  } catch (error) {
    // The client closed under us: say so in the client's words.
    if (isRendezvousError(error, 'PUBLISH_QUEUE_CLOSED')) throw new ClientError('CLIENT_CLOSED', 'The client is closed', { cause: error })
    throw error
  }
  // Cached only once the queue holds it: an event that could not be queued is not the user's newest
  // list or post anywhere, here included.
  await context.remember([event])
  if (wait === 'queued') return { report: delivery.report(), delivery }
  const { signal, release } = context.link(callerSignal)
  try {
    const report = await new Promise<DeliveryReport>((resolve, reject) => {
      const done = (report: DeliveryReport): boolean =>
        wait === 'settled'
          ? report.state === 'sent' || report.state === 'failed'
          : report.targets.every((target) => target.status !== 'pending' || target.attempts > 0)
      let unsubscribe = (): void => {}
      const finish = (report: DeliveryReport): void => {
        unsubscribe()
        signal.removeEventListener('abort', onAbort)
        resolve(report)
      }
      const onAbort = (): void => {
        unsubscribe()
        reject(abortError(context))
      }
      unsubscribe = context.queue.subscribe((report) => {
        if (done(report)) finish(report)
      }, event.id)
      signal.addEventListener('abort', onAbort, { once: true })
      // The queue may have finished before the listener was on, or be closed (settled resolves then).
      const now = delivery.report()
      if (done(now)) finish(now)
      else void delivery.settled.then((report) => finish(report), () => undefined)
      if (signal.aborted) onAbort()
    })
    return { report, delivery }
  } finally {
    release()
  }
}

/**
 * Signs and publishes: mines when asked, routes with the router, queues durably, waits as asked.
 *
 * @throws ClientError `CLIENT_NO_SIGNER`, `CLIENT_NO_TARGETS` (no outbox, nobody tagged, no
 * `relays`: nothing is signed or sent), `CLIENT_ABORTED`, `CLIENT_CLOSED`; the signer's and the
 * queue's errors.
 * @internal
 */
export async function publishEvent(context: ClientContext, template: EventTemplate, options: PublishOptions = {}): Promise<PublishResult> {
  if (template === null || typeof template !== 'object') throw new TypeError('template must be an event template')
  if (template.tags !== undefined && !Array.isArray(template.tags)) throw new TypeError('template.tags must be an array of string arrays')
  if (typeof template.content !== 'string') throw new TypeError('template.content must be a string')
  if (!Number.isSafeInteger(template.kind) || template.kind < 0 || template.kind > 65535) throw new TypeError('template.kind must be an integer from 0 to 65535')
  context.assertOpen()
  context.requireSigner('publishing')
  const me = await context.me()
  // Route before mining and signing: a publish with nowhere to go must fail before any work.
  const draft = {
    id: '0'.repeat(64),
    sig: '0'.repeat(128),
    pubkey: me,
    kind: template.kind,
    content: template.content,
    tags: template.tags ?? [],
    created_at: template.created_at ?? context.nowSeconds(),
  }
  const manual = (options.relays ?? []).map((url): PublishTarget => ({ url, reason: 'manual' }))
  // The router answers from what the tracker knows: a fresh client knows nothing of the user's
  // outboxes nor of the tagged people's inboxes until their lists are fetched (fresh ones are not).
  await ensureLists(context, [me, ...addressedPeople(draft)], options.signal)
  if (context.router.publishPlan(draft, { me }).targets.length === 0 && manual.length === 0) {
    throw new ClientError('CLIENT_NO_TARGETS', 'Nowhere to publish: the user has no outbox relays and nobody is tagged', {
      details: 'set relays with setRelays() or pass options.relays',
    })
  }
  const event = await signTemplate(context, template, options)
  const plan = context.router.publishPlan(event, { me })
  const { report, delivery } = await deliver(context, event, [...plan.targets, ...manual], options.wait ?? 'first-answers', options.signal)
  return { event, plan, report, delivery }
}

/** Most tagged people whose lists are fetched before routing (the router's own default cap). */
const MAX_ADDRESSED = 50

/**
 * The people an event addresses, as the router reads them: `p` tags, then `nostr:npub` /
 * `nprofile` mentions; none for follow lists and NIP-51 lists (members, not addressees).
 */
function addressedPeople(event: Pick<NostrEvent, 'kind' | 'tags' | 'content'>): string[] {
  // Lists and NIP-51 sets list people; they do not address them (see the router's rule).
  if (event.kind === FOLLOW_LIST_KIND || (event.kind >= 10000 && event.kind < 20000) || PEOPLE_SET_KINDS.has(event.kind)) return []
  const out = new Set<string>()
  for (const tag of event.tags) {
    if (Array.isArray(tag) && tag[0] === 'p' && typeof tag[1] === 'string' && /^[0-9a-f]{64}$/.test(tag[1])) out.add(tag[1])
  }
  if (typeof event.content === 'string' && /nostr:n(?:pub|profile)1/i.test(event.content)) {
    for (const { decoded } of findNostrUris(event.content, { limit: 200 })) {
      if (decoded.type === 'npub') out.add(decoded.data)
      else if (decoded.type === 'nprofile') out.add(decoded.data.pubkey)
    }
  }
  return [...out].slice(0, MAX_ADDRESSED)
}

/**
 * Makes sure the tracker holds fresh relay lists of `pubkeys` before routing. A failure other than
 * an abort is reported and routing goes on with what is known (cached lists, hints).
 *
 * @throws ClientError `CLIENT_ABORTED`, `CLIENT_CLOSED`.
 * @internal
 */
export async function ensureLists(context: ClientContext, pubkeys: readonly string[], callerSignal?: AbortSignal): Promise<void> {
  const { signal, release } = context.link(callerSignal)
  try {
    await context.tracker.ensureRelayLists([...new Set(pubkeys)], { signal })
  } catch (error) {
    if (signal.aborted) throw abortError(context, error)
    context.reportError(error)
  } finally {
    release()
  }
}
