// A publisher with private messages in Node: set your relays, publish a note with proof of work,
// send a NIP-17 message, and read your own inbox back.
//
//   npm run build
//   node examples/publisher.mjs --ncryptsec ncryptsec1... --to npub1... \
//     --write wss://relay.example.com --read wss://inbox.example.com --dm wss://dm.example.com
//
// The passphrase comes from the environment variable RENDEZVOUS_PASSPHRASE. Without --ncryptsec a
// fresh key is generated (and forgotten at exit). --write/--read/--dm (repeatable) publish your
// relay lists first; without them, the lists already published are used. --allow-private lets
// relay lists point at private or loopback addresses: only for a local test network.
import { parseArgs } from 'node:util'
import { createClient, isRendezvousError, parsePerson } from 'nostr-rendezvous'
import { createSecretKeySigner, generateSecretKey, nip19, secretKeySignerFromNcryptsec } from 'nostr-rendezvous/crypto'

const { values } = parseArgs({
  options: {
    ncryptsec: { type: 'string' },
    to: { type: 'string' },
    indexer: { type: 'string', multiple: true, default: ['wss://purplepag.es', 'wss://relay.nos.social'] },
    write: { type: 'string', multiple: true },
    read: { type: 'string', multiple: true },
    dm: { type: 'string', multiple: true },
    pow: { type: 'string', default: '12' },
    'allow-private': { type: 'boolean', default: false },
  },
})

const signer = values.ncryptsec
  ? await secretKeySignerFromNcryptsec(values.ncryptsec, process.env.RENDEZVOUS_PASSPHRASE ?? '')
  : createSecretKeySigner(generateSecretKey())
const client = createClient({
  signer,
  indexerRelays: values.indexer,
  pool: values['allow-private'] ? { connect: { allowPrivateHosts: true } } : {},
})

try {
  const me = await client.getPublicKey()
  console.log(`me: ${nip19.npubEncode(me)}`)

  if (values.write || values.read || values.dm) {
    const change = {
      ...(values.write && { write: values.write }),
      ...(values.read && { read: values.read }),
      ...(values.dm && { dm: values.dm }),
    }
    const result = await client.setRelays(change)
    for (const [name, published] of Object.entries(result)) {
      console.log(`${name}: on ${published.report.accepted} of ${published.report.targets.length} relays`)
    }
  }

  // Proof of work off the main thread, with progress, then the durable publish.
  const started = Date.now()
  const { event, report } = await client.publish(
    { kind: 1, content: 'Hello from the Rendezvous publisher example' },
    { pow: Number(values.pow), onPowProgress: (p) => process.stderr.write(`\rmining: ${p.hashes} hashes`) },
  )
  process.stderr.write('\n')
  console.log(`published ${nip19.noteEncode(event.id)} (pow ${values.pow}, ${Date.now() - started} ms): ${report.state}`)
  for (const target of report.targets) console.log(`  ${target.url} [${target.reasons.join(', ')}]: ${target.status}${target.last?.message ? ` (${target.last.message})` : ''}`)

  if (values.to) {
    const recipient = parsePerson(values.to, '--to').pubkey
    try {
      const sent = await client.sendDm(recipient, 'Hola! Sent with NIP-17 by the publisher example.')
      for (const delivery of sent.deliveries) {
        console.log(`dm ${delivery.self ? 'copy to me' : 'to ' + nip19.npubEncode(delivery.recipient).slice(0, 16) + '…'}: ${delivery.report.state} on ${delivery.relays.join(', ')}`)
      }
    } catch (error) {
      // Strict routing: no kind 10050 for the recipient means nothing is sent anywhere.
      if (isRendezvousError(error, 'CLIENT_DM_RECIPIENT_NOT_READY')) console.log(`dm not sent: ${error.message}`)
      else throw error
    }
    const inbox = await client.dms({ peer: recipient })
    console.log(`my copies of messages with them: ${inbox.messages.length}`)
  }

  for (const alert of await client.alerts()) console.log(`alert: ${alert.type}`)
  console.log('finished')
} catch (error) {
  // Expected failures carry a stable code and a readable message; anything else is a bug: show it all.
  if (!isRendezvousError(error)) throw error
  console.error(`%s: %s (%s)`, 'publisher', error.message, error.code)
  process.exitCode = 1
} finally {
  await client.close()
}
