/**
 * The event verifier that runs inside verification workers: NIP-01 id check plus BIP-340 Schnorr
 * {@link https://github.com/bitcoin/bips/blob/master/bip-0340.mediawiki | batch verification}.
 *
 * Internal to the relay pool. {@link createVerifyEngine} is one self-contained function — no
 * imports, no reference to anything outside its own body (not even a BigInt constant from module
 * scope) — because the worker is started from its source text (`fn.toString()`), the way
 * `crypto/pow-miner.ts` starts its miners. That is what lets the worker start in Node
 * (`worker_threads`, `eval: true`) and in browsers (a Blob URL) without any bundler configuration,
 * and without the worker having to locate `@noble/curves` on disk or on a CDN. Helpers are object
 * methods rather than `const f = () => …` (esbuild `keepNames` wraps named function values in a
 * module-scope helper the worker would not have). The tests run it from its source text.
 *
 * The crypto layer's `verifyEvents` (`crypto/batch-verify.ts`, on the calling thread, with noble
 * for single checks) computes the same equation; this self-contained copy exists because a worker
 * started from source text cannot import modules by path in every environment.
 *
 * Why not one `schnorr.verify` per event: one BIP-340 check costs two scalar multiplications.
 * Checked together, n signatures become one multi-scalar multiplication:
 *
 *   (Σ aᵢsᵢ)·G − Σ aᵢ·Rᵢ − Σ_authors (Σ aᵢeᵢ)·P = O
 *
 * with a₁ = 1 and aᵢ random 128-bit (fresh per batch, from the platform CSPRNG), Rᵢ = lift_x(rᵢ),
 * eᵢ the BIP-340 challenge. Events of one author share one term (their scalars add up), author
 * points are lifted once and cached, the 256-bit scalars of G and the authors are split in two
 * 128-bit halves with the secp256k1 endomorphism (GLV), and the sum is one Pippenger bucket pass
 * over 128-bit scalars whose bucket additions are done in affine coordinates, all additions of a
 * round sharing one inversion. A forged signature makes the equation fail except with probability about
 * 2^-128; the bad signatures are then found by halving (one forgery among n costs about half a
 * batch more), and once two parts fail the rest is checked one by one. The intake sends the events
 * of a relay that recently forged in `single` mode, so a relay sending forgeries costs about what
 * unbatched checks would.
 *
 * Field arithmetic is BigInt with a reduction specialised to p = 2^256 − 2^32 − 977 (measured
 * about 30% faster than `%` on Node 20; a 16-bit-limb Float64 field was twice as slow as BigInt).
 * Where the time goes (batches of 512, 400 authors): the bucket additions about 40%, the square
 * roots that lift each R about 20%, garbage collection of BigInts about 20%. Measured in events
 * per CPU second on Node 20, against noble's `schnorr.verify`: about 4.5 times as many in batches
 * of 64, 5.5 times in batches of 512, 1.5 times one at a time (libsecp256k1 in WebAssembly, one at
 * a time: about 4.6 times).
 * Nothing here is constant time: it only ever handles public data (events, signatures, keys).
 *
 * @module
 */

/** An event as the engine receives it (the seven NIP-01 fields, shape already checked). */
export interface EngineEvent {
  id: string
  pubkey: string
  created_at: number
  kind: number
  tags: string[][]
  content: string
  sig: string
}

/** Platform services the engine uses; each one optional (the engine has portable defaults). */
export interface EngineHooks {
  /** Lower-case hex SHA-256 of `data` (a string is hashed as UTF-8). Default: the engine's own SHA-256. */
  sha256Hex?(data: string | Uint8Array): string
  /** Fills `bytes` with cryptographically random bytes. Default: `crypto.getRandomValues`. */
  randomFill?(bytes: Uint8Array): void
  /** Author points remembered (lifted public keys). @default 8192 */
  authorCacheSize?: number
}

/** What the engine did so far; the tests use it to show how much work a bad signature causes. */
export interface EngineStats {
  /** Events checked. */
  events: number
  /** Batch equations evaluated (a batch of one counts as a single check instead). */
  batches: number
  /** Batch equations that failed (the bad events were then searched for). */
  batchFailures: number
  /** Events checked inside batch equations (the work a batch costs, in events). */
  batchedEvents: number
  /** Signatures checked one at a time (batches of one, single mode, the end of a search). */
  singleChecks: number
  /** Author points lifted (cache misses). */
  authorLifts: number
}

/** A verifier instance: caches and scratch space, one per worker. */
export interface VerifyEngine {
  /**
   * Checks each event's id and signature. Events given in one call are checked as one batch, so
   * give one relay's events together.
   *
   * @param events - events whose shape is checked (anything malformed is simply invalid).
   * @param single - check signatures one by one (for a source that recently sent forgeries: a
   * batch would fail anyway and cost more than single checks).
   * @returns one byte per event: 1 valid, 0 invalid.
   */
  verify(events: readonly EngineEvent[], single?: boolean): Uint8Array
  /**
   * The signature part of {@link VerifyEngine.verify} alone: BIP-340 over a 32-byte message given
   * as hex (no event, no id hash). For the BIP-340 test vectors.
   *
   * @param items - lower-case hex public key (32 bytes), message (32 bytes), signature (64 bytes).
   * @param single - check one by one.
   * @returns one byte per item: 1 valid, 0 invalid.
   */
  verifyDigests(items: ReadonlyArray<{ pubkey: string; message: string; sig: string }>, single?: boolean): Uint8Array
  /** Counters since creation. */
  readonly stats: EngineStats
}

/**
 * Creates a verifier. Self-contained: see the module comment.
 *
 * @param hooks - hashing and randomness of the platform; defaults are portable.
 * @returns the engine.
 */
export function createVerifyEngine(hooks: EngineHooks = {}): VerifyEngine {
  // secp256k1 (SEC 2 §2.4.1) and BIP-340 constants.
  const P = 0xfffffffffffffffffffffffffffffffffffffffffffffffffffffffefffffc2fn
  const N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n
  const GX = 0x79be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798n
  const GY = 0x483ada7726a3c4655da4fbfc0e1108a8fd17b448a68554199c47d08ffb10d4b8n
  const MASK256 = (1n << 256n) - 1n
  const FOLD = 0x1000003d1n // 2^256 mod p
  // GLV endomorphism: λ·(x, y) = (β·x, y), and the lattice basis that splits a scalar k into
  // k1 + k2·λ with |k1|, |k2| < 2^129 (the values libsecp256k1 and noble-curves use).
  const BETA = 0x7ae96a2b657c07106e64479eac3434e99cf0497512f58995c1396c28719501een
  const A1 = 0x3086d221a7d46bcde86c90e49284eb15n
  const B1 = -0xe4437ed6010e88286f547fa90abfe4c3n
  const A2 = 0x114ca50f7a8e2f3f657c1108d9d44cfd8n
  const B2 = 0x3086d221a7d46bcde86c90e49284eb15n
  const HALF_N = N >> 1n

  interface Jac {
    x: bigint
    y: bigint
    z: bigint
  }
  interface Aff {
    x: bigint
    y: bigint
  }
  interface Author {
    point: Aff
    /** λ·point: (β·x, y). */
    endo: Aff
  }

  const INF: Jac = { x: 1n, y: 1n, z: 0n }

  const F = {
    /** a·b mod p for 0 ≤ a, b < 2^257 (two folds of the high half, then one subtraction). */
    mul(a: bigint, b: bigint): bigint {
      let t = a * b
      t = (t & MASK256) + (t >> 256n) * FOLD
      t = (t & MASK256) + (t >> 256n) * FOLD
      return t >= P ? t - P : t
    },
    sqr(a: bigint): bigint {
      let t = a * a
      t = (t & MASK256) + (t >> 256n) * FOLD
      t = (t & MASK256) + (t >> 256n) * FOLD
      return t >= P ? t - P : t
    },
    add(a: bigint, b: bigint): bigint {
      const s = a + b
      return s >= P ? s - P : s
    },
    sub(a: bigint, b: bigint): bigint {
      const d = a - b
      return d < 0n ? d + P : d
    },
    /** a^(2^k) */
    sqrN(a: bigint, k: number): bigint {
      let r = a
      for (let i = 0; i < k; i++) r = F.sqr(r)
      return r
    },
    /**
     * The powers a^(2^k − 1) for the k the addition chains below need (the chain libsecp256k1
     * uses for both exponents, whose binary forms are 223 ones, a zero, 22 ones, then a tail).
     */
    chain(a: bigint): { x2: bigint; x3: bigint; x22: bigint; x223: bigint } {
      const x2 = F.mul(F.sqr(a), a)
      const x3 = F.mul(F.sqr(x2), a)
      const x6 = F.mul(F.sqrN(x3, 3), x3)
      const x9 = F.mul(F.sqrN(x6, 3), x3)
      const x11 = F.mul(F.sqrN(x9, 2), x2)
      const x22 = F.mul(F.sqrN(x11, 11), x11)
      const x44 = F.mul(F.sqrN(x22, 22), x22)
      const x88 = F.mul(F.sqrN(x44, 44), x44)
      const x176 = F.mul(F.sqrN(x88, 88), x88)
      const x220 = F.mul(F.sqrN(x176, 44), x44)
      const x223 = F.mul(F.sqrN(x220, 3), x3)
      return { x2, x3, x22, x223 }
    },
    /** a^((p+1)/4): the square root of a when a is a square (p ≡ 3 mod 4). */
    sqrtCandidate(a: bigint): bigint {
      const { x2, x22, x223 } = F.chain(a)
      // (p+1)/4 = [223 ones] 0 [22 ones] 0000 11 00
      let t = F.mul(F.sqrN(x223, 23), x22)
      t = F.mul(F.sqrN(t, 6), x2)
      return F.sqrN(t, 2)
    },
    /** a^(p−2) = 1/a for a ≠ 0 (Fermat). */
    inv(a: bigint): bigint {
      const { x2, x22, x223 } = F.chain(a)
      // p − 2 = [223 ones] 0 [22 ones] 0000 1 011 01
      let t = F.mul(F.sqrN(x223, 23), x22)
      t = F.mul(F.sqrN(t, 5), a)
      t = F.mul(F.sqrN(t, 3), x2)
      return F.mul(F.sqrN(t, 2), a)
    },
  }

  const E = {
    /** BIP-340 lift_x: the point with x coordinate `x` and an even y, or undefined. */
    liftX(x: bigint): Aff | undefined {
      if (x <= 0n || x >= P) return undefined
      const c = F.add(F.mul(F.sqr(x), x), 7n)
      let y = F.sqrtCandidate(c)
      if (F.sqr(y) !== c) return undefined
      if ((y & 1n) === 1n) y = P - y
      return { x, y }
    },
    /** 2·A (dbl-2009-l, a = 0); the identity stays the identity. */
    double(a: Jac): Jac {
      if (a.z === 0n) return a
      const A = F.sqr(a.x)
      const B = F.sqr(a.y)
      const C = F.sqr(B)
      const xb = F.add(a.x, B)
      const D = F.sub(F.sub(F.sqr(xb), A), C)
      const D2 = F.add(D, D)
      const E3 = F.add(F.add(A, A), A)
      const Fq = F.sqr(E3)
      const x = F.sub(Fq, F.add(D2, D2))
      const C8 = F.mul(C, 8n)
      const y = F.sub(F.mul(E3, F.sub(D2, x)), C8)
      const yz = F.mul(a.y, a.z)
      return { x, y, z: F.add(yz, yz) }
    },
    /** A + B with B affine (madd-2007-bl), handling A = ±B and the identity. */
    addAffine(a: Jac, b: Aff): Jac {
      if (a.z === 0n) return { x: b.x, y: b.y, z: 1n }
      const z1z1 = F.sqr(a.z)
      const u2 = F.mul(b.x, z1z1)
      const s2 = F.mul(F.mul(b.y, a.z), z1z1)
      const h = F.sub(u2, a.x)
      const r0 = F.sub(s2, a.y)
      if (h === 0n) return r0 === 0n ? E.double(a) : INF
      const hh = F.sqr(h)
      const i = F.mul(hh, 4n)
      const j = F.mul(h, i)
      const r = F.add(r0, r0)
      const v = F.mul(a.x, i)
      const x = F.sub(F.sub(F.sqr(r), j), F.add(v, v))
      const yj = F.mul(a.y, j)
      const y = F.sub(F.mul(r, F.sub(v, x)), F.add(yj, yj))
      const zh = F.mul(a.z, h)
      return { x, y, z: F.add(zh, zh) }
    },
    /** A + B, both Jacobian (add-2007-bl), handling A = ±B and the identity. */
    add(a: Jac, b: Jac): Jac {
      if (a.z === 0n) return b
      if (b.z === 0n) return a
      const z1z1 = F.sqr(a.z)
      const z2z2 = F.sqr(b.z)
      const u1 = F.mul(a.x, z2z2)
      const u2 = F.mul(b.x, z1z1)
      const s1 = F.mul(F.mul(a.y, b.z), z2z2)
      const s2 = F.mul(F.mul(b.y, a.z), z1z1)
      const h = F.sub(u2, u1)
      const r0 = F.sub(s2, s1)
      if (h === 0n) return r0 === 0n ? E.double(a) : INF
      const h2 = F.add(h, h)
      const i = F.sqr(h2)
      const j = F.mul(h, i)
      const r = F.add(r0, r0)
      const v = F.mul(u1, i)
      const x = F.sub(F.sub(F.sqr(r), j), F.add(v, v))
      const s1j = F.mul(s1, j)
      const y = F.sub(F.mul(r, F.sub(v, x)), F.add(s1j, s1j))
      const z = F.mul(F.sub(F.sub(F.sqr(F.add(a.z, b.z)), z1z1), z2z2), h)
      return { x, y, z }
    },
    neg(a: Aff): Aff {
      return { x: a.x, y: a.y === 0n ? 0n : P - a.y }
    },
    /** Affine forms of Jacobian points, with one inversion for all (Montgomery's trick). */
    normalize(points: readonly Jac[]): Aff[] {
      const n = points.length
      const prefix = new Array<bigint>(n)
      let acc = 1n
      for (let i = 0; i < n; i++) {
        prefix[i] = acc
        acc = F.mul(acc, (points[i] as Jac).z)
      }
      let inv = F.inv(acc)
      const out = new Array<Aff>(n)
      for (let i = n - 1; i >= 0; i--) {
        const p = points[i] as Jac
        const zi = F.mul(inv, prefix[i] as bigint)
        inv = F.mul(inv, p.z)
        const zi2 = F.sqr(zi)
        out[i] = { x: F.mul(p.x, zi2), y: F.mul(p.y, F.mul(zi2, zi)) }
      }
      return out
    },
  }

  interface Term {
    point: Aff
    /** 0 ≤ scalar < 2^130. */
    scalar: bigint
  }

  const M = {
    /**
     * Adds the terms for k·A (k any scalar mod n) split with the endomorphism into two terms of
     * about 128 bits each; negative halves use the negated point.
     */
    pushSplit(terms: Term[], k: bigint, point: Aff, endo: Aff): void {
      // c1 = round(b2·k / n), c2 = round(−b1·k / n) (integer division, rounded to nearest)
      const c1 = (B2 * k + HALF_N) / N
      const c2 = (-B1 * k + HALF_N) / N
      const k1 = k - c1 * A1 - c2 * A2
      const k2 = -c1 * B1 - c2 * B2
      if (k1 !== 0n) terms.push(k1 > 0n ? { point, scalar: k1 } : { point: E.neg(point), scalar: -k1 })
      if (k2 !== 0n) terms.push(k2 > 0n ? { point: endo, scalar: k2 } : { point: E.neg(endo), scalar: -k2 })
    },
    /** Σ scalarᵢ·pointᵢ, choosing Pippenger's buckets or interleaved wNAF by estimated cost. */
    sum(terms: readonly Term[]): Jac {
      if (terms.length === 0) return INF
      let bits = 1
      for (const t of terms) {
        const b = t.scalar.toString(2).length
        if (b > bits) bits = b
      }
      // Estimated field multiplications: affine add in a batch ~7 (plus an inversion, ~270, per
      // round), mixed add 11, full add 16, double 7, table entry ~22.
      const n = terms.length
      let bestC = 2
      let bestCost = Infinity
      for (let c = 2; c <= 12; c++) {
        const half = 1 << (c - 1)
        const rounds = Math.ceil(Math.log2(n / half + 1)) + 1
        const cost = Math.ceil((bits + 1) / c) * (n * 7 + half * 27) + rounds * 270 + bits * 7
        if (cost < bestCost) {
          bestCost = cost
          bestC = c
        }
      }
      const w = 5
      const straussCost = n * ((1 << (w - 2)) * 22 + Math.ceil(bits / (w + 1)) * 11) + bits * 7 + 270
      return straussCost < bestCost ? M.strauss(terms, bits, w) : M.pippenger(terms, bits, bestC)
    },
    pippenger(terms: readonly Term[], bits: number, c: number): Jac {
      const n = terms.length
      const windows = Math.ceil((bits + 1) / c)
      const half = 1 << (c - 1)
      const full = 1 << c
      const mask = full - 1
      // Signed digits in [−2^(c−1), 2^(c−1)], window-major per term.
      const digits = new Int16Array(n * windows)
      const words = new Uint32Array(6)
      for (let j = 0; j < n; j++) {
        let k = (terms[j] as Term).scalar
        for (let i = 0; i < 6; i++) {
          words[i] = Number(k & 0xffffffffn)
          k >>= 32n
        }
        let carry = 0
        for (let wi = 0; wi < windows; wi++) {
          const pos = wi * c
          const word = pos >>> 5
          const off = pos & 31
          let v = word < 6 ? (words[word] as number) >>> off : 0
          if (off + c > 32 && word + 1 < 6) v |= (words[word + 1] as number) << (32 - off)
          let d = (v & mask) + carry
          if (d > half) {
            d -= full
            carry = 1
          } else carry = 0
          digits[j * windows + wi] = d
        }
      }
      // Every bucket of every window, filled at once, then summed in affine coordinates.
      const negs = terms.map((t) => E.neg(t.point))
      const slots: Aff[][] = []
      for (let i = 0; i < windows * half; i++) slots.push([])
      for (let j = 0; j < n; j++) {
        for (let wi = 0; wi < windows; wi++) {
          const d = digits[j * windows + wi] as number
          if (d > 0) (slots[wi * half + d - 1] as Aff[]).push((terms[j] as Term).point)
          else if (d < 0) (slots[wi * half - d - 1] as Aff[]).push(negs[j] as Aff)
        }
      }
      M.sumSlots(slots)
      let acc: Jac = INF
      for (let wi = windows - 1; wi >= 0; wi--) {
        for (let i = 0; i < c; i++) acc = E.double(acc)
        // Σ (i+1)·bucket[i] as running sums, from the top bucket down.
        let running: Jac = INF
        let total: Jac = INF
        for (let b = half - 1; b >= 0; b--) {
          const bucket = (slots[wi * half + b] as Aff[])[0]
          if (bucket !== undefined) running = E.addAffine(running, bucket)
          if (running.z !== 0n) total = E.add(total, running)
        }
        acc = E.add(acc, total)
      }
      return acc
    },
    /**
     * Replaces each list of affine points by its sum (a list of one, or none for the identity).
     * Points are added pairwise in rounds; all additions of a round share one field inversion
     * (Montgomery's trick), so an addition costs about 6 multiplications instead of the 11 of a
     * mixed Jacobian addition.
     */
    sumSlots(slots: Aff[][]): void {
      for (;;) {
        // Pairs of this round: (slot, a, b); denominators and numerators of the slopes.
        const pairSlot: number[] = []
        const pairA: Aff[] = []
        const pairB: Aff[] = []
        const num: bigint[] = []
        const den: bigint[] = []
        for (let i = 0; i < slots.length; i++) {
          const list = slots[i] as Aff[]
          if (list.length < 2) continue
          const rest: Aff[] = list.length % 2 === 1 ? [list[list.length - 1] as Aff] : []
          for (let k = 0; k + 1 < list.length; k += 2) {
            const a = list[k] as Aff
            const b = list[k + 1] as Aff
            if (a.x === b.x) {
              // a = −b: the pair vanishes; a = b: a doubling, slope 3x²/2y.
              if (a.y !== b.y || a.y === 0n) continue
              const xx = F.sqr(a.x)
              num.push(F.add(F.add(xx, xx), xx))
              den.push(F.add(a.y, a.y))
            } else {
              num.push(F.sub(b.y, a.y))
              den.push(F.sub(b.x, a.x))
            }
            pairSlot.push(i)
            pairA.push(a)
            pairB.push(b)
          }
          slots[i] = rest
        }
        if (den.length === 0) return
        // One inversion for every denominator of the round.
        const prefix = new Array<bigint>(den.length)
        let product = 1n
        for (let k = 0; k < den.length; k++) {
          prefix[k] = product
          product = F.mul(product, den[k] as bigint)
        }
        let inv = F.inv(product)
        for (let k = den.length - 1; k >= 0; k--) {
          const slope = F.mul(num[k] as bigint, F.mul(inv, prefix[k] as bigint))
          inv = F.mul(inv, den[k] as bigint)
          const a = pairA[k] as Aff
          const b = pairB[k] as Aff
          const x = F.sub(F.sub(F.sqr(slope), a.x), b.x)
          const y = F.sub(F.mul(slope, F.sub(a.x, x)), a.y)
          ;(slots[pairSlot[k] as number] as Aff[]).push({ x, y })
        }
      }
    },
    strauss(terms: readonly Term[], bits: number, w: number): Jac {
      const n = terms.length
      const tableSize = 1 << (w - 2) // odd multiples 1, 3, …, 2^(w−1) − 1
      const jac: Jac[] = []
      for (const t of terms) {
        const base: Jac = { x: t.point.x, y: t.point.y, z: 1n }
        const twice = E.double(base)
        let cur = base
        jac.push(cur)
        for (let i = 1; i < tableSize; i++) {
          cur = E.add(cur, twice)
          jac.push(cur)
        }
      }
      const table = E.normalize(jac)
      const len = bits + 1
      const naf = new Int8Array(n * len)
      const wFull = 1n << BigInt(w)
      const wHalf = 1n << BigInt(w - 1)
      for (let j = 0; j < n; j++) {
        let k = (terms[j] as Term).scalar
        let i = 0
        while (k > 0n) {
          if ((k & 1n) === 1n) {
            let d = k & (wFull - 1n)
            if (d >= wHalf) d -= wFull
            naf[j * len + i] = Number(d)
            k -= d
          }
          k >>= 1n
          i++
        }
      }
      let acc: Jac = INF
      for (let i = len - 1; i >= 0; i--) {
        acc = E.double(acc)
        for (let j = 0; j < n; j++) {
          const d = naf[j * len + i] as number
          if (d > 0) acc = E.addAffine(acc, table[j * tableSize + ((d - 1) >> 1)] as Aff)
          else if (d < 0) acc = E.addAffine(acc, E.neg(table[j * tableSize + ((-d - 1) >> 1)] as Aff))
        }
      }
      return acc
    },
  }

  // ---- hashing -----------------------------------------------------------------------------

  const K256 = Uint32Array.from([
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
  ])
  const encoder = new TextEncoder()
  const schedule = new Uint32Array(64)
  const H = {
    /** SHA-256 (FIPS 180-4), for platforms without a native one; hex output. */
    sha256Hex(data: string | Uint8Array): string {
      const msg = typeof data === 'string' ? encoder.encode(data) : data
      const total = ((msg.length + 9 + 63) >>> 6) << 6
      const padded = new Uint8Array(total)
      padded.set(msg)
      padded[msg.length] = 0x80
      const bitLength = msg.length * 8
      const view = new DataView(padded.buffer)
      view.setUint32(total - 8, Math.floor(bitLength / 0x100000000))
      view.setUint32(total - 4, bitLength >>> 0)
      const s = Uint32Array.from([0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19])
      const w = schedule
      for (let off = 0; off < total; off += 64) {
        for (let t = 0; t < 16; t++) w[t] = view.getUint32(off + t * 4)
        for (let t = 16; t < 64; t++) {
          const x = w[t - 15] as number
          const y = w[t - 2] as number
          const s0 = ((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3)
          const s1 = ((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10)
          w[t] = (s1 + (w[t - 7] as number) + s0 + (w[t - 16] as number)) | 0
        }
        let a = s[0] as number
        let b = s[1] as number
        let c = s[2] as number
        let d = s[3] as number
        let e = s[4] as number
        let f = s[5] as number
        let g = s[6] as number
        let h = s[7] as number
        for (let t = 0; t < 64; t++) {
          const S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7))
          const t1 = (h + S1 + ((e & f) ^ (~e & g)) + (K256[t] as number) + (w[t] as number)) | 0
          const S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10))
          const t2 = (S0 + ((a & b) ^ (a & c) ^ (b & c))) | 0
          h = g
          g = f
          f = e
          e = (d + t1) | 0
          d = c
          c = b
          b = a
          a = (t1 + t2) | 0
        }
        s[0] = ((s[0] as number) + a) | 0
        s[1] = ((s[1] as number) + b) | 0
        s[2] = ((s[2] as number) + c) | 0
        s[3] = ((s[3] as number) + d) | 0
        s[4] = ((s[4] as number) + e) | 0
        s[5] = ((s[5] as number) + f) | 0
        s[6] = ((s[6] as number) + g) | 0
        s[7] = ((s[7] as number) + h) | 0
      }
      let hex = ''
      for (let i = 0; i < 8; i++) hex += (s[i] as number).toString(16).padStart(8, '0')
      return hex
    },
    fromHex(hex: string, out: Uint8Array, at: number): void {
      for (let i = 0; i < hex.length; i += 2) out[at + (i >> 1)] = parseInt(hex.slice(i, i + 2), 16)
    },
  }
  const sha256Hex = hooks.sha256Hex ?? H.sha256Hex
  const platform = {
    randomFill(bytes: Uint8Array): void {
      globalThis.crypto.getRandomValues(bytes)
    },
  }
  const randomFill = hooks.randomFill ?? platform.randomFill

  // BIP-340 tagged hash: sha256(sha256(tag) || sha256(tag) || r || P || m), one reused buffer.
  const challengeInput = new Uint8Array(160)
  const tagHash = sha256Hex('BIP0340/challenge')
  H.fromHex(tagHash, challengeInput, 0)
  H.fromHex(tagHash, challengeInput, 32)

  const authorCacheSize = hooks.authorCacheSize ?? 8192
  const authors = new Map<string, Author>()
  const G: Aff = { x: GX, y: GY }
  const G_ENDO: Aff = { x: F.mul(BETA, GX), y: GY }
  const HEX64 = /^[0-9a-f]{64}$/
  const HEX128 = /^[0-9a-f]{128}$/
  const random = new Uint8Array(16 * 64)
  const stats: EngineStats = { events: 0, batches: 0, batchFailures: 0, batchedEvents: 0, singleChecks: 0, authorLifts: 0 }

  interface Candidate {
    index: number
    author: Author
    pubkey: string
    r: Aff
    s: bigint
    e: bigint
  }

  const V = {
    author(pubkey: string): Author | undefined {
      const known = authors.get(pubkey)
      if (known !== undefined) {
        // Recently used authors stay: Map order is insertion order.
        authors.delete(pubkey)
        authors.set(pubkey, known)
        return known
      }
      const point = E.liftX(BigInt('0x' + pubkey))
      if (point === undefined) return undefined
      stats.authorLifts += 1
      const author = { point, endo: { x: F.mul(BETA, point.x), y: point.y } }
      authors.set(pubkey, author)
      if (authors.size > authorCacheSize) authors.delete(authors.keys().next().value as string)
      return author
    },
    /** Everything but the curve equation: id hash, ranges, lifts, challenge. */
    prepare(event: EngineEvent, index: number): Candidate | undefined {
      const { id, pubkey, sig } = event
      if (typeof id !== 'string' || typeof pubkey !== 'string' || typeof sig !== 'string') return undefined
      if (!HEX64.test(id) || !HEX64.test(pubkey) || !HEX128.test(sig)) return undefined
      const serialized = JSON.stringify([0, pubkey, event.created_at, event.kind, event.tags, event.content])
      if (sha256Hex(serialized) !== id) return undefined
      return V.prepareDigest(id, pubkey, sig, index)
    },
    /** Ranges, lifts and challenge of a signature over a 32-byte message (hex, checked). */
    prepareDigest(id: string, pubkey: string, sig: string, index: number): Candidate | undefined {
      const rHex = sig.slice(0, 64)
      const rx = BigInt('0x' + rHex)
      const s = BigInt('0x' + sig.slice(64))
      // BIP-340 fails r ≥ p and s ≥ n; s = 0 is refused too, as noble-curves does.
      if (rx >= P || s === 0n || s >= N) return undefined
      const author = V.author(pubkey)
      if (author === undefined) return undefined
      const r = E.liftX(rx)
      if (r === undefined) return undefined
      H.fromHex(rHex, challengeInput, 64)
      H.fromHex(pubkey, challengeInput, 96)
      H.fromHex(id, challengeInput, 128)
      const e = BigInt('0x' + sha256Hex(challengeInput)) % N
      return { index, author, pubkey, r, s, e }
    },
    /**
     * Whether (Σ aᵢsᵢ)·G − Σ aᵢRᵢ − Σ (aᵢeᵢ)·Pᵢ is the identity, a₁ = 1 and the other aᵢ random
     * 128-bit. For one candidate this is exactly BIP-340's check: s·G − e·P = lift_x(r).
     */
    holds(candidates: readonly Candidate[]): boolean {
      const terms: Term[] = []
      let sSum = 0n
      const perAuthor = new Map<string, { author: Author; k: bigint }>()
      for (let i = 0; i < candidates.length; i++) {
        const c = candidates[i] as Candidate
        let a = 1n
        if (i > 0) {
          const slot = (i - 1) % 64
          if (slot === 0) randomFill(random)
          a = 0n
          for (let b = 0; b < 16; b++) a = (a << 8n) | BigInt(random[slot * 16 + b] as number)
          if (a === 0n) a = 1n
        }
        sSum = (sSum + a * c.s) % N
        terms.push({ point: E.neg(c.r), scalar: a })
        const slot = perAuthor.get(c.pubkey)
        const ae = a * c.e
        if (slot === undefined) perAuthor.set(c.pubkey, { author: c.author, k: ae })
        else slot.k += ae
      }
      M.pushSplit(terms, sSum, G, G_ENDO)
      for (const { author, k } of perAuthor.values()) {
        const neg = (N - (k % N)) % N
        if (neg !== 0n) M.pushSplit(terms, neg, author.point, author.endo)
      }
      return M.sum(terms).z === 0n
    },
    decide(candidates: readonly Candidate[], count: number, single: boolean): Uint8Array {
      const out = new Uint8Array(count)
      if (candidates.length === 0) return out
      if (single || candidates.length === 1) V.single(candidates, out)
      else if (V.batch(candidates)) for (const c of candidates) out[c.index] = 1
      else V.search(candidates, out)
      return out
    },
    /** One batch equation, counted. */
    batch(candidates: readonly Candidate[]): boolean {
      stats.batches += 1
      stats.batchedEvents += candidates.length
      const ok = V.holds(candidates)
      if (!ok) stats.batchFailures += 1
      return ok
    },
    single(candidates: readonly Candidate[], out: Uint8Array): void {
      for (const c of candidates) {
        stats.singleChecks += 1
        if (V.holds([c])) out[c.index] = 1
      }
    },
    /**
     * Finds the bad signatures in a set known to hold at least one, by halving while only one part
     * fails: one forgery among n costs about n/2 more batch work. As soon as both halves fail (two
     * or more forgeries) the rest is checked one by one, so the whole search never costs more than
     * two extra passes of batch work over the single checks it ends with.
     */
    search(candidates: readonly Candidate[], out: Uint8Array): void {
      if (candidates.length <= 3) {
        V.single(candidates, out)
        return
      }
      const mid = candidates.length >> 1
      const left = candidates.slice(0, mid)
      const right = candidates.slice(mid)
      if (V.batch(left)) {
        for (const c of left) out[c.index] = 1
        V.search(right, out)
        return
      }
      if (V.batch(right)) {
        for (const c of right) out[c.index] = 1
        V.search(left, out)
        return
      }
      V.single(candidates, out)
    },
  }

  return {
    stats,
    verify(events: readonly EngineEvent[], single = false): Uint8Array {
      const candidates: Candidate[] = []
      for (let i = 0; i < events.length; i++) {
        stats.events += 1
        try {
          const candidate = V.prepare(events[i] as EngineEvent, i)
          if (candidate !== undefined) candidates.push(candidate)
        } catch {
          // Malformed beyond what the shape check caught: invalid.
        }
      }
      return V.decide(candidates, events.length, single)
    },
    verifyDigests(items: ReadonlyArray<{ pubkey: string; message: string; sig: string }>, single = false): Uint8Array {
      const candidates: Candidate[] = []
      for (let i = 0; i < items.length; i++) {
        const { pubkey, message, sig } = items[i] as { pubkey: string; message: string; sig: string }
        try {
          if (!HEX64.test(message) || !HEX64.test(pubkey) || !HEX128.test(sig)) continue
          const candidate = V.prepareDigest(message, pubkey, sig, i)
          if (candidate !== undefined) candidates.push(candidate)
        } catch {
          // invalid
        }
      }
      return V.decide(candidates, items.length, single)
    },
  }
}
