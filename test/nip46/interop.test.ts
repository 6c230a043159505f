/**
 * NIP-46 interop with nostr-tools (2.25.2), on a real local relay:
 * - nostr-tools' `BunkerSigner` (its client; it ships no bunker) against our bunker, in the
 *   bunker:// and the nostrconnect:// flows;
 * - our client against a minimal remote signer built from nostr-tools primitives
 *   (test/nip46/nt-bunker.ts), in both flows, with the requests' wire format checked.
 */
import { describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { BunkerSigner, createNostrConnectURI, parseBunkerInput } from 'nostr-tools/nip46'
import { SimplePool, useWebSocketImplementation } from 'nostr-tools/pool'
import { generateSecretKey as ntGenerateSecretKey, getPublicKey as ntGetPublicKey, verifyEvent as ntVerifyEvent } from 'nostr-tools/pure'
import * as ntNip44 from 'nostr-tools/nip44'
import * as ntNip04 from 'nostr-tools/nip04'
import { generateSecretKey, getPublicKey } from '../../src/crypto/keys.js'
import * as nip44 from '../../src/crypto/nip44.js'
import { createSecretKeySigner } from '../../src/crypto/secret-key-signer.js'
import { verifyEvent } from '../../src/crypto/signature.js'
import { connectBunker, createBunker, startNostrConnect, type ApprovalRequest, type Bunker } from '../../src/nip46/index.js'
import { startScriptedBunker } from './nt-bunker.js'
import { POOL, useLocalRelay } from './setup.js'

useWebSocketImplementation(WebSocket)

const relay = useLocalRelay()

async function ourBunker(approvals: ApprovalRequest[] = []): Promise<{ bunker: Bunker; userSk: Uint8Array }> {
  const userSk = generateSecretKey()
  const bunker = await createBunker({
    signer: createSecretKeySigner(userSk),
    bunkerSigner: createSecretKeySigner(generateSecretKey()),
    relays: [relay().url],
    poolOptions: POOL,
    approve: (request) => {
      approvals.push(request)
      return true
    },
  })
  return { bunker, userSk }
}

describe('nostr-tools BunkerSigner against our bunker', () => {
  it('bunker:// flow: connect, get_public_key (not the bunker key), sign, NIP-44 and NIP-04, ping', async () => {
    const approvals: ApprovalRequest[] = []
    const { bunker, userSk } = await ourBunker(approvals)
    const pool = new SimplePool()
    const pointer = await parseBunkerInput(bunker.bunkerUri())
    expect(pointer).not.toBeNull()
    const signer = BunkerSigner.fromBunker(ntGenerateSecretKey(), pointer!, { pool })
    try {
      await signer.connect({ name: 'nostr-tools app' })
      expect(approvals[0]).toMatchObject({ method: 'connect', client: { name: 'nostr-tools app' } })
      const userPubkey = await signer.getPublicKey()
      expect(userPubkey).toBe(getPublicKey(userSk))
      expect(userPubkey).not.toBe(bunker.pubkey)
      const event = await signer.signEvent({ kind: 1, content: 'from nostr-tools', tags: [], created_at: Math.floor(Date.now() / 1000) })
      expect(ntVerifyEvent(event)).toBe(true)
      expect(verifyEvent(event)).toBe(true)
      expect(event.pubkey).toBe(userPubkey)

      const peerSk = generateSecretKey()
      const peer = getPublicKey(peerSk)
      const sealed = await signer.nip44Encrypt(peer, 'interop')
      expect(nip44.decrypt(sealed, nip44.getConversationKey(peerSk, userPubkey))).toBe('interop')
      expect(await signer.nip44Decrypt(peer, ntNip44.encrypt('back', ntNip44.getConversationKey(peerSk, userPubkey)))).toBe('back')
      const legacy = await signer.nip04Encrypt(peer, 'legacy')
      expect(ntNip04.decrypt(peerSk, userPubkey, legacy)).toBe('legacy')
      await signer.ping()
      expect(approvals.map((a) => a.method)).toEqual(['connect', 'sign_event', 'nip44_encrypt', 'nip44_decrypt', 'nip04_encrypt'])
    } finally {
      await signer.close()
      pool.destroy()
      await bunker.close()
    }
  })

  it('nostrconnect:// flow: our bunker answers nostr-tools’ token, then serves it', async () => {
    const { bunker, userSk } = await ourBunker()
    const pool = new SimplePool()
    const clientSk = ntGenerateSecretKey()
    const secret = 'nt-secret-1'
    const uri = createNostrConnectURI({ clientPubkey: ntGetPublicKey(clientSk), relays: [relay().url], secret, perms: ['sign_event:1'], name: 'NT client' })
    const connecting = BunkerSigner.fromURI(clientSk, uri, { pool }, 5_000)
    // nostr-tools subscribes with limit 0 (live only): answer once its REQ reached the relay.
    const reqs = (): number => relay().messagesOfType('REQ').filter((m) => JSON.stringify(m).includes(ntGetPublicKey(clientSk))).length
    for (let i = 0; i < 200 && reqs() === 0; i++) await new Promise((resolve) => setTimeout(resolve, 10))
    const session = await bunker.acceptNostrConnect(uri)
    expect(session).toMatchObject({ perms: ['sign_event:1'], metadata: { name: 'NT client' } })
    const signer = await connecting
    try {
      expect(signer.bp.pubkey).toBe(bunker.pubkey)
      expect(await signer.getPublicKey()).toBe(getPublicKey(userSk))
      const event = await signer.signEvent({ kind: 1, content: 'nostrconnect interop', tags: [], created_at: Math.floor(Date.now() / 1000) })
      expect(verifyEvent(event)).toBe(true)
    } finally {
      await signer.close()
      pool.destroy()
      await bunker.close()
    }
  })
})

describe('our client against a bunker made of nostr-tools primitives', () => {
  it('bunker:// flow, with the requests’ wire format checked', async () => {
    const scripted = await startScriptedBunker(relay().url, { secret: 'tok' })
    try {
      const signer = await connectBunker(scripted.uri(), { poolOptions: POOL, timeoutMs: 3_000, perms: ['sign_event:1', 'nip44_encrypt'], metadata: { name: 'ours' } })
      try {
        expect(signer.userPubkey).toBe(scripted.userPubkey)
        expect(signer.userPubkey).not.toBe(scripted.pubkey)
        const event = await signer.signEvent({ kind: 1, content: 'checked by nostr-tools' })
        expect(ntVerifyEvent(event)).toBe(true)
        const peerSk = ntGenerateSecretKey()
        const sealed = await signer.nip44.encrypt(ntGetPublicKey(peerSk), 'hello')
        expect(ntNip44.decrypt(sealed, ntNip44.getConversationKey(peerSk, scripted.userPubkey))).toBe('hello')

        const [connect, ...rest] = scripted.requests
        expect(connect!.method).toBe('connect')
        expect(connect!.params).toEqual([scripted.pubkey, 'tok', 'sign_event:1,nip44_encrypt', JSON.stringify({ name: 'ours' })])
        for (const request of scripted.requests) {
          expect(request.event.kind).toBe(24133)
          expect(request.event.pubkey).toBe(signer.clientPubkey)
          expect(request.event.tags).toEqual([['p', scripted.pubkey]])
          expect(request.scheme).toBe('nip44')
          expect(request.id).toMatch(/^[0-9a-f]{32}$/)
        }
        expect(rest.map((r) => r.method)).toEqual(['switch_relays', 'get_public_key', 'sign_event', 'nip44_encrypt'])
        const template = JSON.parse(rest[2]!.params[0]!)
        expect(Object.keys(template).sort()).toEqual(['content', 'created_at', 'kind', 'tags'])
      } finally {
        await signer.close()
      }
    } finally {
      await scripted.close()
    }
  })

  it('nostrconnect:// flow: the primitives bunker answers our token with the secret', async () => {
    const scripted = await startScriptedBunker(relay().url)
    try {
      const session = startNostrConnect({ poolOptions: POOL, relays: [relay().url], timeoutMs: 3_000, perms: 'sign_event:1', metadata: { name: 'ours' } })
      const url = new URL(session.uri)
      expect(url.searchParams.get('secret')).toBe(session.secret)
      expect(url.searchParams.get('perms')).toBe('sign_event:1')
      expect(url.searchParams.get('name')).toBe('ours')
      expect(url.searchParams.getAll('relay')).toEqual([relay().url])
      await session.ready
      await scripted.acceptNostrConnect(session.uri)
      const signer = await session.signer
      try {
        expect(signer.remoteSignerPubkey).toBe(scripted.pubkey)
        expect(signer.userPubkey).toBe(scripted.userPubkey)
        expect(ntVerifyEvent(await signer.signEvent({ kind: 1, content: 'qr' }))).toBe(true)
      } finally {
        await signer.close()
      }
    } finally {
      await scripted.close()
    }
  })
})
