/**
 * A minimal NIP-46 remote signer written with nostr-tools primitives only (its NIP-44, NIP-04,
 * `finalizeEvent`, `verifyEvent`) over a bare WebSocket: the wire format our client speaks is
 * checked against an implementation that shares no code with our own bunker. Scriptable, so the
 * same bunker also plays the misbehaving ones (silent, malformed, auth_url, NIP-04, forgeries).
 */
import * as ntNip04 from 'nostr-tools/nip04'
import * as ntNip44 from 'nostr-tools/nip44'
import { finalizeEvent, generateSecretKey, getPublicKey, verifyEvent, type Event } from 'nostr-tools/pure'
import { openRawClient, type RawClient } from '../helpers/relay-fleet.js'

/** A request as the scripted bunker received it. */
export interface ReceivedRequest {
  readonly event: Event
  readonly scheme: 'nip44' | 'nip04'
  readonly id: string
  readonly method: string
  readonly params: string[]
}

/** What a script can do with one request. */
export interface ScriptContext {
  /** The honest answer (what a correct bunker replies), as a response body. */
  honest(): { id: string; result: string; error?: string }
  /** Sends a response body (object → JSON; string → sent as the plaintext as is). */
  reply(body: object | string, options?: { scheme?: 'nip44' | 'nip04'; signWith?: Uint8Array; to?: string }): Promise<void>
  /** Publishes an event exactly as given (for forgeries). */
  sendRaw(event: unknown): void
}

/** `'honest'` (the default), nothing (silence), or anything done through the context. */
export type Script = (request: ReceivedRequest, ctx: ScriptContext) => 'honest' | void | Promise<'honest' | void>

export interface ScriptedBunker {
  readonly pubkey: string
  readonly secretKey: Uint8Array
  readonly userPubkey: string
  readonly userSecretKey: Uint8Array
  readonly requests: ReceivedRequest[]
  /** A bunker:// token for this bunker on its relay. */
  uri(secret?: string): string
  /** Answers a nostrconnect:// token (sends the connect response with its secret, or `result`). */
  acceptNostrConnect(uri: string, result?: string): Promise<void>
  setScript(script: Script | undefined): void
  close(): Promise<void>
}

export async function startScriptedBunker(relayUrl: string, options: { secret?: string; userSecretKey?: Uint8Array; script?: Script } = {}): Promise<ScriptedBunker> {
  const bunkerSk = generateSecretKey()
  const userSk = options.userSecretKey ?? generateSecretKey()
  const pubkey = getPublicKey(bunkerSk)
  const userPubkey = getPublicKey(userSk)
  const raw: RawClient = await openRawClient(relayUrl)
  const requests: ReceivedRequest[] = []
  let script = options.script
  const seen = new Set<string>()

  const publish = (event: unknown): void => {
    if (raw.ws.readyState === raw.ws.OPEN) raw.send(['EVENT', event])
  }

  const encryptFor = (to: string, text: string, scheme: 'nip44' | 'nip04', sk: Uint8Array): string =>
    scheme === 'nip04' ? ntNip04.encrypt(sk, to, text) : ntNip44.encrypt(text, ntNip44.getConversationKey(sk, to))

  const send = (to: string, body: object | string, scheme: 'nip44' | 'nip04', signWith = bunkerSk): void => {
    const text = typeof body === 'string' ? body : JSON.stringify(body)
    const event = finalizeEvent({ kind: 24133, created_at: Math.floor(Date.now() / 1000), tags: [['p', to]], content: encryptFor(to, text, scheme, signWith) }, signWith)
    publish(event)
  }

  const honest = (req: ReceivedRequest): { id: string; result: string; error?: string } => {
    const [a = '', b = ''] = req.params
    switch (req.method) {
      case 'connect':
        if (options.secret !== undefined && b !== options.secret) return { id: req.id, result: '', error: 'invalid secret' }
        return { id: req.id, result: 'ack' }
      case 'get_public_key':
        return { id: req.id, result: userPubkey }
      case 'ping':
        return { id: req.id, result: 'pong' }
      case 'switch_relays':
        return { id: req.id, result: 'null' }
      case 'sign_event':
        return { id: req.id, result: JSON.stringify(finalizeEvent(JSON.parse(a), userSk)) }
      case 'nip44_encrypt':
        return { id: req.id, result: ntNip44.encrypt(b, ntNip44.getConversationKey(userSk, a)) }
      case 'nip44_decrypt':
        return { id: req.id, result: ntNip44.decrypt(b, ntNip44.getConversationKey(userSk, a)) }
      case 'nip04_encrypt':
        return { id: req.id, result: ntNip04.encrypt(userSk, a, b) }
      case 'nip04_decrypt':
        return { id: req.id, result: ntNip04.decrypt(userSk, a, b) }
      default:
        return { id: req.id, result: '', error: `unsupported method: ${req.method}` }
    }
  }

  raw.ws.on('message', (data: Buffer) => {
    let message: unknown
    try {
      message = JSON.parse(data.toString('utf8'))
    } catch {
      return
    }
    if (!Array.isArray(message) || message[0] !== 'EVENT') return
    const event = message[2] as Event
    // The test relay forwards live kind 24133 events without checking the #p filter: check here.
    if (!event || event.kind !== 24133 || !event.tags.some((t) => t[0] === 'p' && t[1] === pubkey)) return
    if (seen.has(event.id) || !verifyEvent(event)) return
    seen.add(event.id)
    const scheme = event.content.includes('?iv=') ? 'nip04' : 'nip44'
    let body: { id: string; method: string; params: string[] }
    try {
      const text = scheme === 'nip04' ? ntNip04.decrypt(bunkerSk, event.pubkey, event.content) : ntNip44.decrypt(event.content, ntNip44.getConversationKey(bunkerSk, event.pubkey))
      body = JSON.parse(text)
    } catch {
      return
    }
    const req: ReceivedRequest = { event, scheme, id: body.id, method: body.method, params: body.params }
    requests.push(req)
    const ctx: ScriptContext = {
      honest: () => honest(req),
      reply: async (reply, opts = {}) => send(opts.to ?? event.pubkey, reply, opts.scheme ?? scheme, opts.signWith),
      sendRaw: publish,
    }
    void (async () => {
      const decision = script === undefined ? 'honest' : await script(req, ctx)
      if (decision === 'honest') send(event.pubkey, honest(req), scheme)
    })()
  })

  const subId = 'bunker'
  raw.send(['REQ', subId, { kinds: [24133], '#p': [pubkey], since: Math.floor(Date.now() / 1000) - 60 }])
  await raw.next((m) => m[0] === 'EOSE' && m[1] === subId)

  return {
    pubkey,
    secretKey: bunkerSk,
    userPubkey,
    userSecretKey: userSk,
    requests,
    uri: (secret = options.secret) => `bunker://${pubkey}?relay=${encodeURIComponent(relayUrl)}${secret === undefined ? '' : `&secret=${secret}`}`,
    acceptNostrConnect: async (uri, result) => {
      const url = new URL(uri)
      const client = url.host || url.pathname.replace(/^\/\//, '')
      send(client, { id: Math.random().toString(36).slice(2), result: result ?? url.searchParams.get('secret') ?? '' }, 'nip44')
    },
    setScript: (next) => {
      script = next
    },
    close: () => raw.close(),
  }
}

/**
 * Sends one NIP-46 request as a bare client (nostr-tools primitives, a raw WebSocket) and returns
 * the decrypted response body, or `undefined` when none came within `waitMs`.
 */
export async function rawRequest(
  relayUrl: string,
  bunkerPubkey: string,
  method: string,
  params: string[],
  options: { clientSecretKey?: Uint8Array; waitMs?: number; createdAt?: number; body?: string } = {},
): Promise<{ id: string; result?: unknown; error?: string } | undefined> {
  const sk = options.clientSecretKey ?? generateSecretKey()
  const pk = getPublicKey(sk)
  const raw = await openRawClient(relayUrl)
  try {
    const subId = 'client'
    raw.send(['REQ', subId, { kinds: [24133], '#p': [pk], authors: [bunkerPubkey] }])
    await raw.next((m) => m[0] === 'EOSE' && m[1] === subId)
    const id = Math.random().toString(36).slice(2)
    const ck = ntNip44.getConversationKey(sk, bunkerPubkey)
    const text = options.body ?? JSON.stringify({ id, method, params })
    const createdAt = options.createdAt ?? Math.floor(Date.now() / 1000)
    const event = finalizeEvent({ kind: 24133, created_at: createdAt, tags: [['p', bunkerPubkey]], content: ntNip44.encrypt(text, ck) }, sk)
    const start = raw.messages.length
    raw.send(['EVENT', event])
    const wait = options.waitMs ?? 1_000
    try {
      const found = await raw.next((m) => {
        if (m[0] !== 'EVENT' || m[1] !== subId) return false
        const e = m[2] as Event
        if (e.pubkey !== bunkerPubkey || !e.tags.some((t) => t[0] === 'p' && t[1] === pk)) return false
        try {
          const answered = JSON.parse(ntNip44.decrypt(e.content, ck)).id
          return answered === id || (options.body !== undefined && answered === JSON.parse(options.body).id)
        } catch {
          return false
        }
      }, wait, start)
      return JSON.parse(ntNip44.decrypt((found[2] as Event).content, ck))
    } catch {
      return undefined
    }
  } finally {
    await raw.close()
  }
}
