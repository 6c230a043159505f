import { it } from 'vitest'
import { finalizeEvent, generateSecretKey, verifyEvents } from '../../src/crypto/index.js'
import { hashSerialized } from '../../src/crypto/event.js'
import fc from 'fast-check'
it('bench', () => {
const sk = generateSecretKey()
let t = performance.now()
const evs = Array.from({length: 300}, (_, i) => finalizeEvent({ kind: 1, content: 'note ' + i, tags: [['t','x']], created_at: 1700000000 + i }, sk))
console.log('sign 300', performance.now() - t)
t = performance.now()
for (const e of evs) verifyEvents([{...e}])
console.log('verify 300', performance.now() - t)
t = performance.now()
for (const e of evs) verifyEvents([{...e, sig: e.sig.slice(0, -2) + '00'}])
console.log('verify bad 300', performance.now() - t)
t = performance.now()
for (let i = 0; i < 20000; i++) hashSerialized(evs[i % 300]!)
console.log('hash 20000', performance.now() - t)
t = performance.now()
const s = fc.sample(fc.string({unit:'binary', maxLength: 40}), {seed: 1, numRuns: 50000})
console.log('sample 50000', performance.now() - t, s.length)
})
