// A feed reader in Node: the recent posts of everyone a person follows, read the outbox way, with
// the per-query report (which relays were asked, which failed, who may be missing posts).
//
//   npm run build
//   node examples/feed-reader.mjs npub1... --indexer wss://purplepag.es --indexer wss://relay.nos.social
//
// Options: --indexer <url> (repeatable), --limit <n> (default 20), --allow-private (let relay
// lists point at private or loopback addresses: only for a local test network).
import { parseArgs } from 'node:util'
import { createClient, isRendezvousError, parsePerson } from 'nostr-rendezvous'
import { nip19 } from 'nostr-rendezvous/crypto'

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    indexer: { type: 'string', multiple: true, default: ['wss://purplepag.es', 'wss://relay.nos.social'] },
    limit: { type: 'string', default: '20' },
    'allow-private': { type: 'boolean', default: false },
  },
})
if (positionals.length !== 1) {
  console.error('usage: node feed-reader.mjs <npub|nprofile|hex> [--indexer <url>]... [--limit <n>]')
  process.exit(2)
}

// A read-only client: no signer, only the pubkey whose follows we read.
let pubkey
try {
  pubkey = parsePerson(positionals[0]).pubkey
} catch (error) {
  console.error(`feed-reader: ${error.message}`)
  process.exit(2)
}
const client = createClient({
  pubkey,
  indexerRelays: values.indexer,
  pool: values['allow-private'] ? { connect: { allowPrivateHosts: true } } : {},
})

try {
  const { follows } = await client.follows()
  console.log(`${nip19.npubEncode(pubkey).slice(0, 16)}… follows ${follows.length} people`)

  const page = await client.feed({
    limit: Number(values.limit),
    onProgress: ({ relaysDone, relaysTotal, events }) => process.stderr.write(`\r${relaysDone}/${relaysTotal} relays, ${events} events`),
  })
  process.stderr.write('\n')
  for (const event of page.events) {
    const when = new Date(event.created_at * 1000).toISOString().slice(0, 16).replace('T', ' ')
    const who = nip19.npubEncode(event.pubkey).slice(0, 12)
    console.log(`${when}  ${who}…  ${event.content.replace(/\s+/g, ' ').slice(0, 80)}`)
  }

  const { report } = page
  const failed = report.relays.filter((relay) => relay.status !== 'eose')
  console.log(`\n${page.events.length} posts from ${report.connections} relays (${failed.length} failed) in ${report.ms} ms`)
  for (const relay of failed) console.log(`  ${relay.url}: ${relay.status}${relay.message ? ` (${relay.message})` : ''}, asked about ${relay.authors.length} authors`)
  const counts = new Map()
  for (const { reason } of report.missing) counts.set(reason, (counts.get(reason) ?? 0) + 1)
  const reasons = [...counts].map(([reason, n]) => `${n} ${reason}`)
  if (reasons.length > 0) console.log(`authors who may be missing posts: ${reasons.join(', ')}`)

  if (page.next) {
    const older = await client.feed({ limit: Number(values.limit), cursor: page.next })
    console.log(`next page: ${older.events.length} older posts`)
  }
  console.log('finished')
} catch (error) {
  // Expected failures carry a stable code and a readable message; anything else is a bug: show it all.
  if (!isRendezvousError(error)) throw error
  console.error(`%s: %s (%s)`, 'feed-reader', error.message, error.code)
  process.exitCode = 1
} finally {
  await client.close()
}
