/**
 * The NIP-13 mining core ({@link https://github.com/nostr-protocol/nips/blob/master/13.md | NIP-13})
 * and the source text of the worker that runs it.
 *
 * Internal to `nip13.ts`. {@link createPowMiner} and {@link powWorkerLoop} are each one
 * self-contained function — no imports, no reference to anything outside their own body, their own
 * SHA-256 inside — because the worker is spawned from their source text (`fn.toString()`). That is
 * what lets the worker start in Node (`worker_threads`, `eval: true`) and in browsers (a Blob URL)
 * without any bundler configuration. Keep them that way: a reference to module scope would compile
 * and type-check, then fail inside the worker. Inner helpers are object methods rather than
 * `const f = () => …` for the same reason (esbuild's `keepNames` wraps named function values in a
 * module-scope helper). The worker tests catch both, including through a keepNames build.
 *
 * Speed comes from hashing as little as possible per attempt. The event is serialized once with the
 * nonce tag last, so everything before the nonce digits is fixed: its whole 64-byte blocks are
 * folded into a SHA-256 midstate once. Nonces are tried in chunks of 10^4 that share their leading
 * digits, so within a chunk only the last four digits change: the blocks before them, the rounds of
 * their block that precede them, and the message schedules of the blocks after them are computed
 * once per chunk. Per attempt that leaves the rest of one block plus the tail (suffix and content).
 *
 * @module
 */

/** What a miner needs: the serialized event split around the nonce digits. */
export interface PowJob {
  /** UTF-8 bytes of the serialization up to and including `["nonce","`. */
  prefix: Uint8Array
  /** UTF-8 bytes after the nonce digits: `","<target>"]],<content as JSON>]`. */
  suffix: Uint8Array
  /** Leading zero bits required (0..256). */
  target: number
  /** This miner's lane, 0 ≤ lane < lanes: it tries the nonce chunks `lane + 1 + k * lanes`. */
  lane: number
  /** How many miners share the nonce space. */
  lanes: number
}

/** A miner working through its lane of the nonce space. */
export interface PowMiner {
  /**
   * Tries up to `maxHashes` more nonces, resuming where the last call stopped.
   *
   * @returns the first nonce (decimal) whose id meets the target, or `undefined`.
   */
  run(maxHashes: number): string | undefined
  /** Hashes tried so far. */
  readonly hashes: number
}

/** A message from the main thread to a worker. */
export interface PowWorkerRequest {
  job: PowJob
  /** How often the worker reports its hash count, in milliseconds. */
  reportMs: number
}

/** A message from a worker to the main thread. */
export type PowWorkerMessage =
  | { type: 'progress'; hashes: number }
  | { type: 'found'; nonce: string; hashes: number }
  | { type: 'error'; message: string }

/** How the worker loop talks to its parent (adapted to `worker_threads` or a Web Worker). */
export interface PowPort {
  post(message: PowWorkerMessage): void
  listen(handler: (request: PowWorkerRequest) => void): void
}

/**
 * Creates a miner for `job`. Self-contained: see the module comment.
 *
 * @param job - the split serialization, target and lane.
 * @returns the miner.
 */
export function createPowMiner(job: PowJob): PowMiner {
  // SHA-256 round constants and initial state (FIPS 180-4 §4.2.2, §5.3.3); Int32Array wraps them.
  const K = Int32Array.from([
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
  ])
  const IV = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]
  const FAST = 4 // digits that change within a chunk
  const CHUNK = 10000 // 10^FAST

  const { prefix, suffix, target, lane, lanes } = job
  const fullZeroWords = target >>> 5
  const partialBits = target & 31

  // Methods of one object literal, not `const f = () => …`: bundlers that keep function names
  // (esbuild `keepNames`) wrap named function values in a helper from module scope, which the
  // worker would not have. Method definitions keep their names without it.
  const sha = {
    /** Expands the message schedule of the block at `w[o..o+15]` into `w[o+16..o+63]`. */
    expand(w: Int32Array, o: number): void {
      for (let t = o + 16; t < o + 64; t++) {
        const x = w[t - 15]!
        const y = w[t - 2]!
        const s0 = ((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3)
        const s1 = ((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10)
        w[t] = (s1 + w[t - 7]! + s0 + w[t - 16]!) | 0
      }
    },

    /**
     * Runs rounds `from..to-1` on the working variables `v`, with the expanded schedule at `w[o..]`,
     * writing the new working variables to `out` (which may be `v`).
     */
    rounds(v: Int32Array, w: Int32Array, o: number, from: number, to: number, out: Int32Array): void {
      let a = v[0]!
      let b = v[1]!
      let c = v[2]!
      let d = v[3]!
      let e = v[4]!
      let f = v[5]!
      let g = v[6]!
      let h = v[7]!
      for (let t = from; t < to; t++) {
        const s1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7))
        const t1 = (h + s1 + ((e & f) ^ (~e & g)) + K[t]! + w[o + t]!) | 0
        const s0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10))
        const t2 = (s0 + ((a & b) ^ (a & c) ^ (b & c))) | 0
        h = g
        g = f
        f = e
        e = (d + t1) | 0
        d = c
        c = b
        b = a
        a = (t1 + t2) | 0
      }
      out[0] = a
      out[1] = b
      out[2] = c
      out[3] = d
      out[4] = e
      out[5] = f
      out[6] = g
      out[7] = h
    },

    /**
     * Same as `rounds` from `from` to 64, unrolled by eight so the working variables rotate by name
     * instead of being moved, with the round functions written out because V8 did not inline them
     * as helpers (measured: ~35% faster than the loop). The hot path.
     */
    compress(v: Int32Array, w: Int32Array, o: number, from: number, out: Int32Array): void {
      let a = v[0]!
      let b = v[1]!
      let c = v[2]!
      let d = v[3]!
      let e = v[4]!
      let f = v[5]!
      let g = v[6]!
      let h = v[7]!
      let t = from
      if ((t & 7) !== 0) {
        const aligned = (t + 7) & ~7
        sha.rounds(v, w, o, t, aligned, out)
        a = out[0]!
        b = out[1]!
        c = out[2]!
        d = out[3]!
        e = out[4]!
        f = out[5]!
        g = out[6]!
        h = out[7]!
        t = aligned
      }
      let x = 0
      for (; t < 64; t += 8) {
        x = (h + (((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7))) +
          ((e & f) ^ (~e & g)) + K[t]! + w[o + t]!) | 0
        d = (d + x) | 0
        h = (x + (((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10))) +
          ((a & b) ^ (a & c) ^ (b & c))) | 0
        x = (g + (((d >>> 6) | (d << 26)) ^ ((d >>> 11) | (d << 21)) ^ ((d >>> 25) | (d << 7))) +
          ((d & e) ^ (~d & f)) + K[t + 1]! + w[o + t + 1]!) | 0
        c = (c + x) | 0
        g = (x + (((h >>> 2) | (h << 30)) ^ ((h >>> 13) | (h << 19)) ^ ((h >>> 22) | (h << 10))) +
          ((h & a) ^ (h & b) ^ (a & b))) | 0
        x = (f + (((c >>> 6) | (c << 26)) ^ ((c >>> 11) | (c << 21)) ^ ((c >>> 25) | (c << 7))) +
          ((c & d) ^ (~c & e)) + K[t + 2]! + w[o + t + 2]!) | 0
        b = (b + x) | 0
        f = (x + (((g >>> 2) | (g << 30)) ^ ((g >>> 13) | (g << 19)) ^ ((g >>> 22) | (g << 10))) +
          ((g & h) ^ (g & a) ^ (h & a))) | 0
        x = (e + (((b >>> 6) | (b << 26)) ^ ((b >>> 11) | (b << 21)) ^ ((b >>> 25) | (b << 7))) +
          ((b & c) ^ (~b & d)) + K[t + 3]! + w[o + t + 3]!) | 0
        a = (a + x) | 0
        e = (x + (((f >>> 2) | (f << 30)) ^ ((f >>> 13) | (f << 19)) ^ ((f >>> 22) | (f << 10))) +
          ((f & g) ^ (f & h) ^ (g & h))) | 0
        x = (d + (((a >>> 6) | (a << 26)) ^ ((a >>> 11) | (a << 21)) ^ ((a >>> 25) | (a << 7))) +
          ((a & b) ^ (~a & c)) + K[t + 4]! + w[o + t + 4]!) | 0
        h = (h + x) | 0
        d = (x + (((e >>> 2) | (e << 30)) ^ ((e >>> 13) | (e << 19)) ^ ((e >>> 22) | (e << 10))) +
          ((e & f) ^ (e & g) ^ (f & g))) | 0
        x = (c + (((h >>> 6) | (h << 26)) ^ ((h >>> 11) | (h << 21)) ^ ((h >>> 25) | (h << 7))) +
          ((h & a) ^ (~h & b)) + K[t + 5]! + w[o + t + 5]!) | 0
        g = (g + x) | 0
        c = (x + (((d >>> 2) | (d << 30)) ^ ((d >>> 13) | (d << 19)) ^ ((d >>> 22) | (d << 10))) +
          ((d & e) ^ (d & f) ^ (e & f))) | 0
        x = (b + (((g >>> 6) | (g << 26)) ^ ((g >>> 11) | (g << 21)) ^ ((g >>> 25) | (g << 7))) +
          ((g & h) ^ (~g & a)) + K[t + 6]! + w[o + t + 6]!) | 0
        f = (f + x) | 0
        b = (x + (((c >>> 2) | (c << 30)) ^ ((c >>> 13) | (c << 19)) ^ ((c >>> 22) | (c << 10))) +
          ((c & d) ^ (c & e) ^ (d & e))) | 0
        x = (a + (((f >>> 6) | (f << 26)) ^ ((f >>> 11) | (f << 21)) ^ ((f >>> 25) | (f << 7))) +
          ((f & g) ^ (~f & h)) + K[t + 7]! + w[o + t + 7]!) | 0
        e = (e + x) | 0
        a = (x + (((b >>> 2) | (b << 30)) ^ ((b >>> 13) | (b << 19)) ^ ((b >>> 22) | (b << 10))) +
          ((b & c) ^ (b & d) ^ (c & d))) | 0
      }
      out[0] = a
      out[1] = b
      out[2] = c
      out[3] = d
      out[4] = e
      out[5] = f
      out[6] = g
      out[7] = h
    },

    /** `out[i] = chain[i] + v[i]`: the chaining step that ends a block. */
    addState(chain: Int32Array, v: Int32Array, out: Int32Array): void {
      for (let i = 0; i < 8; i++) out[i] = (chain[i]! + v[i]!) | 0
    },

    /** Loads 64 bytes at `bytes[from..]` as big-endian words into `w[o..o+15]`. */
    loadBlock(bytes: Uint8Array, from: number, w: Int32Array, o: number): void {
      for (let i = 0; i < 16; i++) {
        const p = from + i * 4
        w[o + i] = (bytes[p]! << 24) | (bytes[p + 1]! << 16) | (bytes[p + 2]! << 8) | bytes[p + 3]!
      }
    },
  }

  // Midstate over the whole blocks of the prefix: computed once per job.
  const prefixBlocks = prefix.length >>> 6
  const midstate = Int32Array.from(IV)
  const vars = new Int32Array(8)
  const scratch = new Int32Array(64)
  for (let b = 0; b < prefixBlocks; b++) {
    sha.loadBlock(prefix, b * 64, scratch, 0)
    sha.expand(scratch, 0)
    sha.rounds(midstate, scratch, 0, 0, 64, vars)
    sha.addState(midstate, vars, midstate)
  }
  const prefixRest = prefix.subarray(prefixBlocks * 64)

  // Per-chunk state, rebuilt by startChunk.
  let schedule = new Int32Array(0) // 64 words per remaining block: 16 message words, then the expansion
  let blocks = 0
  let firstVarying = 0 // first block holding a fast digit
  let lastVarying = 0 // last block holding a fast digit
  let cachedRounds = 0 // rounds of firstVarying that precede the fast digits
  const chain = new Int32Array(8) // state entering firstVarying
  const cached = new Int32Array(8) // working variables after cachedRounds of firstVarying
  const out = new Int32Array(8)
  const digitWord = new Int32Array(FAST) // schedule index of each fast digit
  const digitShift = new Int32Array(FAST)
  let lead = '' // leading digits of the current chunk
  let nextChunk = lane + 1 // chunk 0 would need leading zeros: nonces start at 10^FAST
  let hashes = 0
  let position = CHUNK // next j within the current chunk; CHUNK means "start the next chunk"

  const miner = {
    startChunk(chunk: number): void {
      lead = String(chunk)
      const fastAt = prefixRest.length + lead.length
      const tailLength = fastAt + FAST + suffix.length
      blocks = (tailLength + 9 + 63) >>> 6 // + 0x80 and the 64-bit length
      const bytes = new Uint8Array(blocks * 64)
      bytes.set(prefixRest, 0)
      for (let i = 0; i < lead.length; i++) bytes[prefixRest.length + i] = lead.charCodeAt(i)
      bytes.set(suffix, fastAt + FAST)
      bytes[tailLength] = 0x80
      const bits = (prefixBlocks * 64 + tailLength) * 8
      const end = blocks * 64
      const high = Math.floor(bits / 0x100000000)
      for (let i = 0; i < 4; i++) {
        bytes[end - 8 + i] = (high >>> (24 - i * 8)) & 0xff
        bytes[end - 4 + i] = (bits >>> (24 - i * 8)) & 0xff
      }
      if (schedule.length < blocks * 64) schedule = new Int32Array(blocks * 64)
      for (let b = 0; b < blocks; b++) sha.loadBlock(bytes, b * 64, schedule, b * 64)

      firstVarying = fastAt >>> 6
      lastVarying = (fastAt + FAST - 1) >>> 6
      chain.set(midstate)
      for (let b = 0; b < firstVarying; b++) {
        sha.expand(schedule, b * 64)
        sha.rounds(chain, schedule, b * 64, 0, 64, vars)
        sha.addState(chain, vars, chain)
      }
      for (let b = lastVarying + 1; b < blocks; b++) sha.expand(schedule, b * 64)
      cachedRounds = (fastAt & 63) >>> 2
      sha.rounds(chain, schedule, firstVarying * 64, 0, cachedRounds, cached)
      for (let i = 0; i < FAST; i++) {
        const p = fastAt + i
        digitWord[i] = (p >>> 6) * 64 + ((p & 63) >>> 2)
        digitShift[i] = 24 - (p & 3) * 8
      }
    },

    setDigit(i: number, digit: number): void {
      const at = digitWord[i]!
      const shift = digitShift[i]!
      schedule[at] = (schedule[at]! & ~(0xff << shift)) | ((48 + digit) << shift)
    },

    /** Whether `out` (a finished hash) has at least `target` leading zero bits. */
    meetsTarget(): boolean {
      for (let i = 0; i < fullZeroWords; i++) if (out[i] !== 0) return false
      return partialBits === 0 || out[fullZeroWords]! >>> (32 - partialBits) === 0
    },

    /** Tries up to `maxHashes` more nonces, resuming where the last call stopped. */
    run(maxHashes: number): string | undefined {
      let budget = maxHashes
      while (budget > 0) {
        if (position === CHUNK) {
          miner.startChunk(nextChunk)
          nextChunk += lanes
          position = 0
        }
        const first = firstVarying * 64
        const stop = Math.min(CHUNK, position + budget)
        budget -= stop - position
        hashes += stop - position
        for (let j = position; j < stop; j++) {
          miner.setDigit(0, (j / 1000) | 0)
          miner.setDigit(1, ((j / 100) | 0) % 10)
          miner.setDigit(2, ((j / 10) | 0) % 10)
          miner.setDigit(3, j % 10)
          sha.expand(schedule, first)
          sha.compress(cached, schedule, first, cachedRounds, vars)
          sha.addState(chain, vars, out)
          for (let b = firstVarying + 1; b < blocks; b++) {
            if (b <= lastVarying) sha.expand(schedule, b * 64)
            sha.compress(out, schedule, b * 64, 0, vars)
            sha.addState(out, vars, out)
          }
          if (miner.meetsTarget()) {
            hashes -= stop - j - 1 // counted the whole stretch up front
            position = j + 1
            return lead + String(j + CHUNK).slice(1)
          }
        }
        position = stop
      }
      return undefined
    },
  }

  return {
    run(maxHashes: number): string | undefined {
      return miner.run(maxHashes)
    },
    get hashes(): number {
      return hashes
    },
  }
}

/**
 * The body of a mining worker: waits for one {@link PowWorkerRequest}, mines until it finds a
 * nonce, reporting its hash count every `reportMs`. It never stops by itself before that: the main
 * thread terminates it (abort, or another worker won). Self-contained: see the module comment.
 *
 * @param port - the channel to the main thread.
 * @param createMiner - {@link createPowMiner}, passed in so the source text needs no import.
 */
export function powWorkerLoop(port: PowPort, createMiner: (job: PowJob) => PowMiner): void {
  port.listen((request) => {
    try {
      const miner = createMiner(request.job)
      let lastReport = Date.now()
      for (;;) {
        const nonce = miner.run(10000)
        if (nonce !== undefined) {
          port.post({ type: 'found', nonce, hashes: miner.hashes })
          return
        }
        const now = Date.now()
        if (now - lastReport >= request.reportMs) {
          lastReport = now
          port.post({ type: 'progress', hashes: miner.hashes })
        }
      }
    } catch (err) {
      port.post({ type: 'error', message: err instanceof Error ? err.message : String(err) })
    }
  })
}

// The port adapters, as source text evaluated inside the worker.
const NODE_PORT =
  "(function () { var p = require('node:worker_threads').parentPort; return { " +
  'post: function (m) { p.postMessage(m) }, listen: function (h) { p.once("message", h) } } })()'
const WEB_PORT =
  '{ post: function (m) { self.postMessage(m) }, ' +
  'listen: function (h) { self.onmessage = function (e) { self.onmessage = null; h(e.data) } } }'

/**
 * The source text of a mining worker script for Node's `worker_threads` (`eval: true`, CommonJS
 * scope, so `require` exists) or for a browser Web Worker.
 *
 * @param platform - `'node'` or `'web'`.
 * @returns JavaScript source.
 */
export function powWorkerSource(platform: 'node' | 'web'): string {
  const port = platform === 'node' ? NODE_PORT : WEB_PORT
  return `"use strict";\n(${powWorkerLoop.toString()})(${port}, ${createPowMiner.toString()});\n`
}
