import { execFile, spawnSync } from 'node:child_process'
import { readdirSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { generateSecretKey, getPublicKey } from '../src/crypto/keys.js'
import { nip19 } from '../src/crypto/index.js'
import { finalizeEvent } from '../src/crypto/signature.js'
import { seedPerson, type SeededPerson } from './helpers/client-harness.js'
import { startFleet, type TestFleet } from './helpers/relay-fleet.js'

// Every example runs against the built package (`npm test` builds first) and must exit 0. The
// network examples run against local relays: an indexer and a few relays seeded with people.
const dir = fileURLToPath(new URL('../examples/', import.meta.url))
const examples = readdirSync(dir).filter((f) => f.endsWith('.mjs'))

/** Runs an example without blocking this process (the relays it talks to live here). */
function run(file: string, args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [file, ...args], { cwd: dir, timeout: 60_000, env: { ...process.env, ...env } }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0
      resolve({ code, stdout, stderr })
    })
  })
}

describe('examples', () => {
  it('every example is exercised below', () => {
    expect(examples.sort()).toEqual(['crypto-tour.mjs', 'feed-reader.mjs', 'publisher.mjs'])
  })

  it('the crypto tour shows what it claims', () => {
    const tour = spawnSync(process.execPath, ['crypto-tour.mjs'], { cwd: dir, encoding: 'utf8', timeout: 60_000 })
    expect(tour.stderr).toBe('')
    expect(tour.status).toBe(0)
    expect(tour.stdout).toMatch(/signed note verifies\s+true/)
    expect(tour.stdout).toMatch(/tampered note verifies\s+false/)
    expect(tour.stdout).toMatch(/bob reads\s+"Hola, que tal\?" from alice \(verified\)/)
    expect(tour.stdout).toMatch(/restored key matches\s+true/)
    expect(tour.stdout).toMatch(/mined note verifies\s+true/)
    expect(tour.stdout).toMatch(/finished/)
  })

  describe('on local relays', () => {
    let fleet: TestFleet
    let bob: SeededPerson
    let carol: SeededPerson
    const reader = generateSecretKey()

    beforeAll(async () => {
      // Relay 0 is the indexer; bob writes to 1, carol to 2, bob reads DMs on 3.
      fleet = await startFleet(4)
      bob = await seedPerson(fleet, { write: [fleet.urls[1]!], read: [fleet.urls[1]!], dm: [fleet.urls[3]!] })
      carol = await seedPerson(fleet, { write: [fleet.urls[2]!], read: [fleet.urls[2]!] })
      const now = Math.floor(Date.now() / 1000)
      await fleet.relays[1]!.storeEvents([finalizeEvent({ kind: 1, content: 'bob says hi from relay one', created_at: now - 30 }, bob.secretKey)])
      await fleet.relays[2]!.storeEvents([finalizeEvent({ kind: 1, content: 'carol writes on relay two', created_at: now - 20 }, carol.secretKey)])
      const follows = finalizeEvent({ kind: 3, content: '', tags: [['p', bob.pubkey], ['p', carol.pubkey]], created_at: now - 100 }, reader)
      await fleet.relays[0]!.storeEvents([follows])
    }, 30_000)

    afterAll(async () => {
      await fleet?.close()
    })

    it('feed-reader.mjs reads the follows of a person from their own relays', async () => {
      const npub = nip19.npubEncode(getPublicKey(reader))
      const result = await run('feed-reader.mjs', [npub, '--indexer', fleet.urls[0]!, '--allow-private'])
      expect(result.stderr).not.toMatch(/Error|at /)
      expect(result.code).toBe(0)
      expect(result.stdout).toMatch(/follows 2 people/)
      expect(result.stdout).toMatch(/bob says hi from relay one/)
      expect(result.stdout).toMatch(/carol writes on relay two/)
      expect(result.stdout).toMatch(/2 posts from 2 relays \(0 failed\)/)
      expect(result.stdout).toMatch(/finished/)
    }, 60_000)

    it('publisher.mjs sets relays, publishes with PoW and sends a DM that lands on the recipient DM relay', async () => {
      const before = fleet.relays[3]!.messagesOfType('EVENT').length
      const result = await run('publisher.mjs', [
        '--indexer', fleet.urls[0]!,
        '--write', fleet.urls[2]!,
        '--read', fleet.urls[2]!,
        '--dm', fleet.urls[2]!,
        '--to', nip19.npubEncode(bob.pubkey),
        '--pow', '8',
        '--allow-private',
      ])
      expect(result.stderr).not.toMatch(/Error|at /)
      expect(result.code).toBe(0)
      expect(result.stdout).toMatch(/published note1\w+ \(pow 8, \d+ ms\): sent/)
      expect(result.stdout).toMatch(/dm to npub\w+…: sent/)
      expect(result.stdout).toMatch(/my copies of messages with them: 1/)
      expect(result.stdout).toMatch(/finished/)
      const wraps = fleet.relays[3]!.messagesOfType('EVENT').slice(before).filter((m) => (m[1] as { kind: number }).kind === 1059)
      expect(wraps).toHaveLength(1)
    }, 60_000)
  })
})
