import { resolveObjectURL } from 'node:buffer'
import { fileURLToPath } from 'node:url'
import { runInNewContext } from 'node:vm'
import { Worker as NodeWorker } from 'node:worker_threads'
import { sha256 } from '@noble/hashes/sha2.js'
import fc from 'fast-check'
import { getEventHash as ntGetEventHash } from 'nostr-tools/pure'
import { getPow as ntGetPow, minePow as ntMinePow } from 'nostr-tools/nip13'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { bytesToHex, utf8Encoder } from '../../src/crypto/bytes.js'
import { type NostrEvent, getEventHash, nowSeconds } from '../../src/crypto/event.js'
import { generateSecretKey, getPublicKey } from '../../src/crypto/keys.js'
import { type PowProgress, getCommittedTarget, getPow, minePow } from '../../src/crypto/nip13.js'
import { type PowJob, type PowWorkerMessage, type PowWorkerRequest, createPowMiner } from '../../src/crypto/pow-miner.js'
import { finalizeEvent, verifyEvent } from '../../src/crypto/signature.js'
import { readJsonVector } from '../helpers/vectors.js'
import { expectRejectionCode } from '../helpers/errors.js'

// Every worker_threads Worker that src/crypto/nip13.ts starts is the real one, recorded: the tests
// check that each has exited by the time minePow settles (a live worker would keep vitest from
// exiting), what it was asked to mine, and can swap its source to script a failure.
const tracked = vi.hoisted(() => ({
  workers: [] as { exited: boolean; requests: unknown[] }[],
  /** What the next Workers do instead of mining: a source text, or 'throw' from the constructor. */
  sabotage: undefined as string | undefined,
}))

vi.mock('node:worker_threads', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:worker_threads')>()
  class TrackedWorker extends real.Worker {
    readonly record = { exited: false, requests: [] as unknown[] }
    constructor(source: string, options: import('node:worker_threads').WorkerOptions) {
      if (tracked.sabotage === 'throw') throw new Error('no threads here')
      super(tracked.sabotage ?? source, options)
      tracked.workers.push(this.record)
      this.once('exit', () => {
        this.record.exited = true
      })
    }
    override postMessage(value: unknown): void {
      this.record.requests.push(value)
      super.postMessage(value)
    }
  }
  return { ...real, Worker: TrackedWorker, default: { ...real, Worker: TrackedWorker } }
})

beforeEach(() => {
  tracked.workers.length = 0
  tracked.sabotage = undefined
})

function expectNoLiveWorkers(): void {
  expect(tracked.workers.map((w) => w.exited)).toEqual(tracked.workers.map(() => true))
}

const PUBKEY = getPublicKey(new Uint8Array(32).fill(3))
const template = (content = 'It is just me mining my own business') => ({
  pubkey: PUBKEY,
  created_at: 1_700_000_000,
  kind: 1,
  tags: [['p', 'ab'.repeat(32)], ['nonce', '99', '1'], ['t', 'nostr']],
  content,
})

/** The checks every mined event must pass. */
function expectMined(event: Awaited<ReturnType<typeof minePow>>, target: number): void {
  expect(event.id).toBe(getEventHash(event))
  expect(event.id).toBe(ntGetEventHash(event))
  expect(getPow(event.id)).toBeGreaterThanOrEqual(target)
  const last = event.tags.at(-1)!
  expect(last).toEqual(['nonce', expect.stringMatching(/^[1-9]\d*$/), String(target)])
  expect(event.tags.filter((t) => t[0] === 'nonce')).toHaveLength(1)
  expect(getCommittedTarget(event)).toBe(target)
}

interface Nip13Vectors {
  difficulty_examples: ({ id: string; difficulty: number } | { id_prefix: string; difficulty: number })[]
  mined_note: NostrEvent
  mined_note_difficulty_derived: number
  mined_note_target: number
}
const vectors = readJsonVector<Nip13Vectors>('nip13.from-nip-text.json')

describe('getPow: NIP-13 vectors', () => {
  it('counts the leading zero bits of the difficulty examples', () => {
    expect(vectors.difficulty_examples).toHaveLength(2)
    for (const example of vectors.difficulty_examples) {
      // The '002f' example is a prefix: pad it with 'f' bits, which add no zeros.
      const id = 'id' in example ? example.id : example.id_prefix.padEnd(64, 'f')
      expect(getPow(id)).toBe(example.difficulty)
    }
    expect(getPow('000000000e9d97a1ab09fc381030b346cdd7a142ad57e6df0b46dc9bef6c7e2d')).toBe(36)
    expect(getPow(`002f${'f'.repeat(60)}`)).toBe(10)
  })

  it('checks the mined note: NIP-01 id, difficulty 21, committed target 20, valid signature', () => {
    const note = vectors.mined_note
    expect(getEventHash(note)).toBe(note.id)
    expect(verifyEvent(note)).toBe(true)
    expect(getPow(note.id)).toBe(vectors.mined_note_difficulty_derived)
    expect(getPow(note.id)).toBe(21)
    expect(getCommittedTarget(note)).toBe(vectors.mined_note_target)
    expect(getCommittedTarget(note)).toBe(20)
  })
})

describe('getPow', () => {
  it('handles every nibble, upper case, all zeros and short input', () => {
    for (let nibble = 0; nibble < 16; nibble++) {
      const id = `00${nibble.toString(16)}`.padEnd(64, 'f')
      expect(getPow(id)).toBe(8 + (nibble === 0 ? 4 + 0 : Math.clz32(nibble) - 28))
    }
    expect(getPow('0'.repeat(64))).toBe(256)
    expect(getPow('000F')).toBe(12)
    expect(getPow('')).toBe(0)
  })

  it('throws TypeError for non-hex input', () => {
    expect(() => getPow('00zz')).toThrow(TypeError)
    expect(() => getPow(42 as unknown as string)).toThrow(TypeError)
  })

  it('agrees with nostr-tools on random ids with many leading zeros', () => {
    const ids = fc
      .tuple(fc.integer({ min: 0, max: 256 }), fc.uint8Array({ minLength: 32, maxLength: 32 }))
      .map(([zeros, bytes]) => {
        // Clear the first `zeros` bits so every difficulty is exercised.
        const out = bytes.slice()
        for (let bit = 0; bit < zeros; bit++) out[bit >> 3]! &= ~(0x80 >> (bit & 7))
        return bytesToHex(out)
      })
    fc.assert(
      fc.property(ids, (id) => {
        expect(getPow(id)).toBe(ntGetPow(id))
      }),
      { seed: 42, numRuns: 300 },
    )
  })
})

describe('getCommittedTarget', () => {
  it('reads the third entry of the nonce tag, or undefined', () => {
    expect(getCommittedTarget({ tags: [['e', 'x'], ['nonce', '1', '0']] })).toBe(0)
    expect(getCommittedTarget({ tags: [['nonce', '1']] })).toBeUndefined()
    expect(getCommittedTarget({ tags: [['nonce', '1', 'twenty']] })).toBeUndefined()
    expect(getCommittedTarget({ tags: [] })).toBeUndefined()
  })
})

describe('the mining core', () => {
  const KERNELS = ['js', 'simd'] as const
  const bytes = (length: number, fill: number): Uint8Array => new Uint8Array(length).fill(fill)

  // Every nonce the miner tries is re-hashed with noble's SHA-256: the hit must be the first nonce
  // of its lane that meets the target, and the nonces must be what `nonceAt` says they are.
  function checkAgainstNoble(job: PowJob, steps = 10_000) {
    const miner = createPowMiner(job)
    let nonce: string | undefined
    while (nonce === undefined && miner.hashes < 40_000) nonce = miner.run(steps)
    expect(nonce).toBeDefined()
    expect(miner.nonceAt(miner.hashes - 1)).toBe(nonce)
    for (let i = 0; i < miner.hashes; i++) {
      const tried = miner.nonceAt(i)
      const zeros = getPow(bytesToHex(sha256(new Uint8Array([...job.prefix, ...utf8Encoder.encode(tried), ...job.suffix]))))
      expect(zeros >= job.target, `nonce ${tried}`).toBe(i === miner.hashes - 1)
    }
    return { miner, nonce: nonce! }
  }

  it('matches SHA-256 for every prefix alignment and block boundary (JavaScript kernel)', () => {
    for (let prefixLength = 0; prefixLength <= 136; prefixLength++) {
      for (const suffixLength of [0, 43, 47, 52, 60, 119]) {
        const job = { prefix: bytes(prefixLength, 0x61 + (prefixLength % 26)), suffix: bytes(suffixLength, 0x22) }
        checkAgainstNoble({ ...job, target: 3, lane: prefixLength % 3, lanes: 3, kernel: 'js' })
      }
    }
  })

  it('matches SHA-256 with the SIMD kernel for every position of the fast digits in their block', () => {
    // The kernel's code depends on which schedule word holds the fast digits, on how many blocks
    // follow it, and on the target. A suffix of 3 bytes leaves no block after it, 55 one, 300 four;
    // the prefix length puts the fast digits in word w (the nonce has at least 8 leading digits).
    for (const [suffixLength, words] of [[3, 13], [55, 16], [300, 2]] as const) {
      for (let w = 0; w < words; w++) {
        const prefixLength = 64 + ((4 * w - 8 + 64) % 64)
        const job = { prefix: bytes(prefixLength, 0x70), suffix: bytes(suffixLength, 0x73) }
        for (const [target, steps] of [[6, 10_000], [8, 7]] as const) {
          const { miner, nonce } = checkAgainstNoble({ ...job, target, lane: 1, lanes: 2, kernel: 'simd' }, steps)
          expect(miner.kernel).toBe('simd')
          expect(((prefixLength + nonce.length - 4) % 64) / 4).toBe(w)
        }
      }
    }
  })

  it('matches SHA-256 on random bytes, with both kernels', () => {
    const data = fc.uint8Array({ maxLength: 300 })
    fc.assert(
      fc.property(data, data, fc.integer({ min: 0, max: 6 }), fc.integer({ min: 1, max: 4 }), fc.constantFrom(...KERNELS), (p, s, target, lanes, kernel) => {
        checkAgainstNoble({ prefix: p, suffix: s, target, lane: lanes - 1, lanes, kernel })
      }),
      { seed: 42, numRuns: 40 },
    )
  })

  it('places the nonce so that each attempt hashes the fewest blocks possible', () => {
    // The tail from the fast digits' block to the end holds at least the four digits, the suffix,
    // the 0x80 byte and the length; the nonce is padded so that it needs no more blocks than that,
    // whatever the prefix. A short note (any prefix alignment) is one block per attempt.
    for (let prefixLength = 60; prefixLength < 60 + 64; prefixLength++) {
      for (const suffixLength of [17, 40, 51, 52, 100, 300]) {
        const job = { prefix: bytes(prefixLength, 0x61), suffix: bytes(suffixLength, 0x62), target: 0, lane: 0, lanes: 1 }
        const miner = createPowMiner(job)
        const nonce = miner.run(1)!
        expect(nonce).toMatch(/^1\d{11,}$/)
        const fastAt = prefixLength + nonce.length - 4
        expect(fastAt % 4).toBe(0) // the four fast digits fill one schedule word
        const total = Math.ceil((prefixLength + nonce.length + suffixLength + 9) / 64)
        const tail = total - Math.floor(fastAt / 64)
        expect(tail).toBe(Math.ceil((4 + suffixLength + 9) / 64))
        expect(miner.blocksPerHash).toBe(tail)
        if (suffixLength <= 51) expect(tail).toBe(1)
      }
    }
  })

  it('resumes where it stopped: small steps find the same nonces as whole chunks, with either kernel', () => {
    const job = { prefix: utf8Encoder.encode('x'.repeat(77)), suffix: utf8Encoder.encode('y'.repeat(33)), target: 5 }
    const found = (kernel: 'js' | 'simd', step: number): string[] => {
      const miner = createPowMiner({ ...job, lane: 1, lanes: 2, kernel })
      const nonces: string[] = []
      while (miner.hashes < 30_000) {
        const n = miner.run(step)
        if (n) nonces.push(n)
      }
      return nonces
    }
    const reference = found('js', 10_000)
    expect(reference.length).toBeGreaterThan(100)
    for (const [kernel, step] of [['js', 7], ['simd', 10_000], ['simd', 7], ['simd', 4]] as const) {
      const nonces = found(kernel, step)
      const common = Math.min(reference.length, nonces.length)
      expect(common).toBeGreaterThan(100)
      expect(nonces.slice(0, common)).toEqual(reference.slice(0, common))
    }
  })

  it('switches to the SIMD kernel after the first chunk by default, and mines without WebAssembly', () => {
    const job = { prefix: utf8Encoder.encode('p'.repeat(90)), suffix: utf8Encoder.encode('s'.repeat(40)), target: 40, lane: 0, lanes: 1 }
    const auto = createPowMiner(job)
    auto.run(10_000)
    expect(auto.kernel).toBe('js')
    auto.run(10)
    expect(auto.kernel).toBe('simd')
    // No WebAssembly at all, or a policy that forbids compiling (a CSP without wasm-unsafe-eval).
    const forbidden = {
      Module: function () {
        throw new EvalError('Refused to compile WebAssembly')
      },
    }
    for (const stub of [undefined, forbidden]) {
      vi.stubGlobal('WebAssembly', stub)
      try {
        const without = createPowMiner({ ...job, target: 8, kernel: 'simd' })
        const nonce = without.run(100_000)
        expect(without.kernel).toBe('js')
        const id = bytesToHex(sha256(new Uint8Array([...job.prefix, ...utf8Encoder.encode(nonce!), ...job.suffix])))
        expect(getPow(id)).toBeGreaterThanOrEqual(8)
      } finally {
        vi.unstubAllGlobals()
      }
    }
  })
})

describe('the worker source', () => {
  // The worker is spawned from `fn.toString()`, so a bundler that injects module-scope helpers
  // into function bodies would break it. esbuild's keepNames does exactly that for named function
  // values: build the module the way a consumer's bundler might and mine with the result.
  it('survives a bundler that minifies and keeps function names', async () => {
    const { build } = await import('esbuild')
    const bundled = await build({
      entryPoints: [fileURLToPath(new URL('../../src/crypto/pow-miner.ts', import.meta.url))],
      bundle: true,
      write: false,
      format: 'iife',
      globalName: 'powMiner',
      minify: true,
      keepNames: true,
      target: 'es2022',
      logLevel: 'silent',
    })
    const sandbox: { powMiner?: typeof import('../../src/crypto/pow-miner.js') } = {}
    runInNewContext(bundled.outputFiles[0]!.text, sandbox)
    const source = sandbox.powMiner!.powWorkerSource('node')
    const prefix = utf8Encoder.encode('[0,"prefix",["nonce","')
    const suffix = utf8Encoder.encode('","10"]],"content"]')
    const worker = new NodeWorker(source, { eval: true })
    try {
      const message = await new Promise<PowWorkerMessage>((resolve, reject) => {
        worker.once('message', resolve)
        worker.once('error', reject)
        // The SIMD kernel from the start: its code generator must survive the bundler too.
        worker.postMessage({ job: { prefix, suffix, target: 10, lane: 0, lanes: 1, kernel: 'simd' }, reportMs: 1e9 })
      })
      expect(message).toMatchObject({ type: 'found', kernel: 'simd' })
      const nonce = (message as { nonce: string }).nonce
      const hash = sha256(new Uint8Array([...prefix, ...utf8Encoder.encode(nonce), ...suffix]))
      expect(getPow(bytesToHex(hash))).toBeGreaterThanOrEqual(10)
    } finally {
      await worker.terminate()
    }
  })
})

describe('minePow', () => {
  for (const workers of [1, 2]) {
    it(`mines in ${workers} worker thread(s) and stops them`, async () => {
      const input = template()
      const before = structuredClone(input)
      const mined = await minePow(input, 12, { workers })
      expectMined(mined, 12)
      // The old nonce tag is gone, the other tags keep their order, the input is untouched.
      expect(mined.tags.slice(0, -1)).toEqual([['p', 'ab'.repeat(32)], ['t', 'nostr']])
      expect(input).toEqual(before)
      expect({ ...mined, id: undefined, tags: undefined }).toEqual({ ...before, id: undefined, tags: undefined })
      // Each worker got its own lane of the nonce space.
      expect(tracked.workers).toHaveLength(workers)
      const lanes = tracked.workers.map((w) => (w.requests[0] as PowWorkerRequest).job)
      expect(lanes.map((j) => [j.lane, j.lanes])).toEqual([...Array(workers).keys()].map((i) => [i, workers]))
      expectNoLiveWorkers()
    })
  }

  it('uses min(2, cores) workers by default', async () => {
    await minePow(template(), 8)
    const cores = (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator?.hardwareConcurrency
    expect(tracked.workers).toHaveLength(Math.min(2, cores ?? 2))
    expectNoLiveWorkers()
  })

  it('mines on the calling thread with workers: 0', async () => {
    const mined = await minePow(template(), 12, { workers: 0 })
    expectMined(mined, 12)
    expect(tracked.workers).toHaveLength(0)
  })

  it('falls back to the calling thread when workers cannot be started', async () => {
    tracked.sabotage = 'throw'
    const mined = await minePow(template(), 10, { workers: 2 })
    expectMined(mined, 10)
    expect(tracked.workers).toHaveLength(0)
  })

  it('mines unicode content and tags (hashing UTF-8 bytes)', async () => {
    const input = {
      ...template('gm 🌅 héllo "quoted" \\ back\nslash \u0001 \u2028 𝄞 日本語 \ud800'),
      tags: [['t', 'ñoño 🚀'], ['nonce', 'x']],
    }
    for (const workers of [0, 2]) {
      const mined = await minePow(input, 10, { workers })
      expectMined(mined, 10)
      expect(mined.content).toBe(input.content)
    }
    expectNoLiveWorkers()
  })

  it('agrees with nostr-tools ids on random events (calling thread)', async () => {
    const tag = fc.array(fc.string({ unit: 'grapheme', maxLength: 12 }), { minLength: 1, maxLength: 3 })
    await fc.assert(
      fc.asyncProperty(
        fc.string({ unit: 'binary', maxLength: 200 }),
        fc.array(tag, { maxLength: 4 }),
        fc.integer({ min: 0, max: 65535 }),
        fc.integer({ min: 0, max: 6 }),
        async (content, tags, kind, target) => {
          const mined = await minePow({ pubkey: PUBKEY, created_at: 1_600_000_000, kind, tags, content }, target, {
            workers: 0,
          })
          expectMined(mined, target)
          expect(ntGetPow(mined.id)).toBe(getPow(mined.id))
        },
      ),
      { seed: 42, numRuns: 40 },
    )
  })

  it('accepts what nostr-tools mines', () => {
    for (let i = 0; i < 5; i++) {
      const event = { pubkey: PUBKEY, created_at: 0, kind: 1, tags: [['t', `n${i}`]], content: `café ${i}` }
      const mined = ntMinePow(event, 8)
      expect(getEventHash(mined)).toBe(mined.id)
      expect(getPow(mined.id)).toBe(ntGetPow(mined.id))
      expect(getPow(mined.id)).toBeGreaterThanOrEqual(8)
      expect(getCommittedTarget(mined)).toBe(8)
    }
  })

  it('returns an event that signs to the same id', async () => {
    const sk = generateSecretKey()
    const mined = await minePow({ pubkey: getPublicKey(sk), kind: 1, content: 'gm' }, 8, { workers: 1 })
    const signed = finalizeEvent(mined, sk)
    expect(signed.id).toBe(mined.id)
    expect(verifyEvent(signed)).toBe(true)
  })

  it('defaults created_at to now and tags to [], and handles target 0', async () => {
    const before = nowSeconds()
    const mined = await minePow({ pubkey: PUBKEY, kind: 7, content: '+' }, 0, { workers: 0 })
    expect(mined.created_at).toBeGreaterThanOrEqual(before)
    expect(mined.created_at).toBeLessThanOrEqual(nowSeconds())
    expect(mined.tags).toEqual([['nonce', expect.stringMatching(/^1\d{11,}$/), '0']])
    expectMined(mined, 0)
  })

  it('rejects bad arguments', async () => {
    for (const target of [-1, 1.5, 257, Number.NaN]) {
      await expect(minePow(template(), target)).rejects.toThrow(RangeError)
    }
    await expect(minePow(template(), 8, { workers: -1 })).rejects.toThrow(RangeError)
    await expect(minePow(template(), 8, { workers: 0.5 })).rejects.toThrow(RangeError)
    await expect(minePow(template(), 8, { progressIntervalMs: -5 })).rejects.toThrow(RangeError)
    await expect(minePow(template(), 8, { onProgress: 'x' as never })).rejects.toThrow(TypeError)
    await expect(minePow(template(), 8, { signal: {} as never })).rejects.toThrow(TypeError)
    await expect(minePow(null as never, 8)).rejects.toThrow(TypeError)
    await expectRejectionCode(minePow({ ...template(), pubkey: 'npub1…' }, 8), 'INVALID_EVENT')
    await expectRejectionCode(minePow({ ...template(), tags: 'p' as never }, 8), 'INVALID_EVENT')
    await expectRejectionCode(minePow({ ...template(), tags: [['e', 1 as never]] }, 8), 'INVALID_EVENT')
    await expectRejectionCode(minePow({ ...template(), tags: [null as never] }, 8), 'INVALID_EVENT')
    await expectRejectionCode(minePow({ ...template(), kind: 70000 }, 8), 'INVALID_EVENT')
    expect(tracked.workers).toHaveLength(0)
  })
})

describe('minePow: abort and progress', () => {
  const IMPOSSIBLE = 64 // never found in a test's lifetime

  it('rejects at once when the signal is already aborted, starting no worker', async () => {
    const reason = new Error('user cancelled')
    const err = await expectRejectionCode(minePow(template(), 8, { signal: AbortSignal.abort(reason) }), 'NIP13_ABORTED')
    expect(err.cause).toBe(reason)
    await expectRejectionCode(minePow(template(), 8, { workers: 0, signal: AbortSignal.abort() }), 'NIP13_ABORTED')
    expect(tracked.workers).toHaveLength(0)
  })

  for (const workers of [0, 1, 2]) {
    it(`reports increasing progress, then aborts mid-mining (workers: ${workers})`, async () => {
      const timersBefore = process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length
      const controller = new AbortController()
      const reports: PowProgress[] = []
      const mining = minePow(template(), IMPOSSIBLE, {
        workers,
        signal: controller.signal,
        progressIntervalMs: 20,
        onProgress: (p) => {
          reports.push(p)
          if (reports.length === 4) controller.abort()
        },
      })
      await expectRejectionCode(mining, 'NIP13_ABORTED')
      expect(reports).toHaveLength(4)
      for (let i = 1; i < reports.length; i++) expect(reports[i]!.hashes).toBeGreaterThan(reports[i - 1]!.hashes)
      for (const p of reports) {
        expect(p.hashesPerSecond).toBeGreaterThan(0)
        expect(p.estimatedSecondsLeft / (2 ** IMPOSSIBLE / p.hashesPerSecond)).toBeCloseTo(1, 9)
      }
      expect(tracked.workers).toHaveLength(workers)
      expectNoLiveWorkers()
      expect(process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length).toBeLessThanOrEqual(timersBefore)
    })
  }

  it('stops the workers and rejects with the error onProgress throws', async () => {
    const boom = new Error('boom')
    const mining = minePow(template(), IMPOSSIBLE, {
      workers: 2,
      progressIntervalMs: 10,
      onProgress: () => {
        throw boom
      },
    })
    await expect(mining).rejects.toBe(boom)
    expectNoLiveWorkers()
  })
})

describe('minePow: worker failures', () => {
  const crash = async (source: string) => {
    tracked.sabotage = source
    const err = await expectRejectionCode(minePow(template(), 40, { workers: 2 }), 'NIP13_WORKER_FAILED')
    expectNoLiveWorkers()
    return err
  }

  it('rejects NIP13_WORKER_FAILED when a worker throws', async () => {
    const err = await crash('throw new Error("out of memory, say")')
    expect((err.cause as Error).message).toContain('out of memory')
  })

  it('rejects NIP13_WORKER_FAILED when a worker exits', async () => {
    await crash('process.exit(3)')
  })

  it('rejects NIP13_WORKER_FAILED when a worker reports an error', async () => {
    const err = await crash(
      "require('node:worker_threads').parentPort.once('message', () => require('node:worker_threads').parentPort.postMessage({ type: 'error', message: 'bad job' }))",
    )
    expect(err.details).toBe('bad job')
  })

  it('rejects NIP13_WORKER_FAILED when a worker returns a nonce that misses the target', async () => {
    await crash(
      "const { parentPort } = require('node:worker_threads'); parentPort.once('message', () => parentPort.postMessage({ type: 'found', nonce: '1', hashes: 1 }))",
    )
  })
})

describe('minePow: Web Workers', () => {
  // Node has no Web Worker, so this one runs the browser worker source (Blob URL, `self`) in a
  // worker thread behind the Web Worker API, with `self` provided the way a browser does.
  const web = { urls: [] as string[], stopped: [] as Promise<unknown>[] }

  afterEach(async () => {
    vi.unstubAllGlobals()
    await Promise.all(web.stopped)
    web.urls.length = 0
    web.stopped.length = 0
  })

  it('spawns from a Blob URL when worker_threads cannot start, and revokes the URL', async () => {
    const { Worker: RealWorker } = await vi.importActual<typeof import('node:worker_threads')>('node:worker_threads')
    class FakeWebWorker {
      onmessage: ((event: { data: unknown }) => void) | null = null
      onerror: ((event: unknown) => void) | null = null
      onmessageerror: ((event: unknown) => void) | null = null
      readonly #thread: Promise<InstanceType<typeof RealWorker>>
      constructor(url: string) {
        web.urls.push(url)
        this.#thread = resolveObjectURL(url)!
          .text()
          .then((source) => {
            const shim =
              "const { parentPort } = require('node:worker_threads'); globalThis.self = { " +
              'postMessage: (m) => parentPort.postMessage(m), ' +
              "set onmessage(h) { parentPort.removeAllListeners('message'); if (h) parentPort.on('message', (data) => h({ data })) } };\n"
            const thread = new RealWorker(shim + source, { eval: true })
            thread.on('message', (data) => this.onmessage?.({ data }))
            return thread
          })
      }
      postMessage(message: unknown): void {
        void this.#thread.then((thread) => thread.postMessage(message))
      }
      terminate(): void {
        web.stopped.push(this.#thread.then((thread) => thread.terminate()))
      }
    }
    vi.stubGlobal('Worker', FakeWebWorker)
    tracked.sabotage = 'throw'

    const mined = await minePow(template('from a browser 🌐'), 12, { workers: 2 })
    expectMined(mined, 12)
    expect(web.urls).toHaveLength(2)
    expect(new Set(web.urls).size).toBe(1)
    expect(web.stopped).toHaveLength(2)
    expect(resolveObjectURL(web.urls[0]!)).toBeUndefined()
  })
})
