/**
 * Threads (NIP-10): finds the event asked for and its root where they are likely to be (hints,
 * the author's outboxes, the indexers last), reads the replies where replies go (the root
 * author's inboxes, the relays the events were seen on, the hints in `e` tags), keeps only events
 * that belong to the thread, and builds the reply tree. Internal: the public face is
 * `Client.thread`.
 *
 * @module
 */
import { isEventShape, type NostrEvent } from '../crypto/event.js'
import { isValidPublicKey } from '../crypto/keys.js'
import { mutedReason } from '../outbox/lists.js'
import { abortError, type ClientContext } from './context.js'
import { parseEventRef, parsePerson } from './identifiers.js'
import { ownMuteRules } from './list-store.js'
import { queryRelays, relayUrls } from './read.js'
import type { RelayQueryReport, Thread, ThreadNode, ThreadOptions } from './types.js'

/** Default of `ThreadOptions.limit`. */
const DEFAULT_LIMIT = 500
/**
 * Relay hints taken from the thread's tags (and from an nevent): anyone can write them, so a forged
 * event naming a hundred relays must not make the client connect to a hundred relays.
 */
const MAX_HINT_RELAYS = 12
/**
 * Deepest a node may hang. A real thread is far shallower; a deeper chain (or a cycle of forged
 * events) is cut and hung under the root, so that callers walking the tree recursively stay safe.
 */
const MAX_DEPTH = 256
/** People tagged by a reply whose outboxes are searched for its root when the root tag names no author. */
const MAX_GUESSED_AUTHORS = 3
const HEX64 = /^[0-9a-f]{64}$/

/** The NIP-10 references of an event: its root and its direct parent, as ids. @internal */
export interface ThreadRefs {
  /** The root's `e` tag, when the event names one. */
  readonly root?: readonly string[]
  /** The parent's `e` tag (the root's for a direct reply to the root). */
  readonly parent?: readonly string[]
}

/**
 * Reads the root and parent of a kind 1 event from its `e` tags: marked tags (`root`, `reply`)
 * when any tag carries a marker, else the deprecated positional form (first = root, last =
 * parent). `mention` tags are never part of the reply chain.
 *
 * @param event - the event.
 * @returns the tags of the root and the parent, when named.
 * @internal
 */
export function threadRefs(event: NostrEvent): ThreadRefs {
  const eTags = event.tags.filter((tag) => tag[0] === 'e' && typeof tag[1] === 'string' && HEX64.test(tag[1]) && tag[1] !== event.id)
  if (eTags.length === 0) return {}
  const marked = eTags.some((tag) => tag[3] === 'root' || tag[3] === 'reply' || tag[3] === 'mention')
  if (marked) {
    const root = eTags.find((tag) => tag[3] === 'root')
    const reply = eTags.find((tag) => tag[3] === 'reply')
    // A reply marker without a root marker: the event replies to the thread's start, which is its root.
    const rootTag = root ?? reply
    const parentTag = reply ?? root
    return { ...(rootTag !== undefined && { root: rootTag }), ...(parentTag !== undefined && { parent: parentTag }) }
  }
  return { root: eTags[0]!, parent: eTags[eTags.length - 1]! }
}


/** Fetches relay lists; a failure other than an abort is reported and the read goes on with what is known. */
async function ensureLists(context: ClientContext, pubkeys: readonly string[], signal: AbortSignal): Promise<void> {
  const unique = [...new Set(pubkeys)]
  if (unique.length === 0) return
  try {
    await context.tracker.ensureRelayLists(unique, { signal })
  } catch (error) {
    if (signal.aborted || context.closing.aborted) throw abortError(context, error)
    context.reportError(error)
  }
}

/** Storage reads never fail a read: a broken cache only means asking the network. */
async function fromStorage<T>(context: ClientContext, read: () => Promise<T>, fallback: T): Promise<T> {
  try {
    return await read()
  } catch (error) {
    context.reportError(error)
    return fallback
  }
}

/** An event found, with the relays it is known to be on. */
interface Found {
  readonly event: NostrEvent | undefined
  readonly seenOn: string[]
}

/**
 * Finds one event by id: storage first, then the hint relays, the given relays and the author's
 * outboxes, then (only if still missing) the indexers.
 */
async function findEvent(
  context: ClientContext,
  id: string,
  hints: readonly string[],
  authors: readonly string[],
  signal: AbortSignal,
  reports: RelayQueryReport[],
): Promise<Found> {
  const stored = await fromStorage(context, () => context.storage.getEvent(id), undefined)
  if (stored !== undefined && stored.id === id) {
    const seen = await fromStorage(context, () => context.storage.seenOn([id]), new Map<string, string[]>())
    return { event: stored, seenOn: relayUrls(seen.get(id) ?? []) }
  }
  await ensureLists(context, authors, signal)
  const outboxes = authors.flatMap((author) => context.tracker.relayListOf(author)?.write ?? [])
  const first = relayUrls([...hints, ...outboxes])
  const last = relayUrls(context.tracker.indexerRelays).filter((url) => !first.includes(url))
  for (const relays of [first, last]) {
    if (relays.length === 0) continue
    const result = await queryRelays(context, relays.map((url) => ({ url, filters: [{ ids: [id], limit: 1 }] })), { signal })
    reports.push(...result.relays)
    const event = result.events.find((e) => e.id === id)
    if (event !== undefined) return { event, seenOn: relayUrls(result.seenOn.get(id) ?? []) }
  }
  return { event: undefined, seenOn: [] }
}

/**
 * Whose outboxes to look for the root in: the author the root's `e` tag names (NIP-10), else the
 * first people the reply tags (a reply tags the author of what it answers, usually the root's first).
 */
function rootAuthors(target: NostrEvent, rootTag: readonly string[] | undefined): string[] {
  const named = rootTag?.[4]
  if (isValidPublicKey(named)) return [named]
  const tagged = target.tags.filter((tag) => tag[0] === 'p' && isValidPublicKey(tag[1])).map((tag) => tag[1]!)
  return [...new Set(tagged)].slice(0, MAX_GUESSED_AUTHORS)
}

/** The target as given: an event, or a reference with hints. */
function readTarget(target: string | NostrEvent): { id: string; event?: NostrEvent; relays: readonly string[]; author?: string } {
  if (typeof target === 'string') {
    const ref = parseEventRef(target, 'target')
    return { id: ref.id, relays: ref.relays, ...(ref.author !== undefined && isValidPublicKey(ref.author) && { author: ref.author }) }
  }
  if (!isEventShape(target)) throw new TypeError('target must be an event id, a note, an nevent or a signed event')
  return { id: target.id, event: target, relays: [], author: target.pubkey }
}

function checkOptions(options: ThreadOptions): { relays: string[]; author: string | undefined; limit: number; mutes: boolean } {
  if (options === null || typeof options !== 'object') throw new TypeError('options must be an object')
  if (options.relays !== undefined && (!Array.isArray(options.relays) || !options.relays.every((u) => typeof u === 'string'))) {
    throw new TypeError('options.relays must be an array of relay URLs')
  }
  const author = options.author === undefined ? undefined : parsePerson(options.author, 'options.author').pubkey
  const limit = options.limit ?? DEFAULT_LIMIT
  if (!Number.isSafeInteger(limit) || limit < 1) throw new RangeError('options.limit must be a positive integer')
  if (options.mutes !== undefined && typeof options.mutes !== 'boolean') throw new TypeError('options.mutes must be a boolean')
  return { relays: relayUrls(options.relays ?? []), author, limit, mutes: options.mutes !== false }
}

const oldestFirst = (a: NostrEvent, b: NostrEvent): number => a.created_at - b.created_at || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)

/**
 * Keeps the replies that belong to the thread: an event enters only when its NIP-10 root or parent
 * is the root, the target or an event already in (so an unrelated event a relay sent along, or one
 * that only mentions the thread, stays out).
 */
function threadMembers(candidates: readonly NostrEvent[], anchors: readonly string[], excluded: ReadonlySet<string>): NostrEvent[] {
  const byReference = new Map<string, NostrEvent[]>()
  for (const event of candidates) {
    if (event.kind !== 1 || excluded.has(event.id)) continue
    // Only the reply chain counts: an event that merely mentions the root is not part of the thread.
    const refs = threadRefs(event)
    for (const id of new Set([refs.root?.[1], refs.parent?.[1]])) {
      if (id === undefined) continue
      let list = byReference.get(id)
      if (list === undefined) byReference.set(id, (list = []))
      list.push(event)
    }
  }
  const members = new Map<string, NostrEvent>()
  const queue = [...anchors]
  // Each id is expanded once, so the walk ends after at most |candidates| + |anchors| steps.
  const expanded = new Set<string>()
  while (queue.length > 0) {
    const id = queue.shift()!
    if (expanded.has(id)) continue
    expanded.add(id)
    for (const event of byReference.get(id) ?? []) {
      if (members.has(event.id)) continue
      members.set(event.id, event)
      queue.push(event.id)
    }
  }
  return [...members.values()]
}

/**
 * Builds the tree under `top`: each event hangs under its NIP-10 parent when that parent is in the
 * tree, else under `top` (when `orphansToTop`) or nowhere. Chains deeper than `MAX_DEPTH`
 * are cut and hung under `top`; a cycle (only forged events can form one) is hung under `top` or
 * left out. No recursion: the depth of the input cannot exhaust the stack.
 *
 * @param top - the event at the top (the root, or the target when the root was not found).
 * @param members - the other events of the thread (`top` among them is ignored).
 * @param orphansToTop - hang events whose parent is missing under `top` (else leave them out).
 * @returns the tree; every child list is oldest first (ties by id).
 * @internal
 */
export function buildThreadTree(top: NostrEvent, members: readonly NostrEvent[], orphansToTop: boolean): ThreadNode {
  const byId = new Map<string, NostrEvent>(members.map((e) => [e.id, e]))
  byId.delete(top.id)
  const parentOf = new Map<string, string | undefined>()
  for (const event of byId.values()) {
    const parent = threadRefs(event).parent?.[1]
    if (parent !== undefined && (parent === top.id || byId.has(parent))) parentOf.set(event.id, parent)
    else parentOf.set(event.id, orphansToTop ? top.id : undefined)
  }
  // Oldest first, so that when a chain is cut the older (real) part stays in place.
  const ordered = [...byId.values()].sort(oldestFirst)
  for (const event of ordered) {
    const visited = new Set<string>()
    let at: string | undefined = event.id
    while (at !== undefined && at !== top.id && !visited.has(at) && visited.size <= MAX_DEPTH) {
      visited.add(at)
      at = parentOf.get(at)
    }
    if (at === top.id) continue
    if (at === undefined) parentOf.set(event.id, undefined)
    else if (visited.has(at)) parentOf.set(event.id, orphansToTop ? top.id : undefined) // a cycle of forged events
    else parentOf.set(event.id, top.id) // a real chain, too deep to show as such
  }
  const nodes = new Map<string, ThreadNode>([[top.id, { event: top, replies: [] }]])
  for (const event of ordered) if (parentOf.get(event.id) !== undefined) nodes.set(event.id, { event, replies: [] })
  for (const event of ordered) {
    const parent = parentOf.get(event.id)
    if (parent === undefined) continue
    const node = nodes.get(event.id)!
    const parentNode = nodes.get(parent)
    // A parent dropped above (its chain never reached the top) takes its children with it.
    if (parentNode !== undefined) parentNode.replies.push(node)
  }
  for (const node of nodes.values()) node.replies.sort((a, b) => oldestFirst(a.event, b.event))
  return nodes.get(top.id)!
}

/**
 * Reads a thread; see `Client.thread`.
 *
 * @param context - the client's parts.
 * @param target - hex id, `note`, `nevent`, or the event itself.
 * @param options - extra relays, the author, `limit`, `signal`.
 * @returns the thread; `target` is `undefined` when no relay had the event.
 * @throws TypeError/RangeError for a malformed target or option; ClientError `CLIENT_ABORTED`, `CLIENT_CLOSED`.
 * @internal
 */
export async function readThread(context: ClientContext, target: string | NostrEvent, options: ThreadOptions = {}): Promise<Thread> {
  const given = readTarget(target)
  const checked = checkOptions(options)
  context.assertOpen()
  const { signal, release } = context.link(options.signal)
  const reports: RelayQueryReport[] = []
  try {
    if (signal.aborted) throw abortError(context, signal.reason)
    // Read alongside the thread; a failure other than this read's abort leaves nothing muted.
    const mutes = checked.mutes ? ownMuteRules(context, signal).catch(() => undefined) : Promise.resolve(undefined)
    // ---- the target
    const author = checked.author ?? given.author
    let targetFound: Found
    if (given.event !== undefined) {
      const seen = await fromStorage(context, () => context.storage.seenOn([given.id]), new Map<string, string[]>())
      targetFound = { event: given.event, seenOn: relayUrls([...(seen.get(given.id) ?? []), ...given.relays]) }
    } else {
      const hints = relayUrls([...given.relays.slice(0, MAX_HINT_RELAYS), ...checked.relays])
      targetFound = await findEvent(context, given.id, hints, author === undefined ? [] : [author], signal, reports)
    }
    const targetEvent = targetFound.event
    if (targetEvent === undefined) {
      return { target: undefined, root: undefined, rootId: given.id, tree: undefined, events: new Map(), relays: reports, muted: 0 }
    }

    // ---- the root
    const refs = threadRefs(targetEvent)
    const rootTag = targetEvent.kind === 1 ? refs.root : undefined
    const rootId = rootTag?.[1] ?? targetEvent.id
    let rootFound: Found = { event: targetEvent, seenOn: targetFound.seenOn }
    if (rootId !== targetEvent.id) {
      const hints = relayUrls([rootTag?.[2], ...targetFound.seenOn, ...checked.relays])
      rootFound = await findEvent(context, rootId, hints, rootAuthors(targetEvent, rootTag), signal, reports)
    }
    const rootEvent = rootFound.event

    // ---- the replies, where replies go
    const replied = [rootEvent, targetEvent].filter((e): e is NostrEvent => e !== undefined)
    await ensureLists(context, replied.map((e) => e.pubkey), signal)
    const relays: string[] = []
    for (const event of replied) {
      const seenOn = event === rootEvent ? rootFound.seenOn : targetFound.seenOn
      const where = await fromStorage(context, () => context.router.repliesTo(event, { seenOn }), undefined)
      relays.push(...(where?.relays ?? seenOn))
    }
    // The relays the caller named hold the target: replies sent along with it may be there too.
    relays.push(...targetFound.seenOn, ...checked.relays)
    const tagHints = replied.flatMap((e) => e.tags.filter((tag) => tag[0] === 'e').map((tag) => tag[2]))
    const replyRelays = relayUrls([...relays, ...relayUrls(tagHints, MAX_HINT_RELAYS)])
    const ids = [...new Set([rootId, targetEvent.id])]
    const filters = ids.map((id) => ({ kinds: [1], '#e': [id], limit: checked.limit }))
    const result = replyRelays.length === 0 ? undefined : await queryRelays(context, replyRelays.map((url) => ({ url, filters })), { signal })
    if (result !== undefined) reports.push(...result.relays)

    // ---- only what belongs to the thread, as a tree
    const excluded = new Set(ids)
    // Newest first from queryRelays: trimming keeps the newest `limit`, as each relay did.
    const found = threadMembers(result?.events ?? [], ids, excluded).sort((a, b) => -oldestFirst(a, b)).slice(0, checked.limit)
    const rules = await mutes
    if (signal.aborted) throw abortError(context, signal.reason)
    // Muted replies leave the tree; replies to them hang under the top like any reply whose parent
    // is missing. The target and the root were asked for: they always show.
    const members = rules === undefined ? found : found.filter((event) => mutedReason(event, rules) === undefined)
    const events = new Map<string, NostrEvent>()
    for (const event of [...replied, ...members]) events.set(event.id, event)
    const tree =
      rootEvent !== undefined
        ? buildThreadTree(rootEvent, rootEvent === targetEvent ? members : [targetEvent, ...members], true)
        : buildThreadTree(targetEvent, members, false)
    return { target: targetEvent, root: rootEvent, rootId, tree, events, relays: reports, muted: found.length - members.length }
  } finally {
    release()
  }
}
