/**
 * Clients and people on local relays, for the facade's wire tests: a client whose pool may reach
 * 127.0.0.1 with short timeouts, and people with signed relay lists stored where a tracker finds
 * them (the indexer and their own relays).
 *
 * @example
 * ```ts
 * const fleet = await startFleet(4)
 * const alice = await seedPerson(fleet, { write: [fleet.urls[1]], read: [fleet.urls[2]], dm: [fleet.urls[3]] })
 * const client = testClient({ signer: alice.signer, indexerRelays: [fleet.urls[0]] })
 * // ...
 * await client.close(); await fleet.close()
 * ```
 *
 * @module
 */
import { createClient, type Client } from '../../src/client/client.js'
import type { ClientOptions } from '../../src/client/types.js'
import type { NostrEvent } from '../../src/crypto/event.js'
import { generateSecretKey, getPublicKey } from '../../src/crypto/keys.js'
import { createSecretKeySigner, type SecretKeySigner } from '../../src/crypto/secret-key-signer.js'
import { finalizeEvent } from '../../src/crypto/signature.js'
import { buildDmRelayListTemplate, buildRelayListTemplate } from '../../src/outbox/relay-lists.js'
import type { TestFleet, TestRelay } from './relay-fleet.js'

/**
 * Pool options for tests where a relay goes down and comes back: short reconnect backoff and
 * penalty box, so the retry after `restart()` comes within a test's time.
 */
export const QUICK_RETRY_POOL = { backoff: { baseMs: 20, maxMs: 100, penaltyMs: { 'connect-refused': 50 } } } as const

/**
 * A client for tests: loopback allowed, NIP-11 off unless `pool.fetch` says otherwise, 2 s EOSE and
 * publish timeouts, errors collected in `errors` instead of printed.
 */
export function testClient(options: Partial<ClientOptions> & Pick<ClientOptions, 'indexerRelays'>): Client & { errors: unknown[] } {
  const errors: unknown[] = []
  const client = createClient({
    onError: (error) => errors.push(error),
    ...options,
    pool: {
      connect: { allowPrivateHosts: ['127.0.0.1'] },
      fetch: false,
      eoseTimeoutMs: 2_000,
      publishTimeoutMs: 2_000,
      connectTimeoutMs: 2_000,
      ...options.pool,
    },
  })
  return Object.assign(client, { errors })
}

/** A person on the fleet: keys, a signer, and the relay lists stored for them. */
export interface SeededPerson {
  readonly secretKey: Uint8Array
  readonly pubkey: string
  readonly signer: SecretKeySigner
  /** Their kind 10002, when `write` or `read` was given. */
  readonly relayList?: NostrEvent
  /** Their kind 10050, when `dm` was given. */
  readonly dmRelayList?: NostrEvent
}

/** Options of {@link seedPerson}. */
export interface SeedPersonOptions {
  readonly write?: readonly string[]
  readonly read?: readonly string[]
  readonly dm?: readonly string[]
  /** Where the lists are stored besides the person's own relays. @default the fleet's first relay (the indexer) */
  readonly indexers?: readonly TestRelay[]
  /** `created_at` of the lists. @default now - 60 */
  readonly at?: number
}

/**
 * Makes a person and stores their kind 10002 / 10050 on the indexers and on every relay they name.
 *
 * @param fleet - the relays; the lists go to the relays named in `write`/`read`/`dm` that belong to it.
 * @param options - the lists.
 * @returns the person.
 */
export async function seedPerson(fleet: TestFleet, options: SeedPersonOptions = {}): Promise<SeededPerson> {
  const secretKey = generateSecretKey()
  const pubkey = getPublicKey(secretKey)
  const at = options.at ?? Math.floor(Date.now() / 1000) - 60
  const events: NostrEvent[] = []
  let relayList: NostrEvent | undefined
  let dmRelayList: NostrEvent | undefined
  if (options.write !== undefined || options.read !== undefined) {
    const write = options.write ?? []
    const read = options.read ?? []
    const entries = [...new Set([...write, ...read])].map((url) => ({ url, read: read.includes(url), write: write.includes(url) }))
    relayList = finalizeEvent({ ...buildRelayListTemplate(entries), created_at: at }, secretKey)
    events.push(relayList)
  }
  if (options.dm !== undefined) {
    dmRelayList = finalizeEvent({ ...buildDmRelayListTemplate(options.dm), created_at: at }, secretKey)
    events.push(dmRelayList)
  }
  const named = new Set([...(options.write ?? []), ...(options.read ?? []), ...(options.dm ?? [])])
  const targets = new Set<TestRelay>(options.indexers ?? [fleet.relays[0]!])
  for (const relay of fleet.relays) if (named.has(relay.url)) targets.add(relay)
  for (const relay of targets) {
    const results = await relay.storeEvents(events)
    if (results.some((r) => !r.success)) throw new Error(`seedPerson: ${relay.url} refused a list: ${JSON.stringify(results)}`)
  }
  return {
    secretKey,
    pubkey,
    signer: createSecretKeySigner(secretKey),
    ...(relayList !== undefined && { relayList }),
    ...(dmRelayList !== undefined && { dmRelayList }),
  }
}
