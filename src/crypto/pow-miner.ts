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
 * Speed comes from hashing as little as possible per attempt, and from hashing four attempts at
 * once. The event is serialized once with the nonce tag last, so everything before the nonce digits
 * is fixed: its whole 64-byte blocks are folded into a SHA-256 midstate once. Nonces are tried in
 * chunks of 10^4 that share their leading digits, so within a chunk only the last four digits
 * change. Those four are placed to fill exactly one 32-bit schedule word, at a position that keeps
 * the tail they start (the digits, the rest of the tags, the content, the padding) in the fewest
 * blocks possible: the leading digits (at least 8) are padded to the first such position. Per chunk
 * the blocks before that word, the rounds of its block that precede it, its schedule words that do
 * not depend on it and the schedules of the blocks after it are computed once. Per attempt that
 * leaves the rest of one block plus the later blocks: one block for a short note, whatever its
 * tags (`PowMiner.blocksPerHash`). The tail must be hashed again on every attempt because NIP-01
 * serializes the content after the tags: a long note costs one block per 64 bytes of content.
 *
 * Where the runtime has WebAssembly SIMD, a kernel generated for the job (the fast word's position,
 * the first schedule word that depends on it and the target mask are constants in its code) hashes
 * four consecutive nonces at once, one per 32-bit lane, with the per-chunk state above. Measured on
 * this project's 2-core machine: 3.4 to 4 times the JavaScript kernel, which stays as the fallback
 * (no WebAssembly, a CSP without `wasm-unsafe-eval`) and re-checks every hit the SIMD kernel
 * reports. The SIMD kernel is compiled from the second chunk on (tens of milliseconds: more than a
 * whole low-difficulty job).
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
  /** This miner's lane, 0 ≤ lane < lanes: it tries the nonce chunks `lane + k * lanes`. */
  lane: number
  /** How many miners share the nonce space. */
  lanes: number
  /**
   * Which hashing kernel to use: `'auto'` (default) switches to the WebAssembly SIMD kernel from
   * the second chunk of nonces on where the runtime has it; `'simd'` from the first chunk; `'js'`
   * never (the JavaScript kernel, always available, also confirms every SIMD hit).
   */
  kernel?: 'auto' | 'simd' | 'js'
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
  /**
   * The nonce this miner tries at position `index` (0-based) of its lane: `run` tries them in
   * order. For tests and diagnostics.
   */
  nonceAt(index: number): string
  /** SHA-256 blocks compressed per attempt (the tail from the fast digits on; 1 for short events). */
  readonly blocksPerHash: number
  /** The kernel hashing now: `'simd'` once the WebAssembly SIMD kernel is loaded, else `'js'`. */
  readonly kernel: 'simd' | 'js'
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
  | { type: 'found'; nonce: string; hashes: number; kernel: 'simd' | 'js' }
  | { type: 'error'; message: string }

/** How the worker loop talks to its parent (adapted to `worker_threads` or a Web Worker). */
export interface PowPort {
  post(message: PowWorkerMessage): void
  listen(handler: (request: PowWorkerRequest) => void): void
}

/** The SHA-256 building blocks of the JavaScript kernel (see `createPowMiner`). */
interface PowSha {
  expand(w: Int32Array, o: number, from: number): void
  rounds(v: Int32Array, w: Int32Array, o: number, from: number, to: number, out: Int32Array): void
  compress(v: Int32Array, w: Int32Array, o: number, from: number, out: Int32Array): void
  addState(chain: Int32Array, v: Int32Array, out: Int32Array): void
  loadBlock(bytes: Uint8Array, from: number, w: Int32Array, o: number): void
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
  const FAST = 4 // digits that change within a chunk: exactly one schedule word
  const CHUNK = 10000 // 10^FAST
  const MIN_LEAD = 8 // digits before the fast ones: 10^7 chunks (10^11 nonces) before the lead grows

  const { prefix, suffix, target, lane, lanes } = job
  const fullZeroWords = target >>> 5
  const partialBits = target & 31
  // Most hashes fail on their first word: only those whose top min(target, 32) bits are zero get
  // the full check (a shift by 32 is a no-op in JS, hence a mask).
  const firstWordBits = Math.min(target, 32)
  const quickMask = firstWordBits === 0 ? 0 : -1 << (32 - firstWordBits)

  // Where the nonce goes. Every attempt hashes again the tail that starts at the block holding the
  // fast digits: they, the suffix, the 0x80 byte and the 64-bit length need `tailBlocks` blocks at
  // least, and they get no more. The leading digits pad the nonce so the fast digits fill one
  // schedule word (word aligned) at an offset that keeps the tail in `tailBlocks` blocks: the first
  // such width from MIN_LEAD on, so nonces stay short (a later word would share a few more rounds
  // per chunk, about 1.5% of a block per word, not worth up to 60 more digits in every event).
  const tailBlocks = Math.ceil((FAST + suffix.length + 9) / 64)
  const lastOffset = Math.min(60, tailBlocks * 64 - 9 - suffix.length - FAST)
  let baseLead = MIN_LEAD
  while (((prefix.length + baseLead) & 3) !== 0 || ((prefix.length + baseLead) & 63) > lastOffset) baseLead++
  const fastWord = ((prefix.length + baseLead) & 63) >>> 2
  // The first schedule word that depends on the fast word (W[t] reads W[t-2], W[t-7], W[t-15] and
  // W[t-16]): the ones before it are computed once per chunk.
  let firstDependent = fastWord + 16
  for (const distance of [2, 7, 15]) {
    const t = fastWord + distance
    if (t >= 16 && t < firstDependent) firstDependent = t
  }
  // The fast word for each j in 0..9999: four ASCII digits, big-endian.
  const digitWords = new Int32Array(CHUNK)
  for (let j = 0; j < CHUNK; j++) {
    digitWords[j] =
      ((48 + ((j / 1000) | 0)) << 24) | ((48 + (((j / 100) | 0) % 10)) << 16) | ((48 + (((j / 10) | 0) % 10)) << 8) | (48 + (j % 10))
  }

  // Methods of one object literal, not `const f = () => …`: bundlers that keep function names
  // (esbuild `keepNames`) wrap named function values in a helper from module scope, which the
  // worker would not have. Method definitions keep their names without it.
  //
  // The SHA-256 helpers hold no per-job state, so there is one set per realm, kept on this very
  // function (the one place a self-contained function can keep something between calls). With a
  // set per miner, each new miner brought new call targets into the hot loop and threw away the
  // optimized code of the last one; mining on the calling thread again and again paid for that.
  const holder = createPowMiner as unknown as { sha?: PowSha }
  const sha: PowSha = (holder.sha ??= {
    /** Expands the message schedule of the block at `w[o..o+15]` into `w[o+from..o+63]`. */
    expand(w: Int32Array, o: number, from: number): void {
      for (let t = o + from; t < o + 64; t++) {
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
  })

  // The 4-lane WebAssembly SIMD kernel: the same attempt as `run` below for four consecutive
  // nonces at once, one per 32-bit lane (about 3x the JavaScript kernel where the runtime has
  // WebAssembly SIMD). Its code is generated for this job, so the fast word's position, the first
  // dependent schedule word and the target mask are constants in it. It reports the first nonce
  // whose hash passes the quick check; that nonce is then checked again by the JavaScript kernel,
  // which stays the reference.
  //
  // Memory (byte offsets): the digit words at DIG, then per chunk the fast block's schedule, the
  // working variables after the rounds before the fast word, the chaining state entering the block,
  // one 4-lane schedule (64 x 16 bytes) and the later blocks' schedules with K[t] added.
  const DIG = 0
  const FASTW = 40000
  const CACHED = 40256
  const CHAIN = 40288
  const WV = 40320
  const AFTER = 41344
  const wasm = {
    code: [] as number[],
    uleb(n: number, out: number[]): void {
      do {
        const b = n & 0x7f
        n >>>= 7
        out.push(n ? b | 0x80 : b)
      } while (n)
    },
    op(...bytes: number[]): void {
      for (const b of bytes) wasm.code.push(b)
    },
    /** A SIMD instruction (prefix 0xfd). */
    simd(opcode: number): void {
      wasm.code.push(0xfd)
      wasm.uleb(opcode, wasm.code)
    },
    /** A module section: id, byte length, content. */
    section(id: number, content: number[]): number[] {
      const out = [id]
      wasm.uleb(content.length, out)
      return out.concat(content)
    },
    i32(n: number): void {
      wasm.code.push(0x41)
      // signed LEB128
      for (;;) {
        const b = n & 0x7f
        n >>= 7
        if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) return void wasm.code.push(b)
        wasm.code.push(b | 0x80)
      }
    },
    get(local: number): void {
      wasm.code.push(0x20, local)
    },
    set(local: number): void {
      wasm.code.push(0x21, local)
    },
    /** v128 load from a constant address. */
    load(address: number): void {
      wasm.i32(address)
      wasm.code.push(0xfd, 0x00, 4, 0) // v128.load, offset 0
    },
    /** v128 store of what `value` pushes, to a constant address. */
    store(address: number, value: () => void): void {
      wasm.i32(address)
      value()
      wasm.code.push(0xfd, 0x0b, 4, 0) // v128.store
    },
    /** The i32 at a constant address, in all four lanes. */
    splatLoad(address: number): void {
      wasm.i32(address)
      wasm.code.push(0xfd, 0x09, 2, 0) // v128.load32_splat
    },
    splatConst(n: number): void {
      wasm.i32(n)
      wasm.simd(0x11) // i32x4.splat
    },
    rotr(local: number, n: number): void {
      wasm.get(local)
      wasm.i32(n)
      wasm.simd(0xad) // i32x4.shr_u
      wasm.get(local)
      wasm.i32(32 - n)
      wasm.simd(0xab) // i32x4.shl
      wasm.simd(0x50) // v128.or
    },
    /** Σ (two rotations and a rotation) or σ (two rotations and a shift) of a local. */
    sigma(local: number, r1: number, r2: number, r3: number, shift: boolean): void {
      wasm.rotr(local, r1)
      wasm.rotr(local, r2)
      wasm.simd(0x51) // v128.xor
      if (shift) {
        wasm.get(local)
        wasm.i32(r3)
        wasm.simd(0xad)
      } else {
        wasm.rotr(local, r3)
      }
      wasm.simd(0x51)
    },
    /** One round on the working variables in `v` (local indices, a..h); returns them renamed. */
    round(v: number[], addKW: () => void): number[] {
      const [a, b, c, d, e, f, g, h] = v as [number, number, number, number, number, number, number, number]
      const T1 = 20
      wasm.get(h)
      wasm.sigma(e, 6, 11, 25, false)
      wasm.simd(0xae) // i32x4.add
      wasm.get(f)
      wasm.get(g)
      wasm.get(e)
      wasm.simd(0x52) // v128.bitselect: Ch(e, f, g)
      wasm.simd(0xae)
      addKW()
      wasm.simd(0xae)
      wasm.set(T1)
      wasm.get(d)
      wasm.get(T1)
      wasm.simd(0xae)
      wasm.set(d)
      wasm.get(T1)
      wasm.sigma(a, 2, 13, 22, false)
      wasm.simd(0xae)
      wasm.get(a)
      wasm.get(b)
      wasm.get(b)
      wasm.get(c)
      wasm.simd(0x51)
      wasm.simd(0x52) // Maj(a, b, c) = bitselect(a, b, b ^ c)
      wasm.simd(0xae)
      wasm.set(h)
      return [h, a, b, c, d, e, f, g]
    },

    /**
     * The module: `run(j, end)` tries j, j+4, … < end (four nonces each, j a multiple of 4) and
     * returns the first nonce whose hash passes the quick check, or -1. Locals: 0 j, 1 end, 2 block
     * offset, 3 lane bits; v128 4-11 working variables, 12-19 chaining state, 20 T1, 21 scratch.
     */
    module(afterBlocks: number): Uint8Array<ArrayBuffer> {
      wasm.code = []
      const J = 0
      const END = 1
      const O = 2
      const BITS = 3
      const S = 12
      const X = 21
      const names = [4, 5, 6, 7, 8, 9, 10, 11]
      // Words that do not depend on the fast word: the same in every lane, once per call.
      for (let t = 0; t < firstDependent; t++) {
        if (t !== fastWord) wasm.store(WV + 16 * t, () => wasm.splatLoad(FASTW + 4 * t))
      }
      wasm.op(0x02, 0x40, 0x03, 0x40) // block, loop
      wasm.get(J)
      wasm.get(END)
      wasm.op(0x4f, 0x0d, 1) // i32.ge_u, br_if 1: done
      // The fast word of nonces j..j+3 is one 16-byte load from the digit table.
      wasm.store(WV + 16 * fastWord, () => {
        wasm.get(J)
        wasm.i32(2)
        wasm.op(0x74) // i32.shl
        wasm.code.push(0xfd, 0x00, 2, DIG)
      })
      for (let t = firstDependent; t < 64; t++) {
        wasm.store(WV + 16 * t, () => {
          wasm.load(WV + 16 * (t - 2))
          wasm.set(X)
          wasm.sigma(X, 17, 19, 10, true)
          wasm.load(WV + 16 * (t - 7))
          wasm.simd(0xae)
          wasm.load(WV + 16 * (t - 15))
          wasm.set(X)
          wasm.sigma(X, 7, 18, 3, true)
          wasm.simd(0xae)
          wasm.load(WV + 16 * (t - 16))
          wasm.simd(0xae)
        })
      }
      for (let i = 0; i < 8; i++) {
        wasm.splatLoad(CACHED + 4 * i)
        wasm.set(names[i]!)
      }
      let v = names
      for (let t = fastWord; t < 64; t++) {
        v = wasm.round(v, () => {
          wasm.load(WV + 16 * t)
          wasm.splatConst(K[t]!)
          wasm.simd(0xae)
        })
      }
      for (let i = 0; i < 8; i++) {
        wasm.splatLoad(CHAIN + 4 * i)
        wasm.get(v[i]!)
        wasm.simd(0xae)
        wasm.set(S + i)
      }
      if (afterBlocks > 0) {
        wasm.i32(AFTER)
        wasm.set(O)
        wasm.op(0x03, 0x40) // loop over the later blocks: their schedule (+K) is shared by the lanes
        for (let i = 0; i < 8; i++) {
          wasm.get(S + i)
          wasm.set(names[i]!)
        }
        v = names
        for (let t = 0; t < 64; t++) {
          v = wasm.round(v, () => {
            wasm.get(O)
            wasm.code.push(0xfd, 0x09, 2)
            wasm.uleb(4 * t, wasm.code)
          })
        }
        for (let i = 0; i < 8; i++) {
          wasm.get(S + i)
          wasm.get(v[i]!)
          wasm.simd(0xae)
          wasm.set(S + i)
        }
        wasm.get(O)
        wasm.i32(256)
        wasm.op(0x6a, 0x22, O) // i32.add, local.tee
        wasm.i32(AFTER + afterBlocks * 256)
        wasm.op(0x49, 0x0d, 0, 0x0b) // i32.lt_u, br_if 0, end
      }
      // Lanes whose first word passes the mask: bitmask(first & mask == 0).
      wasm.get(S)
      wasm.splatConst(quickMask)
      wasm.simd(0x4e) // v128.and
      wasm.splatConst(0)
      wasm.simd(0x37) // i32x4.eq
      wasm.simd(0xa4) // i32x4.bitmask
      wasm.op(0x22, BITS, 0x04, 0x40) // local.tee, if
      wasm.get(J)
      wasm.get(BITS)
      wasm.op(0x68, 0x6a, 0x0f, 0x0b) // i32.ctz, i32.add, return, end
      wasm.get(J)
      wasm.i32(4)
      wasm.op(0x6a)
      wasm.set(J)
      wasm.op(0x0c, 0, 0x0b, 0x0b) // br 0, end loop, end block
      wasm.i32(-1)
      wasm.op(0x0b)

      const body = [2, 2, 0x7f, 18, 0x7b, ...wasm.code] // locals: 2 i32, 18 v128
      const pages: number[] = []
      wasm.uleb(Math.ceil((AFTER + afterBlocks * 256) / 65536), pages)
      const size: number[] = []
      wasm.uleb(body.length, size)
      return new Uint8Array([
        0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
        ...wasm.section(1, [1, 0x60, 2, 0x7f, 0x7f, 1, 0x7f]), // type: (i32, i32) -> i32
        ...wasm.section(3, [1, 0]), // one function
        ...wasm.section(5, [1, 0x00, ...pages]), // memory
        ...wasm.section(7, [2, 3, 0x72, 0x75, 0x6e, 0x00, 0, 3, 0x6d, 0x65, 0x6d, 0x02, 0]), // export run, mem
        ...wasm.section(10, [1, ...size, ...body]),
      ])
    },
  }

  // Midstate over the whole blocks of the prefix: computed once per job.
  const prefixBlocks = prefix.length >>> 6
  const midstate = Int32Array.from(IV)
  const vars = new Int32Array(8)
  const scratch = new Int32Array(64)
  for (let b = 0; b < prefixBlocks; b++) {
    sha.loadBlock(prefix, b * 64, scratch, 0)
    sha.expand(scratch, 0, 16)
    sha.rounds(midstate, scratch, 0, 0, 64, vars)
    sha.addState(midstate, vars, midstate)
  }
  const prefixRest = prefix.subarray(prefixBlocks * 64)

  // Per-chunk state, rebuilt by startChunk.
  const fast = new Int32Array(64) // schedule of the block holding the fast word
  let after = new Int32Array(0) // expanded schedules of the blocks after it, 64 words each
  let afterBlocks = 0
  const chain = new Int32Array(8) // state entering the fast word's block
  const cached = new Int32Array(8) // working variables after the rounds that precede the fast word
  const state = new Int32Array(8)
  const out = new Int32Array(8)
  let lead = '' // leading digits of the current chunk
  let nextChunk = lane
  let hashes = 0
  let position = CHUNK // next j within the current chunk; CHUNK means "start the next chunk"
  // The SIMD kernel, once loaded; `kernelState` says whether to try. 'auto' waits for the second
  // chunk: compiling costs tens of milliseconds, more than a whole low-difficulty job.
  let kernel: { run(j: number, end: number): number } | undefined
  let memory = new Int32Array(0)
  let kernelState = job.kernel === 'js' ? 'off' : job.kernel === 'simd' ? 'now' : 'later'

  const miner = {
    /** The digits before the fast ones for a chunk: a 1, then the chunk number zero-padded. */
    leadOf(chunk: number): string {
      const digits = String(chunk)
      let width = baseLead
      // Past 10^(width-1) chunks, 64 more digits keep the fast word where it was, a block later.
      while (digits.length > width - 1) width += 64
      return `1${digits.padStart(width - 1, '0')}`
    },

    /** Compiles the SIMD kernel; leaves `kernel` undefined where the runtime cannot. */
    loadKernel(): void {
      kernelState = 'off'
      try {
        // The kernel and the typed arrays feeding it must agree on byte order (WebAssembly is
        // little-endian; so is every host JavaScript runs on today, but this is cheap to check).
        if (typeof WebAssembly !== 'object' || new Uint8Array(Int32Array.of(1).buffer)[0] !== 1) return
        const instance = new WebAssembly.Instance(new WebAssembly.Module(wasm.module(tailBlocks - 1)))
        const exports = instance.exports as { run(j: number, end: number): number; mem: WebAssembly.Memory }
        memory = new Int32Array(exports.mem.buffer)
        memory.set(digitWords, DIG >>> 2)
        kernel = exports
      } catch {
        // No SIMD, or a policy (CSP without wasm-unsafe-eval) forbids compiling: JavaScript it is.
        kernel = undefined
      }
    },

    startChunk(chunk: number): void {
      if (kernelState === 'now' || (kernelState === 'later' && hashes > 0)) miner.loadKernel()
      lead = miner.leadOf(chunk)
      const fastAt = prefixRest.length + lead.length
      const tailLength = fastAt + FAST + suffix.length
      const blocks = (tailLength + 9 + 63) >>> 6 // + 0x80 and the 64-bit length
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

      const first = fastAt >>> 6
      chain.set(midstate)
      for (let b = 0; b < first; b++) {
        sha.loadBlock(bytes, b * 64, scratch, 0)
        sha.expand(scratch, 0, 16)
        sha.rounds(chain, scratch, 0, 0, 64, vars)
        sha.addState(chain, vars, chain)
      }
      // The whole schedule once (its words before firstDependent do not change within the chunk),
      // and the rounds before the fast word.
      sha.loadBlock(bytes, first * 64, fast, 0)
      sha.expand(fast, 0, 16)
      sha.rounds(chain, fast, 0, 0, fastWord, cached)
      afterBlocks = blocks - first - 1
      if (after.length < afterBlocks * 64) after = new Int32Array(afterBlocks * 64)
      for (let b = 0; b < afterBlocks; b++) {
        sha.loadBlock(bytes, (first + 1 + b) * 64, after, b * 64)
        sha.expand(after, b * 64, 16)
      }
      if (kernel !== undefined) {
        memory.set(fast, FASTW >>> 2)
        memory.set(cached, CACHED >>> 2)
        memory.set(chain, CHAIN >>> 2)
        for (let i = 0; i < afterBlocks * 64; i++) memory[(AFTER >>> 2) + i] = (after[i]! + K[i & 63]!) | 0
      }
    },

    /** Hashes nonce j of the current chunk: whether it meets the target (the hash is left in `out`). */
    attempt(j: number): boolean {
      fast[fastWord] = digitWords[j]!
      sha.expand(fast, 0, firstDependent)
      sha.compress(cached, fast, 0, fastWord, vars)
      let last = chain
      if (afterBlocks > 0) {
        sha.addState(chain, vars, state)
        const lastBlock = (afterBlocks - 1) * 64
        for (let o = 0; o < lastBlock; o += 64) {
          sha.compress(state, after, o, 0, vars)
          sha.addState(state, vars, state)
        }
        sha.compress(state, after, lastBlock, 0, vars)
        last = state
      }
      if (((last[0]! + vars[0]!) & quickMask) !== 0) return false
      sha.addState(last, vars, out)
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
        const stop = Math.min(CHUNK, position + budget)
        budget -= stop - position
        hashes += stop - position
        for (let j = position; j < stop; ) {
          // Whole groups of four go to the SIMD kernel, which skips to its first candidate; the
          // JavaScript kernel confirms candidates and takes the odd nonces at either end.
          if (kernel !== undefined && (j & 3) === 0 && stop - j >= 4) {
            const end = stop & ~3
            const candidate = kernel.run(j, end)
            if (candidate < 0) {
              j = end
              continue
            }
            j = candidate
          }
          if (miner.attempt(j)) {
            hashes -= stop - j - 1 // counted the whole stretch up front
            position = j + 1
            return lead + String(j + CHUNK).slice(1)
          }
          j++
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
    nonceAt(index: number): string {
      return miner.leadOf(lane + Math.floor(index / CHUNK) * lanes) + String((index % CHUNK) + CHUNK).slice(1)
    },
    get hashes(): number {
      return hashes
    },
    get kernel(): 'simd' | 'js' {
      return kernel === undefined ? 'js' : 'simd'
    },
    blocksPerHash: tailBlocks,
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
          port.post({ type: 'found', nonce, hashes: miner.hashes, kernel: miner.kernel })
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
