import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { codeOf, errorOf } from '../helpers/errors.js'
import { type ConnectDecision, type ConnectPolicyOptions, createAuthPolicy, createConnectPolicy } from '../../src/relay-pool/policy.js'
import type { RelayOrigin } from '../../src/relay-pool/types.js'
import { tryNormalizeRelayUrl } from '../../src/relay-pool/url.js'

/**
 * The RelayError `fn` throws (rethrows anything else; undefined when it does not throw). The shared
 * `codeOf` gives only the code; these tests also read `details`.
 */
const ALLOWED: ConnectDecision = { allowed: true }
const refused = (reason: string) => ({ allowed: false, reason })
const ORIGINS: readonly RelayOrigin[] = ['configured', 'discovered']

/** The reason a policy gives for `url` from `origin`, or 'allowed'. */
function verdict(options: ConnectPolicyOptions | undefined, url: string, origin: RelayOrigin): string {
  const decision = createConnectPolicy(options)(url, origin)
  return decision.allowed ? 'allowed' : decision.reason
}

describe('createConnectPolicy with default options', () => {
  const canConnect = createConnectPolicy()

  it('allows public relays from either origin', () => {
    for (const origin of ORIGINS) {
      expect(canConnect('wss://relay.example.com', origin)).toEqual(ALLOWED)
      expect(canConnect('Relay.Example.com:443/', origin)).toEqual(ALLOWED)
      expect(canConnect('ws://8.8.8.8:7777', origin)).toEqual(ALLOWED)
    }
  })

  it('answers invalid-url for anything that is not a relay URL, whatever the origin', () => {
    for (const origin of ORIGINS) {
      for (const url of ['https://relay.example.com', '', 'wss://u:p@relay.example.com', 'wss://a..b', 42, null]) {
        expect(canConnect(url as string, origin)).toEqual(refused('invalid-url'))
      }
    }
  })

  const PRIVATE_URLS = [
    'ws://127.0.0.1:7777',
    'ws://localhost:7777',
    'ws://[::1]:7777',
    'ws://2130706433',
    'ws://0x7f.1',
    'ws://[::ffff:127.0.0.1]',
    'ws://0.0.0.0',
    'ws://10.0.0.1',
    'ws://192.168.1.1',
    'ws://100.64.0.1',
    'ws://[fd00::1]',
    'ws://169.254.169.254',
    'ws://[fe80::1]',
    'wss://relay',
    'wss://nas.local',
    'wss://relay.home.arpa',
  ]

  it.each(PRIVATE_URLS)('refuses %s when discovered, allows it when configured', (url) => {
    expect(canConnect(url, 'discovered')).toEqual(refused('private-address'))
    expect(canConnect(url, 'configured')).toEqual(ALLOWED)
  })

  it('refuses .onion from either origin without an onion proxy', () => {
    for (const origin of ORIGINS) {
      expect(canConnect('ws://abc.onion', origin)).toEqual(refused('onion-without-proxy'))
      expect(canConnect('wss://relay.ABC.onion:9000/nostr', origin)).toEqual(refused('onion-without-proxy'))
    }
  })

  it('throws TypeError for an unknown origin', () => {
    expect(() => canConnect('wss://relay.example.com', 'elsewhere' as RelayOrigin)).toThrow(TypeError)
    expect(() => canConnect('wss://relay.example.com', undefined as unknown as RelayOrigin)).toThrow(/origin/)
  })
})

describe('createConnectPolicy options', () => {
  it('onionProxy allows .onion from either origin', () => {
    for (const origin of ORIGINS) expect(verdict({ onionProxy: true }, 'ws://abc.onion', origin)).toBe('allowed')
    expect(verdict({ onionProxy: false }, 'ws://abc.onion', 'configured')).toBe('onion-without-proxy')
  })

  it('allowPrivateHosts: true allows every private kind from discovered URLs', () => {
    for (const url of ['ws://127.0.0.1:7777', 'ws://192.168.1.1', 'ws://[fe80::1]', 'wss://relay']) {
      expect(verdict({ allowPrivateHosts: true }, url, 'discovered')).toBe('allowed')
      expect(verdict({ allowPrivateHosts: false }, url, 'discovered')).toBe('private-address')
    }
  })

  it('allowPrivateHosts as a list allows only the listed hosts', () => {
    const options = { allowPrivateHosts: ['127.0.0.1', '::1', '*.lan', 'ws://192.168.1.5:7777'] }
    expect(verdict(options, 'ws://127.0.0.1:7777', 'discovered')).toBe('allowed')
    expect(verdict(options, 'wss://127.0.0.1/any/path', 'discovered')).toBe('allowed')
    expect(verdict(options, 'ws://2130706433:7777', 'discovered')).toBe('allowed')
    expect(verdict(options, 'ws://[::1]:7777', 'discovered')).toBe('allowed')
    expect(verdict(options, 'wss://nas.lan', 'discovered')).toBe('allowed')
    expect(verdict(options, 'ws://192.168.1.5:7777', 'discovered')).toBe('allowed')
    // Not listed: another loopback address, a name for the same host, another port, a bare `lan`.
    expect(verdict(options, 'ws://127.0.0.2', 'discovered')).toBe('private-address')
    expect(verdict(options, 'ws://localhost:7777', 'discovered')).toBe('private-address')
    expect(verdict(options, 'ws://[::ffff:127.0.0.1]', 'discovered')).toBe('private-address')
    expect(verdict(options, 'ws://192.168.1.5:7778', 'discovered')).toBe('private-address')
    expect(verdict(options, 'wss://lan', 'discovered')).toBe('private-address')
  })

  it('deny refuses matching relays from either origin, whatever else is allowed', () => {
    const options: ConnectPolicyOptions = {
      deny: ['relay.bad.example', '*.spam.example', 'wss://exact.example.com/', '127.0.0.1', 'abc.onion'],
      allow: ['relay.bad.example', 'x.spam.example', 'exact.example.com', '127.0.0.1', 'abc.onion', 'relay.example.com'],
      allowPrivateHosts: true,
      onionProxy: true,
    }
    for (const origin of ORIGINS) {
      for (const url of [
        'wss://relay.bad.example',
        'ws://RELAY.BAD.EXAMPLE.:7777/x',
        'wss://x.spam.example',
        'wss://a.b.spam.example',
        'wss://exact.example.com',
        'ws://127.0.0.1:7777',
        'ws://abc.onion',
      ]) {
        expect(verdict(options, url, origin), url).toBe('deny-list')
      }
      expect(verdict(options, 'wss://relay.example.com', origin)).toBe('allowed')
    }
  })

  it('host, wildcard and URL entries match what they say and nothing more', () => {
    const deny = { deny: ['relay.bad.example', '*.spam.example', 'wss://exact.example.com', 'other.example.com:7777'] }
    expect(verdict(deny, 'wss://sub.relay.bad.example', 'configured')).toBe('allowed')
    expect(verdict(deny, 'wss://spam.example', 'configured')).toBe('allowed')
    expect(verdict(deny, 'wss://notspam.example', 'configured')).toBe('allowed')
    expect(verdict(deny, 'ws://exact.example.com', 'configured')).toBe('allowed')
    expect(verdict(deny, 'wss://exact.example.com:444', 'configured')).toBe('allowed')
    expect(verdict(deny, 'wss://exact.example.com/path', 'configured')).toBe('allowed')
    expect(verdict(deny, 'wss://other.example.com:7777', 'configured')).toBe('deny-list')
    expect(verdict(deny, 'ws://other.example.com:7777', 'configured')).toBe('allowed')
    expect(verdict(deny, 'wss://other.example.com', 'configured')).toBe('allowed')
  })

  it('a non-empty allow list refuses everything not on it; an empty one refuses nothing', () => {
    const options = { allow: ['wss://relay.example.com', '*.friends.example'] }
    for (const origin of ORIGINS) {
      expect(verdict(options, 'wss://relay.example.com/', origin)).toBe('allowed')
      expect(verdict(options, 'wss://a.friends.example', origin)).toBe('allowed')
      expect(verdict(options, 'wss://other.example.com', origin)).toBe('not-on-allow-list')
      expect(verdict(options, 'ws://relay.example.com', origin)).toBe('not-on-allow-list')
      // Checked before the onion and private rules: the relay is not one the app wants at all.
      expect(verdict(options, 'ws://abc.onion', origin)).toBe('not-on-allow-list')
      expect(verdict(options, 'ws://127.0.0.1', origin)).toBe('not-on-allow-list')
      expect(verdict({ allow: [] }, 'wss://other.example.com', origin)).toBe('allowed')
    }
  })

  it('an allow-list entry does not lift the private-address or onion rules', () => {
    const options = { allow: ['ws://192.168.1.5', 'abc.onion'] }
    expect(verdict(options, 'ws://192.168.1.5', 'discovered')).toBe('private-address')
    expect(verdict(options, 'ws://192.168.1.5', 'configured')).toBe('allowed')
    expect(verdict(options, 'ws://abc.onion', 'configured')).toBe('onion-without-proxy')
  })

  it('invalid-url comes before every list', () => {
    expect(verdict({ deny: ['relay.example.com'] }, 'http://relay.example.com', 'configured')).toBe('invalid-url')
  })

  it('copies the options: later changes to the caller’s arrays do not change the policy', () => {
    const deny = ['relay.bad.example']
    const canConnect = createConnectPolicy({ deny })
    deny.push('relay.example.com')
    deny[0] = 'nothing.example'
    expect(canConnect('wss://relay.example.com', 'configured')).toEqual(ALLOWED)
    expect(canConnect('wss://relay.bad.example', 'configured')).toEqual(refused('deny-list'))
  })
})

describe('createConnectPolicy validates options eagerly', () => {
  const BAD_ENTRIES = [
    'https://relay.example.com',
    '',
    '*',
    '*.',
    'a.*.example.com',
    '*.127.0.0.1',
    '*.[::1]',
    '*.example.com:443',
    '*.example.com/path',
    'relay .example.com',
    'wss://relay.example.com:0',
  ]

  it.each(BAD_ENTRIES)('refuses the entry %j with RELAY_URL_INVALID naming it', (entry) => {
    for (const field of ['allow', 'deny', 'allowPrivateHosts'] as const) {
      const err = errorOf(() => createConnectPolicy({ [field]: ['relay.example.com', entry] }))
      expect(err?.code).toBe('RELAY_URL_INVALID')
      expect(err?.details?.startsWith(`${field}[1]: `)).toBe(true)
    }
  })

  it('does not echo credentials from a bad entry', () => {
    const err = errorOf(() => createConnectPolicy({ deny: ['wss://alice:hunter2@relay.example.com'] }))
    expect(err?.code).toBe('RELAY_URL_INVALID')
    expect(err?.message).not.toContain('hunter2')
    expect(err?.details).toBe('deny[0]: credentials are not allowed in a relay URL')
  })

  it('throws TypeError naming the option when a type is wrong', () => {
    expect(() => createConnectPolicy(null as never)).toThrow(TypeError)
    expect(() => createConnectPolicy({ allow: 'relay.example.com' as never })).toThrow(/^allow must be an array/)
    expect(() => createConnectPolicy({ deny: ['relay.example.com', 7 as never] })).toThrow(/^deny\[1\] must be a string/)
    expect(() => createConnectPolicy({ allowPrivateHosts: 'yes' as never })).toThrow(/^allowPrivateHosts must be a boolean/)
    expect(() => createConnectPolicy({ onionProxy: 1 as never })).toThrow(/^onionProxy must be a boolean/)
  })
})

describe('createConnectPolicy properties', () => {
  const urlArb = fc.oneof(
    fc.webUrl().map((u) => u.replace(/^https?/, 'wss')),
    fc.webUrl(),
    fc.ipV4().map((ip) => `ws://${ip}:7777`),
    fc.ipV6().map((ip) => `ws://[${ip}]`),
    fc.string({ maxLength: 40 }),
  )

  it('never throws for a valid origin; invalid-url exactly when the URL does not normalise; same answer for the normalised URL', () => {
    const canConnect = createConnectPolicy({ deny: ['*.com'], allowPrivateHosts: ['10.0.0.1'] })
    fc.assert(
      fc.property(urlArb, fc.constantFrom(...ORIGINS), (url, origin) => {
        const decision = canConnect(url, origin)
        const normalised = tryNormalizeRelayUrl(url)
        expect(!decision.allowed && decision.reason === 'invalid-url').toBe(normalised === undefined)
        if (normalised !== undefined) expect(canConnect(normalised, origin)).toEqual(decision)
      }),
      { seed: 42, numRuns: 1500 },
    )
  })
})

describe('createAuthPolicy', () => {
  it("defaults to 'never'", async () => {
    for (const policy of [undefined, 'never' as const]) {
      const mayAuth = createAuthPolicy(policy)
      expect(await mayAuth('wss://relay.example.com')).toBe(false)
      expect(await mayAuth('ws://127.0.0.1:7777')).toBe(false)
    }
  })

  it("'always' says yes to every relay URL and no to anything else", async () => {
    const mayAuth = createAuthPolicy('always')
    expect(await mayAuth('wss://relay.example.com')).toBe(true)
    expect(await mayAuth('ws://127.0.0.1:7777')).toBe(true)
    expect(await mayAuth('https://relay.example.com')).toBe(false)
    expect(await mayAuth(3 as never)).toBe(false)
  })

  it('a list matches normalised URLs, hosts and wildcards', async () => {
    const mayAuth = createAuthPolicy(['wss://PAID.example.com/', 'ws://127.0.0.1:7777', 'team.example', '*.mine.example'])
    expect(await mayAuth('wss://paid.example.com')).toBe(true)
    expect(await mayAuth('paid.example.com:443')).toBe(true)
    expect(await mayAuth('ws://127.0.0.1:7777/')).toBe(true)
    expect(await mayAuth('ws://team.example:9999/x')).toBe(true)
    expect(await mayAuth('wss://a.mine.example')).toBe(true)
    expect(await mayAuth('wss://paid.example.com/other')).toBe(false)
    expect(await mayAuth('ws://127.0.0.1:7778')).toBe(false)
    expect(await mayAuth('wss://mine.example')).toBe(false)
    expect(await mayAuth('wss://sub.team.example')).toBe(false)
    expect(await mayAuth('not a url')).toBe(false)
    expect(await createAuthPolicy([])('wss://paid.example.com')).toBe(false)
  })

  it('a callback gets the normalised URL; only true means yes', async () => {
    const seen: string[] = []
    const mayAuth = createAuthPolicy((url) => {
      seen.push(url)
      return url === 'wss://relay.example.com'
    })
    expect(await mayAuth(' Relay.Example.com:443/ ')).toBe(true)
    expect(await mayAuth('wss://other.example.com')).toBe(false)
    expect(await mayAuth('http://relay.example.com')).toBe(false)
    expect(seen).toEqual(['wss://relay.example.com', 'wss://other.example.com'])

    expect(await createAuthPolicy(async () => true)('wss://relay.example.com')).toBe(true)
    expect(await createAuthPolicy((() => 'yes') as never)('wss://relay.example.com')).toBe(false)
    expect(await createAuthPolicy((() => 1) as never)('wss://relay.example.com')).toBe(false)
  })

  it('a callback that throws or rejects means no, and the check never rejects', async () => {
    const throwing = createAuthPolicy(() => {
      throw new Error('boom')
    })
    const rejecting = createAuthPolicy(() => Promise.reject(new Error('boom')))
    const rejectingWithString = createAuthPolicy(() => Promise.reject('boom' as unknown as Error))
    await expect(throwing('wss://relay.example.com')).resolves.toBe(false)
    await expect(rejecting('wss://relay.example.com')).resolves.toBe(false)
    await expect(rejectingWithString('wss://relay.example.com')).resolves.toBe(false)
  })

  it('refuses a malformed policy', () => {
    expect(() => createAuthPolicy('sometimes' as never)).toThrow(TypeError)
    expect(() => createAuthPolicy(42 as never)).toThrow(TypeError)
    expect(() => createAuthPolicy(null as never)).toThrow(TypeError)
    expect(() => createAuthPolicy(['ok.example', 5] as never)).toThrow(/^authPolicy\[1\] must be a string/)
    expect(codeOf(() => createAuthPolicy(['*.']))).toBe('RELAY_URL_INVALID')
    const err = errorOf(() => createAuthPolicy(['ok.example', 'https://relay.example.com']))
    expect(err?.code).toBe('RELAY_URL_INVALID')
    expect(err?.details?.startsWith('authPolicy[1]: ')).toBe(true)
  })
})
