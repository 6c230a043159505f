/**
 * Profiles (kind 0) and follow lists (kind 3, NIP-02): reading a person's newest copy from their
 * outboxes and the indexers, and editing the user's own without clobbering a newer copy another
 * client wrote (the newest is looked for on several relays first, unknown fields and tags are
 * kept). Internal: the public faces are `Client.profile`, `updateProfile`, `follows`, `follow` and
 * `unfollow`.
 *
 * @module
 */
import type { EventTemplate, NostrEvent } from '../crypto/event.js'
import { isValidPublicKey } from '../crypto/keys.js'
import { ClientError } from '../errors.js'
import type { PublishTarget } from '../outbox/publish-queue.js'
import { tryNormalizeRelayUrl } from '../relay-pool/url.js'
import { FOLLOW_EDIT_RECORD, abortError, type ClientContext } from './context.js'
import { parsePerson } from './identifiers.js'
import { deliver, signTemplate } from './publish.js'
import { newestOf, queryRelays } from './read.js'
import type { EditOptions, FollowChange, FollowEntry, FollowList, Profile, PublishResult, ReadOptions } from './types.js'

const PROFILE_KIND = 0
const FOLLOW_KIND = 3
/** The profile fields given their own property, and the names they have in the content. */
const PROFILE_FIELDS = [
  ['name', 'name'],
  ['displayName', 'display_name'],
  ['about', 'about'],
  ['picture', 'picture'],
  ['nip05', 'nip05'],
  ['lud16', 'lud16'],
] as const

// ---- shared --------------------------------------------------------------------------------------

function checkPubkey(pubkey: string, field: string): void {
  if (!isValidPublicKey(pubkey)) throw new TypeError(`${field} must be a hex public key`)
}

function checkObject(value: unknown, field: string): void {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new TypeError(`${field} must be an object`)
}

/** Fetches relay lists; a failure other than an abort is reported and the call goes on with what is known. */
async function ensureLists(context: ClientContext, pubkey: string, signal: AbortSignal): Promise<void> {
  try {
    await context.tracker.ensureRelayLists([pubkey], { signal })
  } catch (error) {
    if (signal.aborted || context.closing.aborted) throw abortError(context, error)
    context.reportError(error)
  }
}

/** The caller's extra relays (an nprofile's hints): normalised, invalid ones dropped (hints are network input). */
function validRelays(urls: readonly string[]): string[] {
  if (!Array.isArray(urls)) throw new TypeError('options.relays must be an array of relay URLs')
  return urls.flatMap((url) => {
    const normalized = typeof url === 'string' ? tryNormalizeRelayUrl(url) : undefined
    return normalized === undefined ? [] : [normalized]
  })
}

/**
 * The newest copy of one person's replaceable event of `kind`: from storage (where the tracker
 * put the kind 3 it fetched) and from their outboxes plus the indexers.
 */
async function readNewest(
  context: ClientContext,
  pubkey: string,
  kind: number,
  callerSignal: AbortSignal | undefined,
  extraRelays: readonly string[] = [],
): Promise<NostrEvent | undefined> {
  context.assertOpen()
  const { signal, release } = context.link(callerSignal)
  try {
    if (signal.aborted) throw abortError(context, signal.reason)
    await ensureLists(context, pubkey, signal)
    const outboxes = context.tracker.relayListOf(pubkey)?.write ?? []
    const relays = [...new Set([...outboxes, ...context.tracker.indexerRelays, ...validRelays(extraRelays)])]
    const filters = [{ kinds: [kind], authors: [pubkey], limit: 1 }]
    const result = await queryRelays(context, relays.map((url) => ({ url, filters, authors: [pubkey] })), { signal })
    let stored: NostrEvent[] = []
    try {
      stored = await context.storage.queryEvents([{ kinds: [kind], authors: [pubkey] }])
    } catch (error) {
      // A broken cache only means relying on what the relays said.
      context.reportError(error)
    }
    return newestOf([...result.events, ...stored].filter((e) => e.kind === kind && e.pubkey === pubkey))
  } finally {
    release()
  }
}

/** A JSON object parsed from `content`, or `undefined` when it is anything else. */
function jsonObject(content: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(content)
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined
  } catch {
    return undefined
  }
}

/** Where an edited list of the user goes: their outboxes (`my-outbox`), then the indexers (`indexer`). */
function listTargets(context: ClientContext, event: NostrEvent, me: string): { plan: ReturnType<ClientContext['router']['publishPlan']>; targets: PublishTarget[] } {
  const plan = context.router.publishPlan(event, { me })
  const targets: PublishTarget[] = [...plan.targets]
  const taken = new Set(targets.map((t) => t.url))
  for (const url of context.tracker.indexerRelays) {
    if (!taken.has(url)) {
      taken.add(url)
      targets.push({ url, reason: 'indexer' })
    }
  }
  return { plan, targets }
}

/**
 * The common part of every edit of the user's own replaceable list: find where it goes (failing
 * before any work when nowhere), find the newest copy, let `edit` build the new one, sign it, and
 * hand it to `beforeSend` then to the queue.
 */
function editOwnList(
  context: ClientContext,
  kind: number,
  action: string,
  options: EditOptions,
  edit: (previous: NostrEvent | undefined) => Pick<EventTemplate, 'content' | 'tags'>,
  beforeSend?: (event: NostrEvent) => Promise<void>,
): Promise<PublishResult> {
  checkObject(options, 'options')
  // One edit of a kind at a time: the next one starts from the copy this one publishes.
  return context.exclusive(`own-list:${kind}`, () => editOwnListNow(context, kind, action, options, edit, beforeSend))
}

async function editOwnListNow(
  context: ClientContext,
  kind: number,
  action: string,
  options: EditOptions,
  edit: (previous: NostrEvent | undefined) => Pick<EventTemplate, 'content' | 'tags'>,
  beforeSend?: (event: NostrEvent) => Promise<void>,
): Promise<PublishResult> {
  context.assertOpen()
  context.requireSigner(action)
  const me = await context.me()
  const { signal, release } = context.link(options.signal)
  try {
    if (signal.aborted) throw abortError(context, signal.reason)
    // The user's relay lists decide where the edit goes: know them before deciding.
    await ensureLists(context, me, signal)
    const probe = { id: '0'.repeat(64), sig: '0'.repeat(128), pubkey: me, kind, content: '', tags: [], created_at: context.nowSeconds() }
    if (listTargets(context, probe, me).targets.length === 0) {
      throw new ClientError('CLIENT_NO_TARGETS', 'Nowhere to publish: the user has no outbox relays and no indexer relay is set', {
        details: 'set relays with setRelays() or give indexerRelays',
      })
    }
    let previous: NostrEvent | undefined
    try {
      previous = await context.tracker.newestOwnList(me, kind, {
        signal,
        ...(options.minAnswers !== undefined && { minAnswers: options.minAnswers }),
      })
    } catch (error) {
      if (signal.aborted || context.closing.aborted) throw abortError(context, error)
      throw error
    }
    const { content, tags } = edit(previous)
    // Strictly after the copy replaced: relays keep the newer of two copies, and the same second
    // would leave the choice to the ids.
    const createdAt = Math.max(context.nowSeconds(), previous === undefined ? 0 : previous.created_at + 1)
    const event = await signTemplate(context, { kind, content, tags, created_at: createdAt }, { pow: options.pow, signal: options.signal })
    const { plan, targets } = listTargets(context, event, me)
    await beforeSend?.(event)
    const { report, delivery } = await deliver(context, event, targets, 'first-answers', options.signal)
    return { event, plan, report, delivery }
  } finally {
    release()
  }
}

// ---- profiles ------------------------------------------------------------------------------------

/**
 * Reads a kind 0 event into a {@link Profile}: the content as a JSON object (`{}` when it is not
 * one), and the well-known string fields.
 *
 * @param event - a kind 0 event.
 * @returns the profile.
 * @internal
 */
export function profileFromEvent(event: NostrEvent): Profile {
  const fields = jsonObject(event.content) ?? {}
  const profile: Record<string, unknown> = { pubkey: event.pubkey, event, fields }
  for (const [property, field] of PROFILE_FIELDS) {
    const value = Object.hasOwn(fields, field) ? fields[field] : undefined
    if (typeof value === 'string') profile[property] = value
  }
  return profile as unknown as Profile
}

/**
 * A person's profile: the newest kind 0 from their outboxes, the indexers and storage.
 *
 * @param context - the client's parts.
 * @param pubkey - the person (hex).
 * @param options - `signal`.
 * @returns the profile, or `undefined` when none was found.
 * @throws TypeError for a malformed pubkey; ClientError `CLIENT_ABORTED`, `CLIENT_CLOSED`.
 * @internal
 */
export async function readProfile(context: ClientContext, pubkey: string, options: ReadOptions = {}): Promise<Profile | undefined> {
  checkPubkey(pubkey, 'pubkey')
  checkObject(options, 'options')
  const event = await readNewest(context, pubkey, PROFILE_KIND, options.signal, options.relays)
  return event === undefined ? undefined : profileFromEvent(event)
}

/**
 * Edits the user's profile: the newest kind 0 is looked for first, `changes` are merged into its
 * fields (`null` removes one, `undefined` is ignored), every other field and every tag is kept.
 *
 * @param context - the client's parts.
 * @param changes - fields to set or remove.
 * @param options - `minAnswers`, `pow`, `signal`.
 * @returns the publish result (outboxes and indexers).
 * @throws TypeError for malformed changes; ClientError `CLIENT_NO_SIGNER`, `CLIENT_NO_TARGETS`,
 * `CLIENT_LIST_UNREADABLE` (the newest content is not a JSON object: editing would clobber it),
 * `CLIENT_ABORTED`, `CLIENT_CLOSED`; OutboxError `TRACKER_UNCONFIRMED`.
 * @internal
 */
export async function updateProfile(context: ClientContext, changes: Readonly<Record<string, unknown>>, options: EditOptions = {}): Promise<PublishResult> {
  checkObject(changes, 'changes')
  // Fail on values JSON cannot hold before any network work.
  for (const [key, value] of Object.entries(changes)) {
    if (typeof value === 'function' || typeof value === 'symbol' || typeof value === 'bigint') throw new TypeError(`changes.${key} must be a JSON value or null`)
  }
  return editOwnList(context, PROFILE_KIND, 'updating the profile', options, (previous) => {
    let fields: Record<string, unknown> = {}
    // An empty content holds nothing to clobber; anything else must be a JSON object.
    if (previous !== undefined && previous.content.trim() !== '') {
      const parsed = jsonObject(previous.content)
      if (parsed === undefined) {
        throw new ClientError('CLIENT_LIST_UNREADABLE', 'The newest profile is not a JSON object: editing it would lose its content', {
          details: `event ${previous.id}`,
        })
      }
      fields = parsed
    }
    const merged: Record<string, unknown> = { ...fields }
    for (const [key, value] of Object.entries(changes)) {
      if (value === null) delete merged[key]
      else if (value !== undefined) merged[key] = value
    }
    return { content: JSON.stringify(merged), tags: previous?.tags.map((tag) => [...tag]) ?? [] }
  })
}

// ---- follow lists --------------------------------------------------------------------------------

/**
 * The follow entries of a kind 3: `p` tags with a valid pubkey, first occurrence wins, with the
 * relay hint and petname when present.
 *
 * @param event - a kind 3 event.
 * @returns the entries, in tag order.
 * @internal
 */
export function followEntries(event: NostrEvent): FollowEntry[] {
  const seen = new Set<string>()
  const out: FollowEntry[] = []
  for (const tag of event.tags) {
    if (tag[0] !== 'p' || !isValidPublicKey(tag[1]) || seen.has(tag[1])) continue
    seen.add(tag[1])
    const relay = tag[2]
    const petname = tag[3]
    out.push({
      pubkey: tag[1],
      ...(typeof relay === 'string' && relay !== '' && { relay }),
      ...(typeof petname === 'string' && petname !== '' && { petname }),
    })
  }
  return out
}

/**
 * A person's follow list: the newest kind 3 from storage, their outboxes and the indexers.
 *
 * @param context - the client's parts.
 * @param pubkey - the person (hex).
 * @param options - `signal`.
 * @returns the list (`event: undefined`, no follows, when none exists).
 * @throws TypeError for a malformed pubkey; ClientError `CLIENT_ABORTED`, `CLIENT_CLOSED`.
 * @internal
 */
export async function readFollows(context: ClientContext, pubkey: string, options: ReadOptions = {}): Promise<FollowList> {
  checkPubkey(pubkey, 'pubkey')
  checkObject(options, 'options')
  const event = await readNewest(context, pubkey, FOLLOW_KIND, options.signal, options.relays)
  return { pubkey, event, follows: event === undefined ? [] : followEntries(event) }
}

/** One entry to add, from a string (hex, npub, nprofile: its first relay is the hint) or an object. */
function entryToAdd(input: string | FollowEntry, index: number): FollowEntry {
  const field = `change.add[${index}]`
  if (typeof input === 'string') {
    const person = parsePerson(input, field)
    const relay = person.relays.map((url) => tryNormalizeRelayUrl(url)).find((url) => url !== undefined)
    return { pubkey: person.pubkey, ...(relay !== undefined && { relay }) }
  }
  checkObject(input, field)
  const pubkey = parsePerson(input.pubkey, `${field}.pubkey`).pubkey
  let relay: string | undefined
  if (input.relay !== undefined) {
    relay = tryNormalizeRelayUrl(input.relay)
    if (relay === undefined) throw new TypeError(`${field}.relay must be a relay URL`)
  }
  if (input.petname !== undefined && typeof input.petname !== 'string') throw new TypeError(`${field}.petname must be a string`)
  return { pubkey, ...(relay !== undefined && { relay }), ...(input.petname !== undefined && input.petname !== '' && { petname: input.petname }) }
}

/** A `p` tag with the entry's relay and petname, keeping any field after them. */
function followTag(entry: FollowEntry, old?: readonly string[]): string[] {
  const tag = old === undefined ? ['p', entry.pubkey] : [...old]
  const relay = entry.relay ?? tag[2] ?? ''
  const petname = entry.petname ?? tag[3]
  if (relay !== '' || petname !== undefined || tag.length > 2) tag[2] = relay
  if (petname !== undefined) tag[3] = petname
  return tag
}

/**
 * Edits the user's follow list: the newest kind 3 is looked for first; its content (which may hold
 * a legacy relay map) and every tag other than the people removed are kept in place; people added
 * are appended (someone already followed stays where they are, with the new relay hint or petname).
 * The change is recorded for the `follow-list-unpublished` alert before it is sent, and stored
 * locally so the next read sees it.
 *
 * @param context - the client's parts.
 * @param change - people to add and to remove (removal wins for someone in both).
 * @param options - `minAnswers`, `pow`, `signal`.
 * @returns the publish result (outboxes and indexers).
 * @throws TypeError for a malformed person; as {@link updateProfile} otherwise (except `CLIENT_LIST_UNREADABLE`).
 * @internal
 */
export async function editFollows(context: ClientContext, change: FollowChange, options: EditOptions = {}): Promise<PublishResult> {
  checkObject(change, 'change')
  if (change.add !== undefined && !Array.isArray(change.add)) throw new TypeError('change.add must be an array')
  if (change.remove !== undefined && !Array.isArray(change.remove)) throw new TypeError('change.remove must be an array')
  const additions = (change.add ?? []).map(entryToAdd)
  const removals = new Set((change.remove ?? []).map((input, i) => parsePerson(input, `change.remove[${i}]`).pubkey))
  return editOwnList(
    context,
    FOLLOW_KIND,
    'editing the follow list',
    options,
    (previous) => {
      const tags = (previous?.tags ?? []).map((tag) => [...tag])
      for (const entry of additions) {
        const at = tags.findIndex((tag) => tag[0] === 'p' && tag[1] === entry.pubkey)
        if (at === -1) tags.push(followTag(entry))
        else if (entry.relay !== undefined || entry.petname !== undefined) tags[at] = followTag(entry, tags[at])
      }
      const kept = tags.filter((tag) => !(tag[0] === 'p' && tag[1] !== undefined && removals.has(tag[1])))
      return { content: previous?.content ?? '', tags: kept }
    },
    async (event) => {
      // Written before sending: if no relay ever takes the change, `alerts()` can say so. The
      // event itself is cached by the queue's delivery, once it is queued.
      await context.storage.putRecord('settings', FOLLOW_EDIT_RECORD, { eventId: event.id, changedAt: context.now() })
    },
  )
}
