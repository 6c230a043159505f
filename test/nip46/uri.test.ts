/**
 * NIP-46 tokens, permissions and messages without a network: strict parsing of bunker:// and
 * nostrconnect:// (each kind of junk named), round trips with our builders and nostr-tools', the
 * NIP's own example token, permission strings, and request/response parsing.
 */
import { describe, expect, it } from 'vitest'
import { createNostrConnectURI, parseBunkerInput, toBunkerURL } from 'nostr-tools/nip46'
import {
  buildBunkerUri,
  buildNostrConnectUri,
  connectBunker,
  startNostrConnect,
  cipherSchemeOf,
  formatPermissions,
  normalizePermissions,
  parseBunkerUri,
  parseNostrConnectUri,
  parsePermissions,
  parseRequest,
  parseResponse,
  permits,
  sanitizeClientMetadata,
  sanitizeRemoteText,
} from '../../src/nip46/index.js'
import { errorOf, expectRejectionCode } from '../helpers/errors.js'
import { bytesToHex } from '../../src/crypto/bytes.js'
import { generateSecretKey } from '../../src/crypto/keys.js'
import { nsecEncode } from '../../src/crypto/nip19.js'

const PK = 'fa984bd7dbb282f07e16e7ae87b26a2a7b9b90b7246a44771f0cf5ae58018f52'
const CLIENT = '83f3b2ae6aa368e8275397b9c26cf550101d63ebaab900d19dd4a4429f5ad8f5'

describe('bunker:// tokens', () => {
  it('reads a token: key, relays (decoded, normalised, duplicates merged), secret', () => {
    const uri = `bunker://${PK}?relay=wss%3A%2F%2FRelay.Example.com%2F&relay=wss://relay2.example.com&relay=wss://relay.example.com&secret=abc`
    expect(parseBunkerUri(uri)).toEqual({ pubkey: PK, relays: ['wss://relay.example.com', 'wss://relay2.example.com'], secret: 'abc' })
    expect(parseBunkerUri(`  bunker://${PK.toUpperCase()}/?relay=wss://r.example.com  `)).toEqual({ pubkey: PK, relays: ['wss://r.example.com'] })
  })

  it('names what is wrong with junk', () => {
    const cases: Array<[unknown, string]> = [
      ['https://example.com', 'expected a bunker:// token'],
      [`nostrconnect://${CLIENT}?relay=wss://r.example.com&secret=x`, 'this is a nostrconnect:// token'],
      ['bunker://npub1abc?relay=wss://r.example.com', 'must be hex, not an npub'],
      ['bunker://abc?relay=wss://r.example.com', 'must be 64 hex characters'],
      [`bunker://${'0'.repeat(64)}?relay=wss://r.example.com`, 'not a point on secp256k1'],
      [`bunker://${PK}`, 'no relay='],
      [`bunker://${PK}?relay=https://r.example.com`, 'relay "https://r.example.com"'],
      [`bunker://${PK}?relay=wss://r.example.com&secret=a&secret=b`, 'secret= given 2 times'],
      [`bunker://${PK}?relay=wss://r.example.com&secret=`, 'secret is empty'],
      [`bunker://${PK}?relay=wss://r.example.com&secret=${'s'.repeat(300)}`, 'secret is longer'],
      [`bunker://${PK}?relay=wss://r.example.com#frag`, '#fragment'],
      [`bunker://${PK}?${'relay=wss://r.example.com&'.repeat(400)}`, 'longer than'],
      [`bunker://${PK}?${Array.from({ length: 17 }, (_, i) => `relay=wss://r${i}.example.com`).join('&')}`, 'more than 16 relays'],
    ]
    for (const [input, message] of cases) {
      const error = errorOf(() => parseBunkerUri(input as string))
      expect(error?.code, String(input).slice(0, 60)).toBe('NIP46_INVALID_URI')
      expect(error?.message, String(input).slice(0, 60)).toContain(message)
    }
    expect(() => parseBunkerUri(42 as never)).toThrow(TypeError)
  })

  it('round-trips with our builder and with nostr-tools', async () => {
    const pointer = { pubkey: PK, relays: ['wss://relay.example.com', 'ws://127.0.0.1:7777'], secret: 'x+y z' }
    expect(parseBunkerUri(buildBunkerUri(pointer))).toEqual(pointer)
    expect(parseBunkerUri(toBunkerURL(pointer))).toEqual(pointer)
    expect(await parseBunkerInput(buildBunkerUri(pointer))).toEqual(pointer)
    expect(() => buildBunkerUri({ ...pointer, relays: [] })).toThrow(TypeError)
    expect(() => buildBunkerUri({ ...pointer, pubkey: 'xyz' })).toThrow(TypeError)
  })
})

describe('a secret key pasted by mistake is never echoed in the error', () => {
  /** Every 8-character piece of `secret`, to look for in an error's text. */
  const pieces = (secret: string): string[] => Array.from({ length: secret.length - 7 }, (_, i) => secret.slice(i, i + 8))
  const sk = generateSecretKey()
  const nsec = nsecEncode(sk)
  const hex = bytesToHex(sk)
  for (const [name, input] of [
    ['an nsec', nsec],
    ['an nsec in a bunker:// token', `bunker://${nsec}?relay=wss://r.example.com`],
    ['an nsec in a nostrconnect:// token', `nostrconnect://${nsec}?relay=wss://r.example.com&secret=x`],
    ['a hex secret key', hex],
    ['a hex secret key with a prefix', `key:${hex}`],
  ] as const) {
    it(name, () => {
      for (const parse of [parseBunkerUri, parseNostrConnectUri]) {
        const error = errorOf(() => parse(input))
        expect(error).toMatchObject({ code: 'NIP46_INVALID_URI' })
        const text = `${error?.message} ${String(error?.details)}`
        expect(pieces(input.includes('nsec') ? nsec : hex).filter((piece) => text.includes(piece)), text).toEqual([])
      }
    })
  }
})

describe('nostrconnect:// tokens', () => {
  it('reads the NIP’s example', () => {
    const uri =
      'nostrconnect://83f3b2ae6aa368e8275397b9c26cf550101d63ebaab900d19dd4a4429f5ad8f5?relay=wss%3A%2F%2Frelay1.example.com&perms=nip44_encrypt%2Cnip44_decrypt%2Csign_event%3A13%2Csign_event%3A14%2Csign_event%3A1059&name=My+Client&secret=0s8j2djs&relay=wss%3A%2F%2Frelay2.example2.com'
    expect(parseNostrConnectUri(uri)).toEqual({
      clientPubkey: CLIENT,
      relays: ['wss://relay1.example.com', 'wss://relay2.example2.com'],
      secret: '0s8j2djs',
      perms: ['nip44_encrypt', 'nip44_decrypt', 'sign_event:13', 'sign_event:14', 'sign_event:1059'],
      metadata: { name: 'My Client' },
    })
  })

  it('requires a secret and a relay; drops unusable metadata', () => {
    expect(errorOf(() => parseNostrConnectUri(`nostrconnect://${CLIENT}?relay=wss://r.example.com`))?.message).toContain('no secret=')
    expect(errorOf(() => parseNostrConnectUri(`nostrconnect://${CLIENT}?secret=x`))?.code).toBe('NIP46_INVALID_URI')
    const token = parseNostrConnectUri(`nostrconnect://${CLIENT}?relay=wss://r.example.com&secret=x&url=javascript:alert(1)&image=https://i.example.com/a.png&name=%00bad%0Aname&perms=sign_event:99999,ok_method,bad%20one`)
    expect(token.metadata).toEqual({ image: 'https://i.example.com/a.png', name: 'bad name' })
    expect(token.perms).toEqual(['ok_method'])
  })

  it('round-trips with our builder and reads nostr-tools’ tokens', () => {
    const params = { clientPubkey: CLIENT, relays: ['wss://relay.example.com'], secret: 's3cr3t', perms: ['sign_event:1', 'nip44_encrypt'], name: 'App', url: 'https://app.example.com/', image: 'https://app.example.com/i.png' }
    const ours = parseNostrConnectUri(buildNostrConnectUri(params))
    const theirs = parseNostrConnectUri(createNostrConnectURI(params))
    for (const token of [ours, theirs]) {
      expect(token).toEqual({ clientPubkey: CLIENT, relays: params.relays, secret: 's3cr3t', perms: params.perms, metadata: { name: 'App', url: 'https://app.example.com/', image: 'https://app.example.com/i.png' } })
    }
    expect(() => buildNostrConnectUri({ ...params, url: 'ftp://x' })).toThrow(TypeError)
    expect(() => buildNostrConnectUri({ ...params, perms: ['sign event'] })).toThrow(RangeError)
  })
})

describe('permissions', () => {
  it('parses leniently from the network and strictly from options', () => {
    expect(parsePermissions('sign_event:1, nip44_encrypt,,sign_event:01,sign_event:70000,SIGN,x y')).toEqual(['sign_event:1', 'nip44_encrypt'])
    expect(parsePermissions(42)).toEqual([])
    expect(parsePermissions(Array.from({ length: 100 }, (_, i) => `m${i}`))).toHaveLength(64)
    expect(normalizePermissions(['sign_event:1', 'sign_event:1,nip04_decrypt'])).toEqual(['sign_event:1', 'nip04_decrypt'])
    expect(() => normalizePermissions('sign_event:abc')).toThrow(RangeError)
    expect(() => normalizePermissions([1] as never)).toThrow(TypeError)
    expect(formatPermissions(['sign_event:1', 'nip44_encrypt'])).toBe('sign_event:1,nip44_encrypt')
  })

  it('sign_event covers every kind, sign_event:<k> only that kind', () => {
    expect(permits(['sign_event'], 'sign_event', 4)).toBe(true)
    expect(permits(['sign_event:1'], 'sign_event', 1)).toBe(true)
    expect(permits(new Set(['sign_event:1']), 'sign_event', 4)).toBe(false)
    expect(permits(['nip44_encrypt'], 'nip44_decrypt')).toBe(false)
  })
})

describe('messages', () => {
  it('reads requests, answering malformed ones that carry an id', () => {
    expect(parseRequest('{"id":"a","method":"ping"}')).toEqual({ ok: true, request: { id: 'a', method: 'ping', params: [] } })
    expect(parseRequest('{"id":"a","method":"Bad Method","params":[]}')).toEqual({ ok: false, id: 'a', problem: 'invalid method' })
    expect(parseRequest('{"id":"a","method":"x","params":"no"}')).toMatchObject({ ok: false })
    expect(parseRequest(`{"id":"a","method":"x","params":${JSON.stringify(Array(9).fill('p'))}}`)).toMatchObject({ ok: false })
    for (const junk of ['', 'null', '[]', '{"method":"ping"}', `{"id":"${'i'.repeat(200)}","method":"ping"}`]) expect(parseRequest(junk)).toBeUndefined()
  })

  it('reads responses; an empty error is none', () => {
    expect(parseResponse('{"id":"a","result":"pong","error":""}')).toEqual({ id: 'a', result: 'pong' })
    expect(parseResponse('{"id":"a","result":"auth_url","error":"https://x"}')).toEqual({ id: 'a', result: 'auth_url', error: 'https://x' })
    expect(parseResponse('{"id":"a","error":{}}')).toBeUndefined()
    expect(parseResponse('not json')).toBeUndefined()
  })

  it('tells NIP-04 from NIP-44 payloads, and cleans remote text', () => {
    expect(cipherSchemeOf('abc==?iv=def==')).toBe('nip04')
    expect(cipherSchemeOf('AgAAAA==')).toBe('nip44')
    expect(sanitizeRemoteText('a\u0000b\u202ec', 300)).toBe('a b c')
    expect(sanitizeRemoteText('x'.repeat(10), 4)).toBe('xxxx…')
    expect(sanitizeClientMetadata(null)).toEqual({})
  })
})

describe('client options are checked before anything is opened', () => {
  const token = `bunker://${PK}?relay=wss://relay.example.com`
  it('connectBunker rejects bad tokens and options', async () => {
    await expectRejectionCode(connectBunker('bunker://nope'), 'NIP46_INVALID_URI')
    await expect(connectBunker(token, { timeoutMs: 0 })).rejects.toThrow(RangeError)
    await expect(connectBunker(token, { timeoutMs: 2 ** 31 })).rejects.toThrow(RangeError)
    await expect(connectBunker(token, { perms: 'sign event' })).rejects.toThrow(RangeError)
    await expect(connectBunker(token, { clientSecretKey: new Uint8Array(31) })).rejects.toThrow(RangeError)
    await expect(connectBunker(token, { metadata: { name: 7 as never } })).rejects.toThrow(TypeError)
    await expect(connectBunker({ pubkey: PK, relays: [] })).rejects.toMatchObject({ code: 'NIP46_INVALID_URI' })
    const controller = new AbortController()
    controller.abort()
    await expectRejectionCode(connectBunker(token, { signal: controller.signal }), 'SIGNER_UNAVAILABLE')
  })

  it('startNostrConnect throws at once for bad options', () => {
    expect(() => startNostrConnect({ relays: [] })).toThrow(TypeError)
    expect(() => startNostrConnect({ relays: ['wss://r.example.com'], secret: '' })).toThrow(RangeError)
    expect(() => startNostrConnect({ relays: ['wss://r.example.com'], connectTimeoutMs: -1 })).toThrow(RangeError)
    expect(() => startNostrConnect({ relays: ['wss://r.example.com'], metadata: { url: 'javascript:x' } })).toThrow(TypeError)
  })
})
