/**
 * The user's own relays and the client's alerts: reading the published relay lists (NIP-65 kind
 * 10002, NIP-17 kind 10050), changing them without clobbering a newer copy another client wrote,
 * advertising them broadly, and telling the user what needs attention (a relay list not
 * re-advertised for long, publishes that missed relays, a follow-list change no relay holds).
 * Internal: the public face is `Client.relaySettings`, `Client.setRelays` and `Client.alerts`.
 *
 * @module
 */
import type { EventTemplate, NostrEvent } from '../crypto/event.js'
import { isRendezvousError } from '../errors.js'
import type { DeliveryReport, PublishTarget, TargetStatus } from '../outbox/publish-queue.js'
import {
  DM_RELAY_LIST_KIND,
  FOLLOW_LIST_KIND,
  RELAY_LIST_KIND,
  buildDmRelayListTemplate,
  buildRelayListTemplate,
  ownRelayUrls,
  parseDmRelayList,
  parseRelayList,
  type RelayListInput,
} from '../outbox/relay-lists.js'
import type { AdvertisePlan } from '../outbox/router.js'
import { abortError, FOLLOW_EDIT_RECORD, type ClientContext } from './context.js'
import { deliver, ensureLists, signTemplate } from './publish.js'
import { newestOf } from './read.js'
import type {
  ClientAlert,
  EditOptions,
  PublishResult,
  ReadOptions,
  RelaySettings,
  RelaySettingsChange,
  RelaySettingsResult,
} from './types.js'

/** Target statuses that mean "this relay does not hold the event and will not be tried again". */
const GAVE_UP: ReadonlySet<TargetStatus> = new Set(['rejected', 'refused', 'gave-up'])

const HEX64 = /^[0-9a-f]{64}$/

/** The newest stored event of one of the user's replaceable lists (the tracker stores what it fetches). */
async function newestStored(context: ClientContext, me: string, kind: number): Promise<NostrEvent | undefined> {
  return newestOf(await context.storage.queryEvents([{ kinds: [kind], authors: [me] }]))
}

/** The people the user follows: the `p` tags of their newest stored kind 3 (junk skipped), in order. */
export async function storedFollows(context: ClientContext, me: string): Promise<string[]> {
  const list = await newestStored(context, me, FOLLOW_LIST_KIND)
  if (list === undefined) return []
  const out = new Set<string>()
  for (const tag of list.tags) {
    const pubkey = tag[0] === 'p' ? tag[1] : undefined
    if (typeof pubkey === 'string' && HEX64.test(pubkey) && pubkey !== me) out.add(pubkey)
  }
  return [...out]
}

/** Options of {@link chooseAdvertiseTargets}. */
interface ChooseOptions {
  /** Relays to add (never cut), e.g. the relays a new list names. */
  readonly extraRelays?: readonly string[]
  /** Fetch the follows' relay lists when stale first (else: what the client knows). */
  readonly fetchFollows: boolean
  readonly signal?: AbortSignal
}

/**
 * Where the user's relay list goes: the router's advertise plan with the user's follows, so the
 * broad part is the relays the people they follow write to (see `docs/relay-management.md`).
 * The user's own lists (and follow list) must be known already (`ensureLists([me])`).
 *
 * @throws ClientError `CLIENT_ABORTED`, `CLIENT_CLOSED` (only when `fetchFollows`); the storage's errors.
 * @internal
 */
export async function chooseAdvertiseTargets(context: ClientContext, me: string, options: ChooseOptions): Promise<AdvertisePlan> {
  const follows = await storedFollows(context, me)
  // A failed fetch is reported by ensureLists and the choice goes on with what is known.
  if (options.fetchFollows && follows.length > 0) await ensureLists(context, follows, options.signal)
  return context.router.advertisePlan(me, { extraRelays: options.extraRelays ?? [], follows })
}

/**
 * Reads the user's relay settings: fetches the user's lists when the tracker's copy is stale, then
 * answers from the newest lists known (stored or tracked).
 *
 * @param context - the client.
 * @param options - `signal`.
 * @returns inboxes, outboxes, DM relays (empty when no list is published), the list events, and
 * where the relay list is advertised.
 * @throws ClientError `CLIENT_NO_SIGNER` (no signer and no pubkey), `CLIENT_ABORTED`,
 * `CLIENT_CLOSED`; the storage's errors.
 * @internal
 */
export async function readRelaySettings(context: ClientContext, options: ReadOptions = {}): Promise<RelaySettings> {
  if (options === null || typeof options !== 'object') throw new TypeError('options must be an object')
  context.assertOpen()
  const me = await context.me()
  await ensureLists(context, [me], options.signal)
  const tracked = context.tracker.relayListOf(me)
  const [relayList, dmRelayList] = await Promise.all([newestStored(context, me, RELAY_LIST_KIND), newestStored(context, me, DM_RELAY_LIST_KIND)])
  // The stored copy is the one to trust when it is at least as new as the tracker's: a list this
  // client just published is stored at once, while the tracker learns it at its next fetch.
  let read: string[] = []
  let write: string[] = []
  if (relayList !== undefined && (tracked?.relayListAt === undefined || relayList.created_at >= tracked.relayListAt)) {
    ;({ read, write } = parseRelayList(relayList))
  } else if (tracked?.source === 'nip65') {
    ;({ read, write } = tracked)
  }
  let dm: string[] = []
  if (dmRelayList !== undefined && (tracked?.dmRelaysAt === undefined || dmRelayList.created_at >= tracked.dmRelaysAt)) {
    dm = parseDmRelayList(dmRelayList)
  } else if (tracked?.dm !== undefined) {
    dm = tracked.dm
  }
  return {
    read: [...read],
    write: [...write],
    dm: [...dm],
    advertiseTo: (await chooseAdvertiseTargets(context, me, { fetchFollows: false })).batches,
    relayList,
    dmRelayList,
  }
}

/** The relays of a change, normalised; `undefined` for a list not given. */
function changedUrls(value: unknown, field: string): string[] | undefined {
  return value === undefined ? undefined : ownRelayUrls(value, field)
}

/** One list about to be published. */
interface PlannedList {
  readonly kind: number
  readonly template: EventTemplate
  /** The relays the list names: they get it too. */
  readonly relays: readonly string[]
}

/**
 * Changes the user's relays. Each list given is checked, then the newest copy of the list it
 * replaces is looked for on several relays (so tags and relays another client added survive),
 * the new list is built on it, signed, applied locally, and sent to every relay of
 * `Router.advertisePlan` (with the user's follows, whose relay lists are fetched when stale) plus
 * the relays it names, through the user's relay settings (blocked and `advertise: false` relays
 * get nothing).
 *
 * @param context - the client.
 * @param change - `read`, `write` (kind 10002: a list not given keeps its current relays), `dm`
 * (kind 10050), and extra relays to advertise to.
 * @param options - `minAnswers`, `pow`, `signal`.
 * @returns the publish result of each list published (none when the change names no list).
 * @throws TypeError for a malformed change; OutboxError `OUTBOX_RELAY_URL_INVALID` (before
 * anything is signed), `TRACKER_UNCONFIRMED` (too few relays answered: nothing is published);
 * ClientError `CLIENT_NO_SIGNER`, `CLIENT_ABORTED`, `CLIENT_CLOSED`; the signer's and the queue's
 * errors.
 * @internal
 */
export async function setRelays(context: ClientContext, change: RelaySettingsChange, options: EditOptions = {}): Promise<RelaySettingsResult> {
  if (change === null || typeof change !== 'object') throw new TypeError('change must be an object')
  if (options === null || typeof options !== 'object') throw new TypeError('options must be an object')
  context.assertOpen()
  context.requireSigner('changing relay settings')
  // Every URL is checked before any work: a typo must not leave one list published and not the other.
  const read = changedUrls(change.read, 'change.read')
  const write = changedUrls(change.write, 'change.write')
  const dm = changedUrls(change.dm, 'change.dm')
  const advertiseTo = changedUrls(change.advertiseTo, 'change.advertiseTo') ?? []
  if (read === undefined && write === undefined && dm === undefined) return {}
  // One edit of the user's lists at a time (both keys, always in this order): the next edit starts
  // from the copies this one publishes. Profile and follow-list edits take their own keys.
  return context.exclusive(`own-list:${RELAY_LIST_KIND}`, () =>
    context.exclusive(`own-list:${DM_RELAY_LIST_KIND}`, () => setRelaysNow(context, { read, write, dm, advertiseTo }, options)),
  )
}

async function setRelaysNow(
  context: ClientContext,
  { read, write, dm, advertiseTo }: { read: string[] | undefined; write: string[] | undefined; dm: string[] | undefined; advertiseTo: string[] },
  options: EditOptions,
): Promise<RelaySettingsResult> {
  const me = await context.me()
  // The router advertises to the user's own relays: it must know the lists this change leaves alone.
  await ensureLists(context, [me], options.signal)
  const { signal, release } = context.link(options.signal)
  try {
    // The newest copy may sit on the relays being added (another client of the user's put it there).
    const lookIn = [...new Set([...(read ?? []), ...(write ?? []), ...(dm ?? []), ...advertiseTo])]
    const newest = async (kind: number): Promise<NostrEvent | undefined> => {
      try {
        return await context.tracker.newestOwnList(me, kind, { minAnswers: options.minAnswers ?? 1, relays: lookIn, signal })
      } catch (error) {
        if (signal.aborted) throw abortError(context, error)
        throw error
      }
    }
    // Both previous copies are found before anything is signed: when one cannot be confirmed,
    // neither list is published.
    const [previousList, previousDm] = await Promise.all([
      read !== undefined || write !== undefined ? newest(RELAY_LIST_KIND) : undefined,
      dm !== undefined ? newest(DM_RELAY_LIST_KIND) : undefined,
    ])
    const planned: PlannedList[] = []
    if (read !== undefined || write !== undefined) {
      const current = previousList === undefined ? { read: [], write: [] } : parseRelayList(previousList)
      const inboxes = read ?? current.read
      const outboxes = write ?? current.write
      const entries: RelayListInput[] = [...new Set([...outboxes, ...inboxes])].map((url) => ({
        url,
        read: inboxes.includes(url),
        write: outboxes.includes(url),
      }))
      const template = buildRelayListTemplate(entries, { ...(previousList && { previous: previousList }), createdAt: createdAfter(context, previousList) })
      planned.push({ kind: RELAY_LIST_KIND, template, relays: entries.map((e) => e.url) })
    }
    if (dm !== undefined) {
      const template = buildDmRelayListTemplate(dm, { ...(previousDm && { previous: previousDm }), createdAt: createdAfter(context, previousDm) })
      planned.push({ kind: DM_RELAY_LIST_KIND, template, relays: dm })
    }
    const signed: Array<{ list: PlannedList; event: NostrEvent }> = []
    for (const list of planned) {
      signed.push({ list, event: await signTemplate(context, list.template, { pow: options.pow, signal }) })
    }
    // Routed before the new lists are applied: the relays being left learn of the change too, and
    // the new ones are targets anyway (`list.relays`, through the same rules: a blocked relay or
    // one marked not to advertise to gets nothing).
    const follows = await storedFollows(context, me)
    if (follows.length > 0) await ensureLists(context, follows, signal)
    const results = await Promise.all(
      signed.map(async ({ list, event }): Promise<[number, PublishResult]> => {
        const plan = context.router.advertisePlan(me, { extraRelays: [...advertiseTo, ...list.relays], follows })
        const targets: PublishTarget[] = plan.targets.map(({ url }) => ({ url, reason: 'advertise' }))
        let sent
        try {
          sent = await deliver(context, event, targets, 'first-answers', signal)
        } catch (error) {
          // An abort ends the wait only: the list is queued and will be delivered, so the client
          // routes by it from now on, as it would have after the wait.
          if (isRendezvousError(error, 'CLIENT_ABORTED')) {
            context.evidence.applyRelayList(event)
            if (list.kind === DM_RELAY_LIST_KIND) refreshDmRelays(context, me, context.closing).catch(() => {})
          }
          throw error
        }
        const { report, delivery } = sent
        // Applied once queued (the queue delivers it from here on): a list that could not be
        // queued must not change where the client reads and writes.
        context.evidence.applyRelayList(event)
        return [list.kind, { event, plan: context.router.publishPlan(event, { me }), report, delivery }]
      }),
    )
    if (dm !== undefined) await refreshDmRelays(context, me, signal)
    const byKind = new Map(results)
    const relayList = byKind.get(RELAY_LIST_KIND)
    const dmRelayList = byKind.get(DM_RELAY_LIST_KIND)
    return { ...(relayList && { relayList }), ...(dmRelayList && { dmRelayList }) }
  } finally {
    release()
  }
}

/**
 * `created_at` of a new list: now by the client's clock, and after the copy it replaces (a list
 * dated no later would lose to it everywhere, NIP-01).
 */
function createdAfter(context: ClientContext, previous: NostrEvent | undefined): number {
  const now = context.nowSeconds()
  return previous === undefined ? now : Math.max(now, previous.created_at + 1)
}

/**
 * Makes the tracker take the new kind 10050 (the router reads DM relays from the tracker only).
 * The tracker has no call that applies one event, so its "newest own list" lookup is used: it
 * compares the relays' copies with the stored one (ours) and applies the newest. A failure only
 * delays that until the next fetch, so it is reported, not thrown.
 */
async function refreshDmRelays(context: ClientContext, me: string, signal: AbortSignal): Promise<void> {
  try {
    await context.tracker.newestOwnList(me, DM_RELAY_LIST_KIND, { minAnswers: 0, signal })
  } catch (error) {
    if (signal.aborted) throw abortError(context, error)
    context.reportError(error)
  }
}

/** A publish that some relays will never hold, as an alert; `undefined` when it is not one. */
function incompleteTargets(report: DeliveryReport): string[] | undefined {
  const failed = report.targets.filter((target) => GAVE_UP.has(target.status)).map((target) => target.url)
  if (report.state === 'failed') return failed
  if ((report.state === 'sent' || report.state === 'partial') && failed.length > 0) return failed
  return undefined
}

/** The kind of a published event: from the event store, else from the queue's own record of it. */
async function kindOf(context: ClientContext, eventId: string): Promise<number | undefined> {
  const event = await context.storage.getEvent(eventId)
  if (event !== undefined) return event.kind
  const record = await context.storage.getRecord('publish-queue', eventId)
  const kind = (record as { event?: { kind?: unknown } } | undefined)?.event?.kind
  return typeof kind === 'number' ? kind : undefined
}

/** The follow-list edit record, when it is one (written by the follow-list editor). */
function followEdit(value: unknown): { eventId: string; changedAt: number } | undefined {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined
  const { eventId, changedAt } = value as Record<string, unknown>
  if (typeof eventId !== 'string' || !HEX64.test(eventId) || typeof changedAt !== 'number' || !Number.isFinite(changedAt)) return undefined
  return { eventId, changedAt }
}

/**
 * What needs the user's attention, most important first: a follow-list change no relay holds
 * (`follow-list-unpublished`), publishes some relays will never hold (`publish-incomplete`, newest
 * first), a relay list never published or not re-advertised within `relayListMaxAgeMs`
 * (`relay-list-stale`; left out when the user is unknown or no relay could be asked).
 *
 * @param context - the client.
 * @returns the alerts.
 * @throws ClientError `CLIENT_CLOSED`; the storage's errors.
 * @internal
 */
export async function listAlerts(context: ClientContext): Promise<ClientAlert[]> {
  context.assertOpen()
  const alerts: ClientAlert[] = []

  const edit = followEdit(await context.storage.getRecord('settings', FOLLOW_EDIT_RECORD))
  if (edit !== undefined) {
    const report = await context.queue.report(edit.eventId)
    if (report === undefined || report.accepted === 0) {
      alerts.push({ type: 'follow-list-unpublished', eventId: edit.eventId, changedAt: edit.changedAt })
    }
  }

  const incomplete: ClientAlert[] = []
  const reports = await context.queue.reports()
  for (const report of [...reports].reverse()) {
    const failedRelays = incompleteTargets(report)
    if (failedRelays === undefined) continue
    const kind = await kindOf(context, report.eventId)
    // Without its kind the alert could not say what failed; the queue keeps every event it sends,
    // so this only happens when storage lost both copies.
    if (kind === undefined) continue
    incomplete.push({ type: 'publish-incomplete', eventId: report.eventId, kind, state: report.state, failedRelays })
  }
  alerts.push(...incomplete)

  const stale = await relayListAlert(context)
  if (stale !== undefined) alerts.push(stale)
  return alerts
}

/** The `relay-list-stale` alert, when due. */
async function relayListAlert(context: ClientContext): Promise<ClientAlert | undefined> {
  let me: string
  try {
    me = await context.me()
  } catch (error) {
    // No identity (or a signer that cannot tell it now): there is no relay list to judge.
    if (!isRendezvousError(error, 'CLIENT_NO_SIGNER')) context.reportError(error)
    return undefined
  }
  await ensureLists(context, [me])
  const tracked = context.tracker.relayListOf(me)
  const stored = await newestStored(context, me, RELAY_LIST_KIND)
  const times = [stored?.created_at, tracked?.relayListAt].filter((t): t is number => t !== undefined)
  const publishedAt = times.length > 0 ? Math.max(...times) : undefined
  if (publishedAt === undefined) {
    // "Never published" is only known once some relay answered about the user.
    if (tracked?.fetchedAt === undefined) return undefined
    return { type: 'relay-list-stale' }
  }
  if (context.now() - publishedAt * 1000 <= context.options.relayListMaxAgeMs) return undefined
  return { type: 'relay-list-stale', publishedAt }
}
