import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'
import { afterEach, describe, expect, it } from 'vitest'
import { finalizeEvent, generateSecretKey, verifyEvents, type NostrEvent } from '../../src/crypto/index.js'
import {
  createMainThreadVerifier,
  createWorkerVerifier,
  verifyWorkerSource,
  WorkerPoolVerifier,
  type EventVerifier,
} from '../../src/relay-pool/verifier.js'
import { withBadSignature, withForgedContent } from '../helpers/scripted-relay.js'

const keys = Array.from({ length: 6 }, () => generateSecretKey())
function notes(count: number, tag = 'n'): NostrEvent[] {
  return Array.from({ length: count }, (_, i) => finalizeEvent({ kind: 1, content: `${tag} ${i}`, created_at: 1_700_000_000 + i }, keys[i % keys.length] as Uint8Array))
}

const open: EventVerifier[] = []
function track<T extends EventVerifier>(verifier: T): T {
  open.push(verifier)
  return verifier
}
afterEach(async () => {
  await Promise.all(open.splice(0).map((v) => v.close()))
})

/** A worker-backed verifier whose engine is given as source text (for failure cases). */
function customWorkers(engineFactorySource: string, workers = 2): WorkerPoolVerifier {
  return track(new WorkerPoolVerifier({ backend: 'test', engineFactorySource, init: undefined, fallback: async () => verifyEvents, workers }))
}

describe('worker verifier', () => {
  it('checks batches on worker threads: exactly the forged copies fail', async () => {
    const verifier = track(createWorkerVerifier({ workers: 2 }))
    expect(verifier.stats()).toMatchObject({ mode: 'idle', workers: 0 })
    const batch = notes(40)
    batch[3] = withBadSignature(batch[3]!)
    batch[20] = withForgedContent(batch[20]!)
    const verdicts = await verifier.verify(batch)
    expect(verdicts.map((ok, i) => (ok ? -1 : i)).filter((i) => i >= 0)).toEqual([3, 20])
    expect(verifier.stats()).toMatchObject({ backend: 'js-batch', mode: 'workers', workers: 2, events: 40, mainThreadEvents: 0, workerFailures: 0 })
  })

  it('many concurrent batches, some split across workers, each resolves with its own verdicts', async () => {
    const verifier = track(createWorkerVerifier({ workers: 2, maxJobEvents: 64 }))
    const all = notes(300, 'c')
    const batches = [all.slice(0, 200), all.slice(200, 210), all.slice(210, 300)].map((b, k) => b.map((e, i) => (i % 50 === k ? withBadSignature(e) : e)))
    const results = await Promise.all(batches.map((b, k) => verifier.verify(b, { key: k === 1 ? 'relay-b' : '' })))
    results.forEach((verdicts, k) => expect(verdicts).toEqual(batches[k]!.map((_, i) => i % 50 !== k)))
  })

  it('a single-mode hint still gives exact verdicts', async () => {
    const verifier = track(createWorkerVerifier({ workers: 1 }))
    const batch = notes(5, 's')
    batch[1] = withBadSignature(batch[1]!)
    expect(await verifier.verify(batch, { key: 'x', single: true })).toEqual([true, false, true, true, true])
  })

  it('close() ends the workers; pending and later calls resolve with false', async () => {
    const verifier = createWorkerVerifier({ workers: 2 })
    await verifier.verify(notes(2))
    expect(verifier.stats().workers).toBe(2)
    const pending = verifier.verify(notes(200, 'p'))
    await verifier.close()
    expect(await pending).toEqual(new Array(200).fill(false))
    expect(verifier.stats()).toMatchObject({ mode: 'closed', workers: 0 })
    expect(await verifier.verify(notes(1))).toEqual([false])
    await verifier.close()
  })

  it('workers: 0 verifies on the main thread and says why', async () => {
    const verifier = track(createWorkerVerifier({ workers: 0 }))
    const batch = notes(3)
    batch[0] = withBadSignature(batch[0]!)
    expect(await verifier.verify(batch)).toEqual([false, true, true])
    expect(verifier.stats()).toMatchObject({ mode: 'main-thread', fallbackReason: 'workers: 0', mainThreadEvents: 3, workers: 0 })
  })

  it('falls back to the main thread when no worker can start its engine', async () => {
    const verifier = customWorkers('function () { throw new Error("no engine here") }')
    const batch = notes(4)
    batch[2] = withForgedContent(batch[2]!)
    expect(await verifier.verify(batch)).toEqual([true, true, false, true])
    const stats = verifier.stats()
    expect(stats).toMatchObject({ mode: 'main-thread', backend: 'main-thread', workers: 0, workerFailures: 2, mainThreadEvents: 4 })
    expect(stats.fallbackReason).toMatch(/could not start: no engine here/)
  })

  it('a worker that dies mid-job loses nothing: its batch goes to the next worker, then to the main thread', async () => {
    // Every worker exits on its first real batch.
    const verifier = customWorkers('function () { return { verify: function (events) { if (events.length > 1) process.exit(3); return new Uint8Array(events.length).fill(1) } } }')
    expect(await verifier.verify(notes(1))).toEqual([true])
    const batch = notes(10, 'd')
    batch[9] = withBadSignature(batch[9]!)
    expect(await verifier.verify(batch)).toEqual([...new Array(9).fill(true), false])
    const stats = verifier.stats()
    expect(stats).toMatchObject({ mode: 'main-thread', workerFailures: 2, mainThreadEvents: 10 })
    expect(stats.fallbackReason).toMatch(/worker crashed: worker exited with code 3/)
  })

  it('the worker source is plain JavaScript for both platforms', () => {
    for (const platform of ['node', 'web'] as const) {
      const source = verifyWorkerSource(platform, 'function () { return { verify: function (e) { return new Uint8Array(e.length) } } }')
      expect(() => new Function(source)).not.toThrow()
      expect(source.includes(platform === 'node' ? "require('node:worker_threads')" : 'self.postMessage')).toBe(true)
    }
  })

  it('validates its options', () => {
    expect(() => createWorkerVerifier({ workers: -1 })).toThrow(RangeError)
    expect(() => createWorkerVerifier({ workers: 1.5 })).toThrow(/workers/)
    expect(() => createWorkerVerifier({ maxJobEvents: 0 })).toThrow(/maxJobEvents/)
  })

  it('an idle verifier does not keep a Node process alive (a script that never calls close() exits)', async () => {
    const root = resolve(fileURLToPath(new URL('../..', import.meta.url)))
    const dir = mkdtempSync(join(root, 'node_modules', '.verifier-exit-'))
    try {
      const [event] = notes(1)
      writeFileSync(
        join(dir, 'entry.ts'),
        `import { createWorkerVerifier } from ${JSON.stringify(join(root, 'src/relay-pool/verifier.ts'))}\n` +
          `const verifier = createWorkerVerifier({ workers: 2 })\n` +
          `const verdicts = await verifier.verify([${JSON.stringify(event)}])\n` +
          `console.log(JSON.stringify({ verdicts, stats: verifier.stats() }))\n`,
      )
      await build({ entryPoints: [join(dir, 'entry.ts')], bundle: true, platform: 'node', format: 'esm', packages: 'external', outfile: join(dir, 'entry.mjs'), logLevel: 'silent' })
      const child = spawn(process.execPath, [join(dir, 'entry.mjs')], { stdio: ['ignore', 'pipe', 'pipe'] })
      let out = ''
      child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()))
      const code = await new Promise<number | null>((done) => {
        const timer = setTimeout(() => {
          child.kill()
          done(null)
        }, 20_000)
        child.on('exit', (c) => {
          clearTimeout(timer)
          done(c)
        })
      })
      expect(code).toBe(0)
      expect(JSON.parse(out)).toMatchObject({ verdicts: [true], stats: { mode: 'workers', workers: 2 } })
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})

describe('main-thread verifier', () => {
  it('runs the given batch check, never rejects, and closes', async () => {
    const verifier = createMainThreadVerifier(() => {
      throw new Error('boom')
    })
    expect(await verifier.verify(notes(2))).toEqual([false, false])
    await verifier.close()
    expect(verifier.stats()).toMatchObject({ backend: 'main-thread', mode: 'closed', events: 2 })
    const real = createMainThreadVerifier()
    expect(await real.verify([withBadSignature(notes(1)[0]!), notes(1)[0]!])).toEqual([false, true])
  })
})
