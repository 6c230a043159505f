// A tour of the crypto layer, run by `npm run demo` until the full outbox demo exists.
// No network: everything happens in this process. Run `npm run build` first (the demo script does).
import {
  createSecretKeySigner,
  finalizeEvent,
  generateSecretKey,
  getPublicKey,
  nip13,
  nip17,
  nip19,
  nip49,
  secretKeySignerFromNcryptsec,
  verifyEvent,
} from 'nostr-rendezvous/crypto'

const line = (label, value) => console.log(`${label.padEnd(28)} ${value}`)

// Keys and a signed note.
const aliceSk = generateSecretKey()
const bobSk = generateSecretKey()
const alice = getPublicKey(aliceSk)
const bob = getPublicKey(bobSk)
line('alice', nip19.npubEncode(alice))
line('bob', nip19.npubEncode(bob))
const note = finalizeEvent({ kind: 1, content: 'hello from the crypto tour' }, aliceSk)
line('signed note verifies', verifyEvent(note))
line('tampered note verifies', verifyEvent({ ...note, content: 'hello from someone else' }))
line('nevent with a relay hint', nip19.neventEncode({ id: note.id, author: alice, relays: ['wss://relay.example'] }))

// Proof of work off the main thread, with progress.
const target = 20
let reports = 0
const started = performance.now()
const mined = await nip13.minePow({ pubkey: alice, kind: 1, content: 'worked for this' }, target, {
  onProgress: () => reports++,
})
const seconds = (performance.now() - started) / 1000
const signedMined = finalizeEvent(mined, aliceSk)
line(`PoW (target ${target} bits)`, `id ${mined.id.slice(0, 16)}… difficulty ${nip13.getPow(mined.id)} in ${seconds.toFixed(2)} s, ${reports} progress reports`)
line('nonce tag', JSON.stringify(mined.tags.find((t) => t[0] === 'nonce')))
line('mined note verifies', verifyEvent(signedMined))

// A NIP-17 private message from Alice to Bob, with Alice's self-copy.
const aliceSigner = createSecretKeySigner(aliceSk)
const { wraps } = await nip17.wrapDirectMessage({ signer: aliceSigner, recipients: [bob], content: 'Hola, que tal?', subject: 'tour' })
line('gift wraps', wraps.map((w) => `${w.self ? 'self' : 'bob'} (signed by one-time key ${w.wrap.pubkey.slice(0, 8)}…)`).join(', '))
const received = await nip17.unwrapDirectMessage(wraps[0].wrap, createSecretKeySigner(bobSk))
line('bob reads', `"${received.rumor.content}" from ${received.sender === alice ? 'alice (verified)' : 'someone else'}`)

// The key at rest, encrypted with a passphrase (NIP-49), then used to sign again.
const ncryptsec = await nip49.encrypt(aliceSk, 'correct horse battery staple', { logN: 16 })
line('ncryptsec', `${ncryptsec.slice(0, 32)}…`)
const restored = await secretKeySignerFromNcryptsec(ncryptsec, 'correct horse battery staple')
line('restored key matches', (await restored.getPublicKey()) === alice)
restored.close()
aliceSigner.close()
console.log('crypto tour finished')
