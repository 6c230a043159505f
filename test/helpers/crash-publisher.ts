/**
 * The child process of the publish crash test (test/outbox/publish-crash.test.ts), bundled by the
 * test with esbuild and run with Node. It publishes `count` deterministic notes to every relay
 * through a durable publish queue on SQLite, printing `queued N` after each one is safely stored,
 * and `done` once every note is on every relay. Killed mid-way, a second run on the same database
 * resumes the unfinished publishes and queues the notes the first run never reached.
 *
 * argv: <database path> <secret key hex> <count> <relay url>...
 */
import { finalizeEvent, hexToBytes } from '../../src/crypto/index.js'
import { createPublishQueue } from '../../src/outbox/publish-queue.js'
import { createRelayPool } from '../../src/relay-pool/pool.js'
import { sqliteStorage } from '../../src/storage/sqlite.js'

const [path, secretHex, countText, ...relays] = process.argv.slice(2)
if (!path || !secretHex || !countText || relays.length === 0) {
  console.error('usage: crash-publisher <db> <sk hex> <count> <relay>...')
  process.exit(2)
}
const count = Number(countText)
const secretKey = hexToBytes(secretHex)
const storage = sqliteStorage({ path })
const pool = createRelayPool({
  connect: { allowPrivateHosts: ['127.0.0.1'] },
  fetch: false,
  backoff: { baseMs: 20, maxMs: 200, penaltyMs: { 'connect-refused': 100, 'closed-unexpectedly': 0 } },
})
const queue = createPublishQueue({ pool, storage, baseDelayMs: 50, maxDelayMs: 400, maxAttempts: 1000 })

/** The same note in every run: fixed time and content give the same id (only the signature's randomness differs). */
function noteNumber(i: number) {
  return finalizeEvent({ kind: 1, created_at: 1_700_000_000 + i, tags: [['t', 'crash-test']], content: `crash test note ${i}` }, secretKey)
}

const resumed = await queue.resume()
console.log(`resumed ${resumed}`)
const ids: string[] = []
for (let i = 0; i < count; i++) {
  const event = noteNumber(i)
  ids.push(event.id)
  if ((await queue.report(event.id)) === undefined) {
    await queue.publish(event, relays.map((url) => ({ url, reason: 'my-outbox' })))
  }
  console.log(`queued ${i + 1}`)
  // Give the sends a moment so a kill lands with publishes in every state.
  if (i % 10 === 9) await new Promise((resolve) => setTimeout(resolve, 20))
}
const deadline = Date.now() + 60_000
for (;;) {
  const reports = await Promise.all(ids.map((id) => queue.report(id)))
  if (reports.every((r) => r?.state === 'sent' && r.accepted === relays.length)) break
  if (Date.now() > deadline) {
    console.log(`timeout ${reports.filter((r) => r?.state === 'sent').length}`)
    process.exitCode = 1
    break
  }
  await new Promise((resolve) => setTimeout(resolve, 50))
}
await queue.close()
await pool.close()
await storage.close()
console.log('done')
