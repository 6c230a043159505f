/**
 * Approval before connecting to a relay not seen before, and before answering a relay's AUTH
 * challenge: the gates the client hands its pool (`approveConnect`, `auth`, `isBlocked`), the
 * decisions remembered in storage (`settings` collection, keys `approval:<kind>:<url>`), and
 * `client.approvals` to list, change and forget them.
 *
 * Who is never asked about: the app's `indexerRelays`, relays the user ranked 1-9 through
 * `client.relays`, the user's own relays (their kind 10002 and 10050 as tracked), and URLs the
 * client itself uses as `configured` (the user's own lists, relays the app named explicitly).
 * Everything else (other people's outboxes and inboxes, hints, tags) is "not seen before" until a
 * decision exists. Blocked relays (rank 0, the NIP-51 blocked list) are refused without asking.
 *
 * @module
 */
import type { NostrEvent } from '../crypto/event.js'
import type { RelayPoolOptions } from '../relay-pool/pool.js'
import { createAuthPolicy } from '../relay-pool/policy.js'
import type { RelayOrigin } from '../relay-pool/types.js'
import { tryNormalizeRelayUrl } from '../relay-pool/url.js'
import type { ClientContext } from './context.js'
import { createSpamFilter, type SpamFilter } from './spam-filter.js'
import type { ApprovalDecision, ClientOptions } from './types.js'

/** What an approval is about: connecting to a relay, or authenticating to it (NIP-42). */
export type ApprovalKind = 'connect' | 'auth'

/** A decision remembered in storage. */
export interface RememberedApproval {
  readonly kind: ApprovalKind
  /** Normalised relay URL. */
  readonly url: string
  readonly decision: 'allow' | 'deny'
  /** When it was decided (ms). */
  readonly decidedAt: number
}

/**
 * `client.approvals`: the remembered answers to "connect to this relay?" and "AUTH to it?". They
 * are consulted while the matching callback (`approveRelay`, `approveAuth`) is set.
 */
export interface ApprovalsApi {
  /**
   * Every remembered decision, sorted by kind then URL. Session-only answers (`allow-once`,
   * `deny-once`) are not listed.
   *
   * @param kind - only this kind.
   * @returns the decisions.
   * @example
   * ```ts
   * for (const a of await client.approvals.list('connect')) console.log(a.url, a.decision)
   * ```
   */
  list(kind?: ApprovalKind): Promise<RememberedApproval[]>
  /**
   * Records a decision (the app's settings screen, say) and applies it from the next use of the
   * relay: a relay now denied gets no new connection; one already open closes when idle.
   *
   * @param kind - `connect` or `auth`.
   * @param url - the relay URL (any spelling).
   * @param decision - `allow` or `deny`.
   * @returns the remembered decision.
   * @throws TypeError for a bad kind, URL or decision.
   * @example
   * ```ts
   * await client.approvals.set('auth', 'wss://paid.example.com', 'allow')
   * ```
   */
  set(kind: ApprovalKind, url: string, decision: 'allow' | 'deny'): Promise<RememberedApproval>
  /**
   * Forgets decisions (remembered and session-only), so the callback is asked again.
   *
   * @param kind - `connect` or `auth`.
   * @param url - one relay; every relay of that kind when omitted.
   * @returns how many remembered decisions were removed.
   * @example
   * ```ts
   * await client.approvals.forget('connect', 'wss://relay.example.com')
   * ```
   */
  forget(kind: ApprovalKind, url?: string): Promise<number>
}

/** The record key prefix in the `settings` collection. */
const RECORD_PREFIX = 'approval:'
const KINDS: readonly ApprovalKind[] = ['connect', 'auth']

/** The gates and state shared by the pool hooks and `client.approvals`. @internal */
export interface PrivacyGates {
  /** Hooks for the pool the client creates. */
  readonly poolOptions: Pick<RelayPoolOptions, 'approveConnect' | 'auth' | 'isBlocked' | 'admitEvent'>
  /** Events the client cached (the user's follow-list edits reach the spam filter this way). */
  observe(events: readonly NostrEvent[]): void
  /** @internal */
  readonly store: DecisionStore
}

/** Remembered and session decisions, loaded once from storage. @internal */
interface DecisionStore {
  /** The decision for a relay, once loaded; undefined when none. */
  get(kind: ApprovalKind, url: string): Promise<'allow' | 'deny' | undefined>
  /** Applies an answer of the callback. */
  answer(kind: ApprovalKind, url: string, decision: ApprovalDecision): Promise<boolean>
  set(kind: ApprovalKind, url: string, decision: 'allow' | 'deny'): Promise<RememberedApproval>
  forget(kind: ApprovalKind, url?: string): Promise<number>
  list(kind?: ApprovalKind): Promise<RememberedApproval[]>
}

const DECISIONS: ReadonlySet<unknown> = new Set(['allow', 'deny', 'allow-once', 'deny-once'])

function recordKey(kind: ApprovalKind, url: string): string {
  return `${RECORD_PREFIX}${kind}:${url}`
}

function checkKind(kind: unknown): ApprovalKind {
  if (kind !== 'connect' && kind !== 'auth') throw new TypeError("kind must be 'connect' or 'auth'")
  return kind
}

function checkUrl(url: unknown): string {
  const normalized = typeof url === 'string' ? tryNormalizeRelayUrl(url) : undefined
  if (normalized === undefined) throw new TypeError('url must be a relay URL')
  return normalized
}

/** Reads a stored record; anything malformed is ignored (and overwritten by the next decision). */
function parseRecord(key: string, value: unknown): RememberedApproval | undefined {
  const rest = key.slice(RECORD_PREFIX.length)
  const colon = rest.indexOf(':')
  const kind = rest.slice(0, colon)
  const url = rest.slice(colon + 1)
  if (colon < 0 || !KINDS.includes(kind as ApprovalKind)) return undefined
  const record = value as { decision?: unknown; decidedAt?: unknown } | null
  if (record === null || typeof record !== 'object' || (record.decision !== 'allow' && record.decision !== 'deny')) return undefined
  const decidedAt = typeof record.decidedAt === 'number' && Number.isFinite(record.decidedAt) ? record.decidedAt : 0
  return { kind: kind as ApprovalKind, url, decision: record.decision, decidedAt }
}

function createDecisionStore(context: () => ClientContext): DecisionStore {
  const remembered = new Map<string, RememberedApproval>()
  const session = new Map<string, 'allow' | 'deny'>()
  let loading: Promise<void> | undefined
  const load = (): Promise<void> => {
    loading ??= context()
      .storage.listRecords('settings', RECORD_PREFIX)
      .then(
        (records) => {
          for (const [key, value] of records) {
            const parsed = parseRecord(key, value)
            // A decision made while loading is newer than the stored one.
            if (parsed !== undefined && !remembered.has(`${parsed.kind} ${parsed.url}`)) remembered.set(`${parsed.kind} ${parsed.url}`, parsed)
          }
        },
        (error: unknown) => {
          // Unreadable decisions: ask again rather than fail every connection.
          context().reportError(error)
        },
      )
    return loading
  }
  const persist = async (kind: ApprovalKind, url: string, decision: 'allow' | 'deny'): Promise<RememberedApproval> => {
    const entry: RememberedApproval = { kind, url, decision, decidedAt: context().now() }
    remembered.set(`${kind} ${url}`, entry)
    session.delete(`${kind} ${url}`)
    await context().storage.putRecord('settings', recordKey(kind, url), { decision, decidedAt: entry.decidedAt })
    return entry
  }
  return {
    async get(kind, url) {
      await load()
      const key = `${kind} ${url}`
      return session.get(key) ?? remembered.get(key)?.decision
    },
    async answer(kind, url, decision) {
      const allowed = decision === 'allow' || decision === 'allow-once'
      if (decision === 'allow' || decision === 'deny') {
        try {
          await persist(kind, url, decision)
        } catch (error) {
          // Not remembered: the answer still holds for this run.
          session.set(`${kind} ${url}`, decision)
          context().reportError(error)
        }
      } else session.set(`${kind} ${url}`, allowed ? 'allow' : 'deny')
      return allowed
    },
    async set(kind, url, decision) {
      await load()
      return persist(kind, url, decision)
    },
    async forget(kind, url) {
      await load()
      const prefix = `${kind} `
      const urls =
        url !== undefined
          ? [url]
          : [...remembered.keys(), ...session.keys()].filter((key) => key.startsWith(prefix)).map((key) => key.slice(prefix.length))
      let removed = 0
      for (const target of new Set(urls)) {
        session.delete(`${kind} ${target}`)
        if (remembered.delete(`${kind} ${target}`)) removed += 1
        await context().storage.deleteRecord('settings', recordKey(kind, target))
      }
      return removed
    },
    async list(kind) {
      await load()
      return [...remembered.values()]
        .filter((entry) => kind === undefined || entry.kind === kind)
        .sort((a, b) => (a.kind === b.kind ? (a.url < b.url ? -1 : a.url > b.url ? 1 : 0) : a.kind < b.kind ? -1 : 1))
    },
  }
}

/** Whether a relay is the app's or the user's own choice, so it needs no approval. */
function preApproved(context: ClientContext, url: string, origin: RelayOrigin, me: string | undefined): boolean {
  if (origin === 'configured') return true
  if (context.options.indexerRelays.some((relay) => tryNormalizeRelayUrl(relay) === url)) return true
  if (context.relayConfig.all().some((preference) => preference.url === url && preference.rank > 0)) return true
  if (me !== undefined) {
    const own = context.tracker.relayListOf(me)
    if (own !== undefined && (own.write.includes(url) || own.read.includes(url) || (own.dm ?? []).includes(url))) return true
  }
  return false
}

/**
 * Builds the gates from the client's options. `context` is read lazily: the pool is built (with
 * these hooks) before the context exists, and the hooks only run once it does.
 *
 * @internal
 */
export function createPrivacyGates(options: ClientOptions, context: () => ClientContext): PrivacyGates {
  const store = createDecisionStore(context)
  let me: string | undefined
  const learnMe = (): Promise<string | undefined> =>
    me !== undefined
      ? Promise.resolve(me)
      : context()
          .me()
          .then(
            (pubkey) => (me = pubkey),
            () => undefined,
          )
  /** One pending question per kind and relay, shared by everyone who needs the answer. */
  const asking = new Map<string, Promise<boolean>>()
  const ask = (kind: ApprovalKind, url: string, question: () => unknown): Promise<boolean> => {
    const key = `${kind} ${url}`
    let pending = asking.get(key)
    if (pending === undefined) {
      pending = (async () => {
        const known = await store.get(kind, url)
        if (known !== undefined) return known === 'allow'
        let decision: unknown
        try {
          decision = await question()
        } catch (error) {
          context().reportError(error)
          decision = 'deny-once'
        }
        return store.answer(kind, url, DECISIONS.has(decision) ? (decision as ApprovalDecision) : 'deny-once')
      })()
      asking.set(key, pending)
      const done = (): void => {
        if (asking.get(key) === pending) asking.delete(key)
      }
      pending.then(done, done)
    }
    return pending
  }

  const approveRelay = options.approveRelay
  const appGate = options.pool?.approveConnect
  const askUser: RelayPoolOptions['approveConnect'] =
    approveRelay === undefined
      ? appGate
      : async (url, origin) => {
          const ctx = context()
          if (preApproved(ctx, url, origin, me)) return true
          // The user's own relays are known only once we know who the user is.
          if (me === undefined && preApproved(ctx, url, origin, await learnMe())) return true
          return ask('connect', url, () => approveRelay({ url, origin }))
        }
  // Always a gate: the relay settings load from storage when the client is created, and a read
  // started at once must not reach a relay the user blocked (rank 0, kind 10006) before they are
  // in. The pool checks `isBlocked` before this gate; after the load it is checked again here.
  const approveConnect: RelayPoolOptions['approveConnect'] = async (url, origin) => {
    const ctx = context()
    await ctx.relayConfig.loaded()
    if (isBlocked(url)) return false
    return askUser === undefined ? true : askUser(url, origin)
  }

  const approveAuth = options.approveAuth
  const basePolicy = createAuthPolicy(options.pool?.auth)
  const auth: RelayPoolOptions['auth'] =
    approveAuth === undefined
      ? options.pool?.auth
      : async (url) => {
          // What the app's own policy allows needs no question.
          if (await basePolicy(url)) return true
          return ask('auth', url, () => approveAuth({ url }))
        }

  const ownBlocked = options.pool?.isBlocked
  const isBlocked = (url: string): boolean => context().relayConfig.isBlocked(url) || ownBlocked?.(url) === true

  let spamFilter: SpamFilter | undefined
  if (options.spamFilter !== undefined && typeof options.spamFilter !== 'boolean') throw new TypeError('spamFilter must be a boolean')
  if (options.spamFilter === true) spamFilter = createSpamFilter(context)
  const ownAdmit = options.pool?.admitEvent
  const admitEvent: RelayPoolOptions['admitEvent'] =
    spamFilter === undefined
      ? ownAdmit
      : (event, relay, filters) => spamFilter.admit(event, relay, filters) && (ownAdmit === undefined || ownAdmit(event, relay, filters))

  return {
    poolOptions: {
      approveConnect,
      ...(auth !== undefined && { auth }),
      isBlocked,
      ...(admitEvent !== undefined && { admitEvent }),
    },
    observe(events) {
      spamFilter?.observe(events)
    },
    store,
  }
}

/** @internal */
export function createApprovalsApi(context: ClientContext): ApprovalsApi {
  const store = context.privacy.store
  return {
    list(kind) {
      return store.list(kind === undefined ? undefined : checkKind(kind))
    },
    async set(kind, url, decision) {
      checkKind(kind)
      const normalized = checkUrl(url)
      if (decision !== 'allow' && decision !== 'deny') throw new TypeError("decision must be 'allow' or 'deny'")
      context.assertOpen()
      const entry = await store.set(kind, normalized, decision)
      // The pool keeps the gate's last answer per relay: make it ask again.
      if (kind === 'connect') context.pool.forgetApproval(normalized)
      return entry
    },
    async forget(kind, url) {
      checkKind(kind)
      const normalized = url === undefined ? undefined : checkUrl(url)
      context.assertOpen()
      const removed = await store.forget(kind, normalized)
      if (kind === 'connect') context.pool.forgetApproval(normalized)
      return removed
    },
  }
}
