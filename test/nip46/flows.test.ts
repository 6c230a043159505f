/**
 * Our NIP-46 client against our bunker, on the wire through real local relays: the bunker:// and
 * nostrconnect:// flows (with a relay switch), signing and NIP-04/NIP-44 round trips with a user key
 * that is not the bunker's key, approvals and granted permissions, single-use secrets, refusal of
 * clients that never connected, resumed sessions, logout, close() leaving nothing open, and a
 * facade client publishing through the remote signer.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { generateSecretKey, getPublicKey } from '../../src/crypto/keys.js'
import * as nip04 from '../../src/crypto/nip04.js'
import * as nip44 from '../../src/crypto/nip44.js'
import { createSecretKeySigner } from '../../src/crypto/secret-key-signer.js'
import { verifyEvent } from '../../src/crypto/signature.js'
import { isRendezvousError } from '../../src/errors.js'
import { connectBunker, createBunker, parseBunkerUri, startNostrConnect, type ApprovalRequest, type Bunker, type BunkerOptions, type BunkerSession } from '../../src/nip46/index.js'
import { seedPerson, testClient } from '../helpers/client-harness.js'
import { expectRejectionCode } from '../helpers/errors.js'
import { expectNoLeaks, takeBaseline } from '../helpers/leak-check.js'
import { openRawClient, startFleet, type TestFleet } from '../helpers/relay-fleet.js'
import { rawRequest } from './nt-bunker.js'
import { POOL } from './setup.js'

const QUICK = { poolOptions: POOL, timeoutMs: 5_000 }

let fleet: TestFleet
let relayA: string
let relayB: string

beforeAll(async () => {
  fleet = await startFleet(3)
  ;[relayA, relayB] = fleet.urls as [string, string]
}, 30_000)

afterAll(async () => {
  await fleet?.close()
})

interface TestBunker {
  readonly bunker: Bunker
  readonly userSk: Uint8Array
  readonly approvals: ApprovalRequest[]
  readonly errors: unknown[]
}

/** A bunker with its own remote-signer key (not the user's), approving everything unless told. */
async function startBunker(options: Partial<BunkerOptions> & { userSk?: Uint8Array } = {}): Promise<TestBunker> {
  const userSk = options.userSk ?? generateSecretKey()
  const approvals: ApprovalRequest[] = []
  const errors: unknown[] = []
  const approve = options.approve ?? (() => true)
  const bunker = await createBunker({
    relays: [relayB],
    poolOptions: POOL,
    onError: (error) => errors.push(error),
    ...options,
    signer: options.signer ?? createSecretKeySigner(userSk),
    bunkerSigner: options.bunkerSigner ?? createSecretKeySigner(generateSecretKey()),
    approve: (request) => {
      approvals.push(request)
      return approve(request)
    },
  })
  return { bunker, userSk, approvals, errors }
}

describe('bunker:// flow', () => {
  it('connects, learns a user key distinct from the bunker key, and signs, encrypts and decrypts through the bunker', async () => {
    const { bunker, userSk, approvals, errors } = await startBunker()
    const userPubkey = getPublicKey(userSk)
    expect(bunker.pubkey).not.toBe(userPubkey)
    expect(bunker.userPubkey).toBe(userPubkey)
    const signer = await connectBunker(bunker.bunkerUri(), {
      ...QUICK,
      perms: ['sign_event:1', 'nip44_encrypt', 'nip44_decrypt', 'nip04_encrypt', 'nip04_decrypt'],
      metadata: { name: 'flow test', url: 'https://app.example.com' },
    })
    try {
      expect(signer.remoteSignerPubkey).toBe(bunker.pubkey)
      expect(signer.userPubkey).toBe(userPubkey)
      expect(await signer.getPublicKey()).toBe(userPubkey)
      expect(signer.relays()).toEqual([relayB])

      const event = await signer.signEvent({ kind: 1, content: 'signed far away', tags: [['t', 'nip46']], created_at: 1_700_000_000 })
      expect(verifyEvent(event)).toBe(true)
      expect(event).toMatchObject({ pubkey: userPubkey, kind: 1, content: 'signed far away', tags: [['t', 'nip46']], created_at: 1_700_000_000 })

      const peerSk = generateSecretKey()
      const peer = getPublicKey(peerSk)
      const sealed = await signer.nip44.encrypt(peer, 'for the peer’s eyes')
      expect(nip44.decrypt(sealed, nip44.getConversationKey(peerSk, userPubkey))).toBe('for the peer’s eyes')
      const incoming = nip44.encrypt('from the peer', nip44.getConversationKey(peerSk, userPubkey))
      expect(await signer.nip44.decrypt(peer, incoming)).toBe('from the peer')
      const legacy = await signer.nip04.encrypt(peer, 'old style')
      expect(nip04.decrypt(peerSk, userPubkey, legacy)).toBe('old style')
      expect(await signer.nip04.decrypt(peer, nip04.encrypt(peerSk, userPubkey, 'old reply'))).toBe('old reply')
      await signer.ping()

      // Everything was granted at connect time: the app was asked once, for the connection.
      expect(approvals.map((a) => a.method)).toEqual(['connect'])
      expect(approvals[0]).toMatchObject({ clientPubkey: signer.clientPubkey, client: { name: 'flow test', url: 'https://app.example.com/' } })
      expect(approvals[0]!.perms).toEqual(['sign_event:1', 'nip44_encrypt', 'nip44_decrypt', 'nip04_encrypt', 'nip04_decrypt'])
      const [session] = bunker.sessions()
      expect(session).toMatchObject({ clientPubkey: signer.clientPubkey, relays: [relayB] })
      expect(signer.stats()).toMatchObject({ timeouts: 0 })
      expect(bunker.stats().refused).toBe(0)
      expect(errors).toEqual([])
    } finally {
      await signer.close()
      await bunker.close()
    }
  })

  it('asks the approval callback for what was not granted: denies one permission, allows another', async () => {
    const { bunker, approvals } = await startBunker({
      approve: (request) => request.method === 'connect' || request.method === 'nip44_encrypt' || (request.method === 'sign_event' && request.kind === 30023),
    })
    const signer = await connectBunker(bunker.bunkerUri(), { ...QUICK, perms: 'sign_event:1' })
    try {
      // Pre-approved: no question.
      await signer.signEvent({ kind: 1, content: 'granted' })
      expect(approvals.map((a) => a.method)).toEqual(['connect'])
      // Not granted, and the app says no.
      const refused = await expectRejectionCode(signer.signEvent({ kind: 7, content: '+', tags: [] }), 'SIGNER_REJECTED')
      expect(refused.details).toContain('sign_event refused')
      expect(approvals[1]).toMatchObject({ method: 'sign_event', kind: 7, clientPubkey: signer.clientPubkey, event: { kind: 7, content: '+' } })
      expect(approvals[1]!.summary).toContain('kind 7')
      // Not granted, and the app says yes.
      const peer = getPublicKey(generateSecretKey())
      expect(typeof (await signer.nip44.encrypt(peer, 'ok'))).toBe('string')
      expect(approvals[2]).toMatchObject({ method: 'nip44_encrypt', peerPubkey: peer })
      await expectRejectionCode(signer.nip44.decrypt(peer, 'AgAA'), 'SIGNER_REJECTED')
      const article = await signer.signEvent({ kind: 30023, content: '# long form', tags: [['d', 'a']] })
      expect(verifyEvent(article)).toBe(true)
      // Permissions changed by the app take effect at once.
      expect(bunker.grant(signer.clientPubkey, 'sign_event:7')).toBe(true)
      expect(verifyEvent(await signer.signEvent({ kind: 7, content: '+' }))).toBe(true)
      expect(bunker.revoke(signer.clientPubkey, 'sign_event:1')).toBe(true)
      await expectRejectionCode(signer.signEvent({ kind: 1, content: 'no longer granted' }), 'SIGNER_REJECTED')
      expect(bunker.stats().refused).toBe(3)
    } finally {
      await signer.close()
      await bunker.close()
    }
  })

  it('an approval that throws or never answers is a refusal, bounded by approvalTimeoutMs', async () => {
    let calls = 0
    const { bunker, errors } = await startBunker({
      approvalTimeoutMs: 300,
      approve: (request) => {
        if (request.method === 'connect') return true
        calls += 1
        if (calls === 1) throw new Error('prompt crashed')
        return new Promise<boolean>(() => {})
      },
    })
    const signer = await connectBunker(bunker.bunkerUri(), QUICK)
    try {
      await expectRejectionCode(signer.signEvent({ kind: 1, content: 'a' }), 'SIGNER_REJECTED')
      expect(errors.map((e) => (e as Error).message)).toEqual(['prompt crashed'])
      const started = Date.now()
      await expectRejectionCode(signer.signEvent({ kind: 1, content: 'b' }), 'SIGNER_REJECTED')
      expect(Date.now() - started).toBeGreaterThanOrEqual(250)
      expect(Date.now() - started).toBeLessThan(3_000)
    } finally {
      await signer.close()
      await bunker.close()
    }
  })

  it('refuses a wrong secret and a missing one; a secret works once, then bunkerUri() carries a new one', async () => {
    const { bunker, approvals } = await startBunker({ secret: 'first-secret' })
    const first = bunker.bunkerUri()
    expect(parseBunkerUri(first).secret).toBe('first-secret')
    const wrong = first.replace('first-secret', 'guessed-secret')
    const refusedWrong = await expectRejectionCode(connectBunker(wrong, QUICK), 'NIP46_REJECTED')
    expect(refusedWrong.details).toContain('invalid secret')
    const noSecret = first.replace(/&secret=[^&]*/, '')
    await expectRejectionCode(connectBunker(noSecret, QUICK), 'NIP46_REJECTED')
    // The right secret, once.
    const signer = await connectBunker(first, QUICK)
    // The same token again, from another client: spent.
    await expectRejectionCode(connectBunker(first, QUICK), 'NIP46_REJECTED')
    const second = bunker.bunkerUri()
    expect(parseBunkerUri(second).secret).not.toBe('first-secret')
    const other = await connectBunker(second, QUICK)
    try {
      expect(approvals.filter((a) => a.method === 'connect')).toHaveLength(2)
      expect(bunker.sessions().map((s) => s.clientPubkey).sort()).toEqual([signer.clientPubkey, other.clientPubkey].sort())
    } finally {
      await signer.close()
      await other.close()
      await bunker.close()
    }
  })

  it('refuses every request from a client that never connected, without asking the app', async () => {
    const { bunker, approvals } = await startBunker()
    try {
      for (const method of ['get_public_key', 'sign_event', 'nip44_encrypt', 'ping']) {
        const response = await rawRequest(relayB, bunker.pubkey, method, method === 'sign_event' ? [JSON.stringify({ kind: 1, content: 'x', tags: [], created_at: 1 })] : [])
        expect(response, method).toMatchObject({ error: 'unauthorized: send connect first' })
        expect(response?.result, method).not.toBe(bunker.userPubkey)
      }
      expect(approvals).toEqual([])
      expect(bunker.stats()).toMatchObject({ answered: 0, refused: 4 })
    } finally {
      await bunker.close()
    }
  })

  it('resumes a session with the same client key and no secret, and logout ends it', async () => {
    const changes: BunkerSession[][] = []
    const { bunker, approvals } = await startBunker({ onSessionsChange: (sessions) => changes.push(sessions) })
    const clientSecretKey = generateSecretKey()
    const first = await connectBunker(bunker.bunkerUri(), { ...QUICK, clientSecretKey, perms: 'sign_event:1' })
    const pointer = first.bunkerPointer()
    expect(pointer).toEqual({ pubkey: bunker.pubkey, relays: [relayB] })
    await first.close()
    await expectRejectionCode(first.signEvent({ kind: 1, content: 'closed' }), 'SIGNER_CLOSED')

    const resumed = await connectBunker(pointer, { ...QUICK, clientSecretKey })
    expect(resumed.clientPubkey).toBe(first.clientPubkey)
    expect(verifyEvent(await resumed.signEvent({ kind: 1, content: 'resumed' }))).toBe(true)
    expect(approvals.filter((a) => a.method === 'connect')).toHaveLength(1)
    expect(changes.at(-1)).toEqual([expect.objectContaining({ clientPubkey: first.clientPubkey, perms: ['sign_event:1'] })])

    await resumed.logout()
    expect(bunker.sessions()).toEqual([])
    expect(changes.at(-1)).toEqual([])
    // Logged out: the same key must connect with a secret again.
    await expectRejectionCode(connectBunker(pointer, { ...QUICK, clientSecretKey }), 'NIP46_REJECTED')
    await bunker.close()
  })

  it('a bunker restored from saved sessions serves its clients again', async () => {
    let saved: BunkerSession[] = []
    const userSk = generateSecretKey()
    const bunkerSk = generateSecretKey()
    const clientSecretKey = generateSecretKey()
    const one = await startBunker({ userSk, bunkerSigner: createSecretKeySigner(bunkerSk), onSessionsChange: (s) => (saved = s) })
    const signer = await connectBunker(one.bunker.bunkerUri(), { ...QUICK, clientSecretKey, perms: 'sign_event:1' })
    await signer.close()
    await one.bunker.close()

    const two = await startBunker({ userSk, bunkerSigner: createSecretKeySigner(bunkerSk), sessions: saved })
    const again = await connectBunker({ pubkey: two.bunker.pubkey, relays: [relayB] }, { ...QUICK, clientSecretKey })
    try {
      expect(verifyEvent(await again.signEvent({ kind: 1, content: 'after a restart' }))).toBe(true)
      expect(two.approvals).toEqual([])
    } finally {
      await again.close()
      await two.bunker.close()
    }
  })
})

describe('nostrconnect:// flow', () => {
  it('the bunker answers our token; we learn its key from the answer, move to its relays and sign there', async () => {
    const { bunker, userSk, approvals } = await startBunker({ relays: [relayB] })
    const session = startNostrConnect({
      ...QUICK,
      relays: [relayA],
      perms: ['sign_event:1', 'nip44_encrypt'],
      metadata: { name: 'Scan me', url: 'https://scan.example.com', image: 'https://scan.example.com/icon.png' },
    })
    expect(session.uri.startsWith(`nostrconnect://${session.clientPubkey}?`)).toBe(true)
    await session.ready
    const accepted = await bunker.acceptNostrConnect(session.uri)
    expect(accepted).toMatchObject({ clientPubkey: session.clientPubkey, perms: ['sign_event:1', 'nip44_encrypt'], metadata: { name: 'Scan me' } })
    const signer = await session.signer
    try {
      expect(signer.remoteSignerPubkey).toBe(bunker.pubkey)
      expect(signer.userPubkey).toBe(getPublicKey(userSk))
      expect(signer.userPubkey).not.toBe(bunker.pubkey)
      // switch_relays moved the conversation to the bunker's relay.
      expect(signer.relays()).toEqual([relayB])
      expect(bunker.sessions()[0]!.relays).toEqual([relayB])
      const requestsOnA = fleet.relays[0]!.messagesOfType('EVENT').length
      const event = await signer.signEvent({ kind: 1, content: 'via nostrconnect' })
      expect(verifyEvent(event)).toBe(true)
      expect(event.pubkey).toBe(getPublicKey(userSk))
      expect(fleet.relays[0]!.messagesOfType('EVENT').length).toBe(requestsOnA)
      // acceptNostrConnect is the approval of the connection; signing kind 1 was granted.
      expect(approvals).toEqual([])
      expect(await signer.switchRelays()).toBe(false)
    } finally {
      await signer.close()
      await bunker.close()
    }
  })

  it('acceptNostrConnect can grant less than the token asks for', async () => {
    const { bunker, approvals } = await startBunker({ relays: [relayA], approve: () => false })
    const session = startNostrConnect({ ...QUICK, relays: [relayA], perms: ['sign_event:1', 'nip04_decrypt'] })
    await session.ready
    await bunker.acceptNostrConnect(session.uri, { perms: [] })
    const signer = await session.signer
    try {
      await expectRejectionCode(signer.signEvent({ kind: 1, content: 'not granted' }), 'SIGNER_REJECTED')
      expect(approvals.map((a) => a.method)).toEqual(['sign_event'])
    } finally {
      await signer.close()
      await bunker.close()
    }
  })
})

describe('with the facade', () => {
  it('createClient({ signer: remote }) publishes a note that a raw reader sees with a valid signature', async () => {
    const outbox = fleet.urls[2]!
    const alice = await seedPerson(fleet, { write: [outbox] })
    const { bunker } = await startBunker({ signer: alice.signer, relays: [relayB] })
    const signer = await connectBunker(bunker.bunkerUri(), { ...QUICK, perms: 'sign_event:1' })
    const client = testClient({ signer, indexerRelays: [fleet.urls[0]!] })
    try {
      const { event, report } = await client.publish({ kind: 1, content: 'posted with a remote key' })
      expect(report.accepted).toBeGreaterThanOrEqual(1)
      const reader = await openRawClient(outbox)
      try {
        const [stored] = await reader.query([{ ids: [event.id] }])
        expect(stored).toEqual(event)
        expect(verifyEvent(stored)).toBe(true)
        expect(stored!.pubkey).toBe(alice.pubkey)
      } finally {
        await reader.close()
      }
    } finally {
      await client.close()
      await signer.close()
      await bunker.close()
    }
  })
})

describe('close()', () => {
  it('rejects what is pending with SIGNER_CLOSED and leaves no socket or timer behind', async () => {
    const baseline = takeBaseline()
    let asked!: () => void
    const askedOnce = new Promise<void>((resolve) => (asked = resolve))
    const { bunker } = await startBunker({
      approve: (request) => {
        if (request.method === 'connect') return true
        asked()
        return new Promise<boolean>(() => {})
      },
    })
    const signer = await connectBunker(bunker.bunkerUri(), { ...QUICK, timeoutMs: 30_000 })
    const pending = signer.signEvent({ kind: 1, content: 'never approved' })
    const outcome = pending.then(
      () => 'signed',
      (error: unknown) => (isRendezvousError(error) ? error.code : 'other'),
    )
    await askedOnce
    await signer.close()
    expect(await outcome).toBe('SIGNER_CLOSED')
    await signer.close() // idempotent
    await bunker.close()
    await expectRejectionCode(Promise.resolve().then(() => bunker.bunkerUri()), 'NIP46_BUNKER_CLOSED')
    await expectRejectionCode(bunker.acceptNostrConnect(`nostrconnect://${getPublicKey(generateSecretKey())}?relay=${encodeURIComponent(relayA)}&secret=x`), 'NIP46_BUNKER_CLOSED')
    await expectNoLeaks(baseline)
  })

  it('cancel() of a nostrconnect session rejects its signer with SIGNER_CLOSED and leaves nothing open', async () => {
    const baseline = takeBaseline()
    const session = startNostrConnect({ ...QUICK, relays: [relayA] })
    await session.ready
    await session.cancel()
    await expectRejectionCode(session.signer, 'SIGNER_CLOSED')
    await expectNoLeaks(baseline)
  })
})
