/**
 * BIP-340 batch verification of Schnorr signatures, for bursts of events from relays.
 *
 * One check for `u` signatures (BIP-340, "Batch Verification"): with random 128-bit coefficients
 * `a_1 = 1, a_2..a_u` drawn from a CSPRNG after the inputs are fixed,
 *
 *   (Σ a_i·s_i)·G  =  Σ a_i·R_i + Σ (a_i·e_i)·P_i
 *
 * holds for valid signatures, and fails except with probability about 2^-128 when any one is
 * invalid. Both sides become one multi-scalar multiplication (MSM) that must give the point at
 * infinity. Why it is faster than `u` single verifications (each ≈ 128 doublings + ≈ 100 additions
 * with GLV): the MSM (Pippenger's bucket method) costs about one point addition per point per
 * window, terms of the same author collapse into one (authors repeat constantly in a feed), and
 * every scalar is 128 bits (the `a_i` are, the author and generator scalars are split in two with
 * the GLV endomorphism `ψ(x, y) = (β·x, y) = λ·(x, y)`).
 *
 * Single signatures (small inputs, `verifyEvent`, and the search for bad signatures after a failed
 * batch) are checked with the same arithmetic: R = s·G - e·P by interleaved wNAF over the four GLV
 * half-scalars (one chain of 128 doublings, a table of the generator built once, a small table per
 * cached author), measured 3-4x faster than noble-curves' `schnorr.verify` on bigints.
 *
 * The curve arithmetic here is public-input only (variable time, like noble's `*Unsafe` methods):
 * signatures, keys and messages are public; signing stays with noble-curves. Field elements are
 * bigints reduced with the special form `p = 2^256 - 0x1000003d1` (measured faster than `%`). Every
 * verdict agrees with noble's `schnorr.verify`, including its refusal of r = 0 and s = 0, which the
 * tests check against nostr-tools and the BIP-340 vectors.
 *
 * A failed batch is searched with a work cap: it is cut in eight and the pieces are checked, going
 * down into the one bad piece; as soon as two pieces fail (two or more bad signatures), everything
 * still undecided is verified one by one. So a batch with one bad signature costs about 1.6 batch
 * checks instead of one, and the worst an attacker can do (every signature bad) costs 1.25 batch
 * checks plus the single verifications that were needed anyway (`stats()` counts both). The
 * verifier also adapts its chunk size to the bad signatures it sees: after a batch with bad
 * signatures the next chunk is smaller (about half a bad signature expected in it), so a sustained
 * flood is verified one by one after its first batch (the work of plain individual verification),
 * and chunks double back to `batchSize` as they come back clean.
 *
 * See {@link https://github.com/bitcoin/bips/blob/master/bip-0340.mediawiki | BIP-340}.
 *
 * @module
 */
import { sha256 } from '@noble/hashes/sha2.js'
import { bytesToHex as nobleBytesToHex, randomBytes as nobleRandomBytes, utf8ToBytes } from '@noble/hashes/utils.js'
import { type NostrEvent, eventShapeProblem, hashSerialized } from './event.js'

// ---------------------------------------------------------------------------------------------
// Field and group constants (secp256k1, SEC 2; GLV basis and β as in libsecp256k1 / noble-curves)
// ---------------------------------------------------------------------------------------------

const P = 0xfffffffffffffffffffffffffffffffffffffffffffffffffffffffefffffc2fn
const N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n
const GX = 0x79be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798n
const GY = 0x483ada7726a3c4655da4fbfc0e1108a8fd17b448a68554199c47d08ffb10d4b8n
/** Cube root of unity mod p: ψ(x, y) = (β·x, y) equals λ·(x, y). */
const BETA = 0x7ae96a2b657c07106e64479eac3434e99cf0497512f58995c1396c28719501een
// Reduced GLV basis {(A1, B1), (A2, B2)} of the lattice {(x, y): x + y·λ ≡ 0 mod n}.
const A1 = 0x3086d221a7d46bcde86c90e49284eb15n
const B1 = -0xe4437ed6010e88286f547fa90abfe4c3n
const A2 = 0x114ca50f7a8e2f3f657c1108d9d44cfd8n
const B2 = A1
const MASK256 = (1n << 256n) - 1n
/** 2^256 mod p: folding the high half of a product back in costs one small multiplication. */
const FOLD = 0x1000003d1n
const HALF_BITS = 128
const TWO128 = 1n << 128n

/** x·y mod p for x, y < p (fold twice, subtract once: the product is < p², see `reduce`). */
function fmul(x: bigint, y: bigint): bigint {
  return reduce(x * y)
}

/** t mod p for 0 <= t < 2^512. Two folds leave t < 2^256 + 2^67 < 2p, hence one subtraction. */
function reduce(t: bigint): bigint {
  t = (t & MASK256) + (t >> 256n) * FOLD
  t = (t & MASK256) + (t >> 256n) * FOLD
  return t >= P ? t - P : t
}

function fsqr(x: bigint): bigint {
  return reduce(x * x)
}

function fadd(x: bigint, y: bigint): bigint {
  const t = x + y
  return t >= P ? t - P : t
}

function fsub(x: bigint, y: bigint): bigint {
  const t = x - y
  return t < 0n ? t + P : t
}

/** x^(2^k) · y mod p. */
function sqrMul(x: bigint, k: number, y: bigint): bigint {
  for (let i = 0; i < k; i++) x = reduce(x * x)
  return reduce(x * y)
}

/**
 * A square root of `c` mod p, or `undefined` when `c` is not a square. p ≡ 3 mod 4, so the root is
 * c^((p+1)/4); the exponent's bits are 223 ones, a zero, 22 ones, 0000, 11, 00, evaluated with the
 * usual addition chain (253 squarings, 13 multiplications).
 */
function sqrtMod(c: bigint): bigint | undefined {
  const x2 = sqrMul(c, 1, c)
  const x3 = sqrMul(x2, 1, c)
  const x6 = sqrMul(x3, 3, x3)
  const x9 = sqrMul(x6, 3, x3)
  const x11 = sqrMul(x9, 2, x2)
  const x22 = sqrMul(x11, 11, x11)
  const x44 = sqrMul(x22, 22, x22)
  const x88 = sqrMul(x44, 44, x44)
  const x176 = sqrMul(x88, 88, x88)
  const x220 = sqrMul(x176, 44, x44)
  const x223 = sqrMul(x220, 3, x3)
  let t = sqrMul(x223, 23, x22)
  t = sqrMul(t, 6, x2)
  t = fsqr(fsqr(t))
  return fsqr(t) === c ? t : undefined
}

/**
 * BIP-340 lift_x: the point with x-coordinate `x` and an even y, as its y; `undefined` when x is
 * not below p, is zero, or x³ + 7 is not a square (no such point).
 *
 * Zero is rejected like noble-curves does (no curve point has x = 0 anyway: 7 is not a square).
 * @internal
 */
export function liftX(x: bigint): bigint | undefined {
  if (x <= 0n || x >= P) return undefined
  const y = sqrtMod(fadd(fmul(fsqr(x), x), 7n))
  if (y === undefined) return undefined
  return (y & 1n) === 0n ? y : P - y
}

/**
 * Splits k (0 <= k < n) into k1 + k2·λ ≡ k (mod n) with |k1|, |k2| < 2^128 (GLV). Returns the
 * magnitudes and signs.
 * @internal
 */
export function splitScalar(k: bigint): { k1: bigint; k1neg: boolean; k2: bigint; k2neg: boolean } {
  const c1 = divRound(B2 * k, N)
  const c2 = divRound(-B1 * k, N)
  let k1 = k - c1 * A1 - c2 * A2
  let k2 = -c1 * B1 - c2 * B2
  const k1neg = k1 < 0n
  const k2neg = k2 < 0n
  if (k1neg) k1 = -k1
  if (k2neg) k2 = -k2
  // Never true for a correct basis; a wrong one would silently give a wrong MSM, so fail loudly.
  if (k1 >= TWO128 || k2 >= TWO128) throw new Error('GLV split out of range')
  return { k1, k1neg, k2, k2neg }
}

/** num / den rounded to the nearest integer (den > 0; halves round away from zero). */
function divRound(num: bigint, den: bigint): bigint {
  return (num + (num >= 0n ? den : -den) / 2n) / den
}

// ---------------------------------------------------------------------------------------------
// Jacobian points (x = X/Z², y = Y/Z³; Z = 0 is the point at infinity), updated in place
// ---------------------------------------------------------------------------------------------

interface Jacobian {
  X: bigint
  Y: bigint
  Z: bigint
}

function infinity(): Jacobian {
  return { X: 0n, Y: 1n, Z: 0n }
}

/** p ← 2p (dbl-2009-l, a = 0). */
function doubleInto(p: Jacobian): void {
  if (p.Z === 0n) return
  // No point of odd order 2 exists on secp256k1, so Y = 0 never occurs for a finite point.
  const { X, Y, Z } = p
  const A = fsqr(X)
  const B = fsqr(Y)
  const C = fsqr(B)
  let D = fsub(fsub(fsqr(fadd(X, B)), A), C)
  D = fadd(D, D)
  const E = fadd(fadd(A, A), A)
  const F = fsqr(E)
  const X3 = fsub(F, fadd(D, D))
  let C8 = fadd(C, C)
  C8 = fadd(C8, C8)
  C8 = fadd(C8, C8)
  p.Y = fsub(fmul(E, fsub(D, X3)), C8)
  const YZ = fmul(Y, Z)
  p.Z = fadd(YZ, YZ)
  p.X = X3
}

/** p ← p + (x2, y2) for an affine point (madd-2007-bl with the equal / opposite cases handled). */
function addAffineInto(p: Jacobian, x2: bigint, y2: bigint): void {
  if (p.Z === 0n) {
    p.X = x2
    p.Y = y2
    p.Z = 1n
    return
  }
  const { X, Y, Z } = p
  const ZZ = fsqr(Z)
  const H = fsub(fmul(x2, ZZ), X)
  const r = fsub(fmul(y2, fmul(Z, ZZ)), Y)
  if (H === 0n) {
    // Same x: the same point (double it) or its opposite (the sum is infinity).
    if (r === 0n) doubleInto(p)
    else p.Z = 0n
    return
  }
  const HH = fsqr(H)
  const HHH = fmul(H, HH)
  const V = fmul(X, HH)
  const X3 = fsub(fsub(fsqr(r), HHH), fadd(V, V))
  p.Y = fsub(fmul(r, fsub(V, X3)), fmul(Y, HHH))
  p.Z = fmul(Z, H)
  p.X = X3
}

/** p ← p + q, both Jacobian (add-2007-bl with the equal / opposite cases handled). */
function addInto(p: Jacobian, q: Jacobian): void {
  if (q.Z === 0n) return
  if (p.Z === 0n) {
    p.X = q.X
    p.Y = q.Y
    p.Z = q.Z
    return
  }
  const Z1Z1 = fsqr(p.Z)
  const Z2Z2 = fsqr(q.Z)
  const U1 = fmul(p.X, Z2Z2)
  const S1 = fmul(p.Y, fmul(q.Z, Z2Z2))
  const H = fsub(fmul(q.X, Z1Z1), U1)
  const r = fsub(fmul(q.Y, fmul(p.Z, Z1Z1)), S1)
  if (H === 0n) {
    if (r === 0n) doubleInto(p)
    else p.Z = 0n
    return
  }
  const HH = fsqr(H)
  const HHH = fmul(H, HH)
  const V = fmul(U1, HH)
  const X3 = fsub(fsub(fsqr(r), HHH), fadd(V, V))
  p.Y = fsub(fmul(r, fsub(V, X3)), fmul(S1, HHH))
  p.Z = fmul(fmul(p.Z, q.Z), H)
  p.X = X3
}

// ---------------------------------------------------------------------------------------------
// Multi-scalar multiplication (Pippenger, signed digits, 128-bit scalars, affine bucket sums)
// ---------------------------------------------------------------------------------------------

/**
 * Window width for `count` points: minimises windows × (one affine addition per point, about 7
 * field multiplications with the shared inversion, + two Jacobian additions per bucket, 11 and 16).
 */
function windowFor(count: number): number {
  let best = 2
  let bestCost = Infinity
  for (let w = 2; w <= 14; w++) {
    const cost = (Math.floor(HALF_BITS / w) + 1) * (7 * count + 27 * 2 ** (w - 1))
    if (cost < bestCost) {
      bestCost = cost
      best = w
    }
  }
  return best
}

/**
 * Whether Σ k_j·(x_j, y_j) is the point at infinity, for affine points and scalars 0 <= k < 2^128.
 *
 * Pippenger's bucket method with signed window digits. The points of each bucket (of every window
 * at once) are summed in affine coordinates, pairwise in rounds, all additions of a round sharing
 * one field inversion (Montgomery's trick): about 6 multiplications per addition instead of 11 for
 * a mixed Jacobian addition. Buckets are then combined per window with Jacobian running sums.
 * @internal
 */
export function msmIsInfinity(xs: readonly bigint[], ys: readonly bigint[], ks: readonly bigint[]): boolean {
  const count = ks.length
  if (count === 0) return true
  const w = windowFor(count)
  const windows = Math.floor(HALF_BITS / w) + 1
  const half = 2 ** (w - 1)
  const full = 2 ** w
  const mask = BigInt(full - 1)
  const bw = BigInt(w)
  const slots = windows * half
  // Signed digits in [-2^(w-1), 2^(w-1)]; slot (window i, bucket |d|) = i·half + |d| - 1.
  const digits = new Int32Array(count * windows)
  const starts = new Int32Array(slots + 1)
  for (let j = 0; j < count; j++) {
    let k = ks[j]!
    let carry = 0
    for (let i = 0; i < windows; i++) {
      let d = Number(k & mask) + carry
      k >>= bw
      if (d > half) {
        d -= full
        carry = 1
      } else {
        carry = 0
      }
      digits[j * windows + i] = d
      if (d !== 0) starts[i * half + (d < 0 ? -d : d)]!++
    }
  }
  for (let s = 0; s < slots; s++) starts[s + 1]! += starts[s]!
  const entries = starts[slots]!
  const X = new Array<bigint>(entries).fill(0n)
  const Y = new Array<bigint>(entries).fill(0n)
  const next = starts.slice(0, slots)
  for (let j = 0; j < count; j++) {
    const x = xs[j]!
    const y = ys[j]!
    for (let i = 0; i < windows; i++) {
      const d = digits[j * windows + i]!
      if (d === 0) continue
      const at = next[i * half + (d < 0 ? -d : d) - 1]!++
      X[at] = x
      Y[at] = d > 0 ? y : P - y
    }
  }
  const lengths = new Int32Array(slots)
  for (let s = 0; s < slots; s++) lengths[s] = starts[s + 1]! - starts[s]!
  sumBuckets(X, Y, starts, lengths)

  const acc = infinity()
  const sum = infinity()
  const total = infinity()
  for (let i = windows - 1; i >= 0; i--) {
    for (let t = 0; t < w; t++) doubleInto(acc)
    // Σ b·bucket[b] as a running sum of running sums.
    sum.Z = 0n
    total.Z = 0n
    for (let b = half; b >= 1; b--) {
      const s = i * half + b - 1
      if (lengths[s] === 1) addAffineInto(sum, X[starts[s]!]!, Y[starts[s]!]!)
      addInto(total, sum)
    }
    addInto(acc, total)
  }
  return acc.Z === 0n
}

/** Pair kinds in one round of {@link sumBuckets}. */
const ADD = 0
const DOUBLE = 1
const CANCEL = 2

/**
 * Sums the affine points of every slot in place, until each slot holds one point or none (the sum
 * was infinity): each round adds neighbours pairwise, and all the round's denominators are
 * inverted together with one inversion.
 */
function sumBuckets(X: bigint[], Y: bigint[], starts: Int32Array, lengths: Int32Array): void {
  const slots = lengths.length
  const most = X.length >> 1
  const kinds = new Uint8Array(most)
  // Packed (not holey) arrays: V8 reads them faster.
  const denominators = new Array<bigint>(most).fill(0n)
  const prefix = new Array<bigint>(most).fill(0n)
  for (;;) {
    let pairs = 0
    let count = 0
    for (let s = 0; s < slots; s++) {
      const length = lengths[s]!
      if (length < 2) continue
      const end = starts[s]! + length - 1
      for (let a = starts[s]!; a < end; a += 2) {
        const dx = fsub(X[a + 1]!, X[a]!)
        if (dx !== 0n) {
          kinds[pairs++] = ADD
          denominators[count++] = dx
        } else if (Y[a] === Y[a + 1]) {
          // The same point twice: tangent slope 3x²/2y (y ≠ 0: no point of order 2 on secp256k1).
          kinds[pairs++] = DOUBLE
          denominators[count++] = fadd(Y[a]!, Y[a]!)
        } else {
          kinds[pairs++] = CANCEL // P + (-P)
        }
      }
    }
    if (pairs === 0) return
    // Montgomery's trick: one inversion for the whole round.
    let product = 1n
    for (let q = 0; q < count; q++) {
      prefix[q] = product
      product = fmul(product, denominators[q]!)
    }
    let inverse = finv(product)
    for (let q = count - 1; q >= 0; q--) {
      const d = denominators[q]!
      denominators[q] = fmul(inverse, prefix[q]!)
      inverse = fmul(inverse, d)
    }
    let pair = 0
    let inverted = 0
    for (let s = 0; s < slots; s++) {
      const length = lengths[s]!
      if (length < 2) continue
      const start = starts[s]!
      const end = start + length - 1
      let out = start
      let a = start
      // Results go to positions at or before the pair being read, so nothing unread is overwritten.
      for (; a < end; a += 2) {
        const kind = kinds[pair++]
        if (kind === CANCEL) continue
        const x1 = X[a]!
        const y1 = Y[a]!
        const x2 = X[a + 1]!
        const inv = denominators[inverted++]!
        const lambda = kind === ADD ? fmul(fsub(Y[a + 1]!, y1), inv) : fmul(fmul(3n, fsqr(x1)), inv)
        const x3 = fsub(fsub(fsqr(lambda), x1), x2)
        Y[out] = fsub(fmul(lambda, fsub(x1, x3)), y1)
        X[out] = x3
        out++
      }
      if (a === end) {
        X[out] = X[a]!
        Y[out] = Y[a]!
        out++
      }
      lengths[s] = out - start
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Single verification: s·G - e·P by interleaved wNAF (Strauss-Shamir) over four 128-bit scalars
// ---------------------------------------------------------------------------------------------

/** wNAF width for the generator (a table built once) and for an author's key (built per key). */
const G_WINDOW = 8
const KEY_WINDOW = 5

/** Affine odd multiples 1·Q, 3·Q, 5·Q, … of a point Q, with β·x for the same multiples of ψ(Q). */
interface OddMultiples {
  xs: bigint[]
  ys: bigint[]
  betaXs: bigint[]
}

/** x⁻¹ mod p (x ≠ 0) by the extended Euclidean algorithm: much cheaper than x^(p-2) on bigints. */
function finv(x: bigint): bigint {
  let a = x
  let b = P
  let u = 1n
  let v = 0n
  while (a !== 0n) {
    const q = b / a
    const r = b - q * a
    const w = v - q * u
    b = a
    a = r
    v = u
    u = w
  }
  return v < 0n ? v + P : v
}

/** The 2^(w-2) odd multiples of (x, y), normalised to affine with one inversion (Montgomery's trick). */
function oddMultiples(x: bigint, y: bigint, w: number): OddMultiples {
  const count = 2 ** (w - 2)
  const twice: Jacobian = { X: x, Y: y, Z: 1n }
  doubleInto(twice)
  const points: Jacobian[] = [{ X: x, Y: y, Z: 1n }]
  for (let i = 1; i < count; i++) {
    const next = { ...points[i - 1]! }
    addInto(next, twice)
    points.push(next)
  }
  // Multiples below the group order of a finite point are never infinity, so every Z is invertible.
  const prefix: bigint[] = [points[0]!.Z]
  for (let i = 1; i < count; i++) prefix.push(fmul(prefix[i - 1]!, points[i]!.Z))
  let inverse = finv(prefix[count - 1]!)
  const xs = new Array<bigint>(count)
  const ys = new Array<bigint>(count)
  for (let i = count - 1; i >= 0; i--) {
    const zi = i === 0 ? inverse : fmul(inverse, prefix[i - 1]!)
    inverse = fmul(inverse, points[i]!.Z)
    const zi2 = fsqr(zi)
    xs[i] = fmul(points[i]!.X, zi2)
    ys[i] = fmul(points[i]!.Y, fmul(zi2, zi))
  }
  return { xs, ys, betaXs: xs.map((v) => fmul(BETA, v)) }
}

let generatorTable: OddMultiples | undefined

/**
 * Width-w non-adjacent form of k < 2^128, least significant digit first: odd digits below 2^(w-1)
 * in absolute value, at least w-1 zeros after each non-zero digit (so about 128/(w+1) additions).
 * Windows stop at one spare bit above k's top bit, which leaves no carry behind.
 * @internal
 */
export function wnaf(k: bigint, w: number): Int16Array {
  const digits = new Int16Array(HALF_BITS + 2)
  const bits = k.toString(2)
  const length = bits.length
  const bit = (i: number): number => (i < length ? bits.charCodeAt(length - 1 - i) - 48 : 0)
  const end = length + 1
  let carry = 0
  for (let i = 0; i < end; ) {
    if (bit(i) === carry) {
      i++
      continue
    }
    const now = Math.min(w, end - i)
    let word = carry
    for (let j = 0; j < now; j++) word += bit(i + j) * 2 ** j
    // word is odd (bit i differs from the carry); a top half digit becomes negative and carries.
    carry = word >= 2 ** (w - 1) ? 1 : 0
    digits[i] = word - carry * 2 ** w
    i += now
  }
  return digits
}

/** acc ← acc + sign·d·Q from a table of odd multiples; `negate` flips the sign of every digit. */
function addDigit(acc: Jacobian, d: number, xs: readonly bigint[], ys: readonly bigint[], negate: boolean): void {
  if (d === 0) return
  const i = ((d < 0 ? -d : d) - 1) >> 1
  const y = ys[i]!
  addAffineInto(acc, xs[i]!, d < 0 !== negate ? P - y : y)
}

/**
 * BIP-340 verification of prepared inputs: R = s·G - e·P must be finite with x(R) = r and an even
 * y. The four GLV half-scalars share one chain of 128 doublings.
 */
function verifyOne(r: bigint, s: bigint, e: bigint, author: AuthorPoint): boolean {
  generatorTable ??= oddMultiples(GX, GY, G_WINDOW)
  author.table ??= oddMultiples(author.x, author.y, KEY_WINDOW)
  const g = generatorTable
  const k = author.table
  const gs = splitScalar(s)
  const ks = splitScalar((N - e) % N)
  const g1 = wnaf(gs.k1, G_WINDOW)
  const g2 = wnaf(gs.k2, G_WINDOW)
  const k1 = wnaf(ks.k1, KEY_WINDOW)
  const k2 = wnaf(ks.k2, KEY_WINDOW)
  const acc = infinity()
  for (let i = HALF_BITS + 1; i >= 0; i--) {
    doubleInto(acc)
    addDigit(acc, g1[i]!, g.xs, g.ys, gs.k1neg)
    addDigit(acc, g2[i]!, g.betaXs, g.ys, gs.k2neg)
    addDigit(acc, k1[i]!, k.xs, k.ys, ks.k1neg)
    addDigit(acc, k2[i]!, k.betaXs, k.ys, ks.k2neg)
  }
  if (acc.Z === 0n) return false
  // x(R) = X/Z² = r is checked without an inversion; only a match pays one to read y's parity.
  const zz = fsqr(acc.Z)
  if (acc.X !== fmul(r, zz)) return false
  const zi = finv(acc.Z)
  return (fmul(acc.Y, fmul(fsqr(zi), zi)) & 1n) === 0n
}

// ---------------------------------------------------------------------------------------------
// Inputs prepared for checking
// ---------------------------------------------------------------------------------------------

/** An author's lifted public key, cached: P and ψ(P) share y. */
interface AuthorPoint {
  /** x-only key bytes (hashed into every challenge). */
  bytes: Uint8Array
  x: bigint
  y: bigint
  /** β·x: the x of ψ(P) = λ·P. */
  betaX: bigint
  /** Odd multiples for single verification, built the first time this key is verified alone. */
  table?: OddMultiples
}

/** A signature whose scalars are in range and whose key lifts: ready for a batch or single check. */
interface Prepared {
  r: bigint
  s: bigint
  /** Challenge e = H(r ‖ P ‖ m) mod n. */
  e: bigint
  author: AuthorPoint
  /** y of lift_x(r), computed when the item enters a batch; `null` when r does not lift. */
  ry?: bigint | null
}

const HEX_VALUES = /* @__PURE__ */ (() => {
  const table = new Int8Array(128).fill(-1)
  for (let i = 0; i < 10; i++) table[48 + i] = i
  for (let i = 0; i < 6; i++) {
    table[97 + i] = 10 + i
    table[65 + i] = 10 + i
  }
  return table
})()

/** Decodes `length` bytes of hex from `hex` at `start` into `out` at `at`; false on a bad digit. */
function decodeHexInto(hex: string, start: number, length: number, out: Uint8Array, at: number): boolean {
  for (let i = 0; i < length; i++) {
    const hi = HEX_VALUES[hex.charCodeAt(start + 2 * i)] ?? -1
    const lo = HEX_VALUES[hex.charCodeAt(start + 2 * i + 1)] ?? -1
    if (hi < 0 || lo < 0) return false
    out[at + i] = hi * 16 + lo
  }
  return true
}

function bytesToBigInt(bytes: Uint8Array): bigint {
  return bytes.length === 0 ? 0n : BigInt('0x' + nobleBytesToHex(bytes))
}

/** sha256 state after the 64-byte BIP0340/challenge tag prefix; cloned per challenge. */
let challengePrefix: ReturnType<typeof sha256.create> | undefined
function challenge(rBytes: Uint8Array, pBytes: Uint8Array, message: Uint8Array): bigint {
  if (challengePrefix === undefined) {
    const tag = sha256(utf8ToBytes('BIP0340/challenge'))
    challengePrefix = sha256.create().update(tag).update(tag)
  }
  const digest = challengePrefix.clone().update(rBytes).update(pBytes).update(message).digest()
  return bytesToBigInt(digest) % N
}

/**
 * A bounded least-recently-used map from x-only key hex to the lifted point (and, once the key has
 * been verified alone, its small table of odd multiples, about 1.5 KB). Lifting costs a square root,
 * about a third of what a signature costs in a batch, and feeds repeat authors all the time.
 */
class AuthorCache {
  private readonly map = new Map<string, AuthorPoint>()
  constructor(private readonly capacity: number) {}

  /** The lifted key for lower-case `hex` (64 characters), or undefined when it is not a curve point. */
  get(hex: string): AuthorPoint | undefined {
    const hit = this.map.get(hex)
    if (hit !== undefined) {
      // Re-inserting moves the key to the young end of the Map's insertion order.
      this.map.delete(hex)
      this.map.set(hex, hit)
      return hit
    }
    const bytes = new Uint8Array(32)
    if (!decodeHexInto(hex, 0, 32, bytes, 0)) return undefined
    const x = BigInt('0x' + hex)
    const y = liftX(x)
    if (y === undefined) return undefined
    const point: AuthorPoint = { bytes, x, y, betaX: fmul(BETA, x) }
    if (this.capacity > 0) {
      if (this.map.size >= this.capacity) this.map.delete(this.map.keys().next().value as string)
      this.map.set(hex, point)
    }
    return point
  }

  get size(): number {
    return this.map.size
  }
}

// ---------------------------------------------------------------------------------------------
// The verifier
// ---------------------------------------------------------------------------------------------

/** A signature to check: 64-byte BIP-340 signature, message bytes, 32-byte x-only key. */
export interface SignatureItem {
  /** 64 bytes: r ‖ s. */
  signature: Uint8Array
  /** The signed message (an event id for Nostr; any length). */
  message: Uint8Array
  /** 32-byte x-only public key. */
  publicKey: Uint8Array
}

/** Options of {@link createBatchVerifier}. */
export interface BatchVerifierOptions {
  /**
   * Largest number of signatures in one batch check. Larger batches amortise more, but a failed
   * batch delays every signature in it and the gain flattens out (measured: 512 is at most about
   * 10% faster per signature than 256, 64 about 25% slower).
   * @default 256
   */
  batchSize?: number
  /**
   * Below this many signatures (after deduplication and pre-checks) each is verified on its own:
   * a batch check has a fixed cost that small inputs do not repay (measured in
   * `bench/verify.bench.ts`: a batch of 4 to 6 breaks even with single verification, 8 is 1.1 to
   * 1.5 times faster, 16 about 1.5 times).
   * @default 8
   */
  minBatch?: number
  /**
   * How many authors' lifted public keys to keep (least recently used dropped first); 0 disables
   * the cache.
   * @default 4096
   */
  authorCacheSize?: number
  /**
   * Source of the random batch coefficients. Must be a CSPRNG: an attacker who can predict the
   * coefficients can make invalid signatures pass a batch. Replaceable for tests only.
   * @default crypto.getRandomValues through `@noble/hashes`
   */
  randomBytes?: (length: number) => Uint8Array
}

/** Work done by a verifier since it was created (for benchmarks and tests of the work bound). */
export interface BatchVerifierStats {
  /** Batch checks run (each one MSM). */
  batchChecks: number
  /** Signatures summed over all batch checks. */
  batchItems: number
  /** Signatures verified one by one (tiny inputs and bad-signature search). */
  singleChecks: number
  /** Signatures rejected before any curve arithmetic (range checks, keys or R not on the curve). */
  prechecked: number
  /** Lifted keys currently cached. */
  cachedAuthors: number
  /**
   * Current chunk size: `batchSize` normally, smaller after bad signatures (below `minBatch`, chunks
   * are verified one by one), doubling back with every clean chunk.
   */
  chunkSize: number
}

/** A batch verifier with its own author cache and counters. */
export interface BatchVerifier {
  /**
   * Verifies events: result `i` is what `verifyEvent(events[i])` returns (shape, id hash and
   * signature checked; anything malformed is `false`). Never throws.
   *
   * @param events - anything (typically parsed from relay frames).
   * @returns one boolean per input, in order.
   */
  verifyEvents(events: readonly unknown[]): boolean[]
  /**
   * Verifies one event without batching (with the cached author key): what `verifyEvents([event])`
   * returns, without the array. Never throws.
   *
   * @param event - anything.
   * @returns whether it is a well-formed event with a correct id and signature.
   */
  verifyEvent(event: unknown): boolean
  /**
   * Verifies BIP-340 signatures: result `i` is what a single verification of `items[i]` returns.
   * Never throws; a malformed item is `false`.
   *
   * @param items - signatures, messages, keys.
   * @returns one boolean per input, in order.
   */
  verifySignatures(items: readonly SignatureItem[]): boolean[]
  /**
   * Counters of work done so far.
   *
   * @returns a snapshot.
   */
  stats(): BatchVerifierStats
}

const DEFAULTS = { batchSize: 256, minBatch: 8, authorCacheSize: 4096 }
/**
 * How many pieces a failed batch is cut into when looking for its bad signatures. More pieces make
 * the worst case cheaper (two failed pieces of 1/8 each before giving up, instead of two halves)
 * and one bad signature cheaper to find too (about 0.55 of a batch per level instead of 0.75 for
 * four pieces), at the price of more, smaller checks.
 */
const SEARCH_WAYS = 8

/**
 * Creates a batch verifier: random-coefficient BIP-340 batch checks over one multi-scalar
 * multiplication, a bounded cache of lifted author keys, single verification for small inputs, a
 * bounded search for the bad signatures when a batch fails, and a chunk size that shrinks after
 * bad signatures (a flood is verified one by one) and grows back as chunks come back clean.
 *
 * @param options - batch size, small-input threshold, cache size (see {@link BatchVerifierOptions}).
 * @returns a verifier; each has its own cache, so a worker thread can own one.
 * @throws RangeError when an option is not a non-negative integer (`batchSize` and `minBatch` at
 * least 1).
 * @example
 * ```ts
 * import { createBatchVerifier } from 'nostr-rendezvous/crypto'
 * const verifier = createBatchVerifier({ batchSize: 256 })
 * const ok = verifier.verifyEvents(events)
 * const valid = events.filter((_, i) => ok[i])
 * ```
 */
export function createBatchVerifier(options: BatchVerifierOptions = {}): BatchVerifier {
  const batchSize = intOption(options.batchSize, DEFAULTS.batchSize, 1, 'batchSize')
  const minBatch = intOption(options.minBatch, DEFAULTS.minBatch, 1, 'minBatch')
  const cache = new AuthorCache(intOption(options.authorCacheSize, DEFAULTS.authorCacheSize, 0, 'authorCacheSize'))
  const random = options.randomBytes ?? nobleRandomBytes
  const counts = { batchChecks: 0, batchItems: 0, singleChecks: 0, prechecked: 0 }
  /** Current chunk size, adapted to the bad signatures seen (see `adapt`). */
  let chunkSize = batchSize

  /** BIP-340 single verification of a prepared item. */
  function single(item: Prepared): boolean {
    counts.singleChecks++
    return verifyOne(item.r, item.s, item.e, item.author)
  }

  /** One random-coefficient batch check of items whose R lifted. */
  function batchHolds(items: readonly Prepared[]): boolean {
    counts.batchChecks++
    counts.batchItems += items.length
    const xs: bigint[] = []
    const ys: bigint[] = []
    const ks: bigint[] = []
    const coefficients = randomCoefficients(items.length)
    let sSum = 0n
    const byAuthor = new Map<AuthorPoint, bigint>()
    for (let i = 0; i < items.length; i++) {
      const item = items[i]!
      const a = coefficients[i]!
      xs.push(item.r)
      ys.push(item.ry as bigint)
      ks.push(a)
      sSum += a * item.s
      byAuthor.set(item.author, (byAuthor.get(item.author) ?? 0n) + a * item.e)
    }
    for (const [author, c] of byAuthor) pushSplit(xs, ys, ks, author.x, author.betaX, author.y, c % N)
    // The generator's term carries -Σ a_i·s_i, so a valid batch sums to infinity.
    pushSplit(xs, ys, ks, GX, GENERATOR_BETA_X, GY, (N - (sSum % N)) % N)
    return msmIsInfinity(xs, ys, ks)
  }

  /** a_1 = 1 and 128-bit random a_2..a_u (a zero draw, probability 2^-128, becomes 1). */
  function randomCoefficients(count: number): bigint[] {
    const out: bigint[] = [1n]
    if (count <= 1) return out
    const bytes = random(16 * (count - 1))
    if (!(bytes instanceof Uint8Array) || bytes.length < 16 * (count - 1)) throw new Error('randomBytes returned too few bytes')
    const hex = nobleBytesToHex(bytes)
    for (let i = 1; i < count; i++) {
      const a = BigInt('0x' + hex.slice((i - 1) * 32, i * 32))
      out.push(a === 0n ? 1n : a)
    }
    return out
  }

  /** Single checks of `part`, written to `out` from `at`. */
  function singles(part: readonly Prepared[], out: boolean[], at: number): void {
    for (let i = 0; i < part.length; i++) out[at + i] = single(part[i]!)
  }

  /** Decides every item of one batch (at most `batchSize` items whose R lifted). */
  function resolve(items: readonly Prepared[], out: boolean[], at: number): void {
    if (items.length < minBatch) return singles(items, out, at)
    if (batchHolds(items)) {
      out.fill(true, at, at + items.length)
      return
    }
    search(items, out, at)
  }

  /**
   * Finds the bad signatures of a part known to hold at least one. The part is split in
   * {@link SEARCH_WAYS} and the pieces are checked in turn (the last one is bad without a check
   * when all the others pass), descending into the bad piece. A second bad piece means two or more
   * bad signatures: the bad pieces and those not yet checked are verified one by one. Wherever an
   * attacker puts bad signatures, the search checks at most about 1.15 batches' worth of items
   * (all eight pieces, then one piece's worth per level below) and verifies each signature alone
   * at most once; with every signature bad it stops after two pieces.
   */
  function search(part: readonly Prepared[], out: boolean[], at: number): void {
    for (;;) {
      if (part.length === 1) {
        out[at] = false
        return
      }
      // Pieces too small to batch: checking them one by one is cheaper.
      if (part.length < 2 * minBatch) return singles(part, out, at)
      const ways = Math.min(SEARCH_WAYS, Math.floor(part.length / minBatch))
      const bounds = Array.from({ length: ways + 1 }, (_, j) => Math.round((j * part.length) / ways))
      let bad = -1
      for (let j = 0; j < ways; j++) {
        const from = bounds[j]!
        const to = bounds[j + 1]!
        if (j === ways - 1 && bad === -1) {
          bad = j
          break
        }
        if (batchHolds(part.slice(from, to))) {
          out.fill(true, at + from, at + to)
          continue
        }
        if (bad !== -1) {
          singles(part.slice(bounds[bad]!, bounds[bad + 1]!), out, at + bounds[bad]!)
          singles(part.slice(from), out, at + from)
          return
        }
        bad = j
      }
      at += bounds[bad]!
      part = part.slice(bounds[bad]!, bounds[bad + 1]!)
    }
  }

  /**
   * Checks prepared items (scalars in range, key lifted) in chunks of the current adaptive size:
   * each chunk is batch checked (after lifting R: an r off the curve fails without group
   * arithmetic) or, below `minBatch`, verified one by one.
   */
  function checkPrepared(items: Prepared[]): boolean[] {
    const out = new Array<boolean>(items.length).fill(false)
    if (items.length < minBatch) {
      singles(items, out, 0)
      return out
    }
    for (let start = 0; start < items.length; ) {
      const remaining = items.length - start
      // Just over one chunk left: two even pieces (257 becomes 129 + 128, not 256 + 1).
      const size = remaining > chunkSize && remaining < 2 * chunkSize ? Math.ceil(remaining / 2) : Math.min(chunkSize, remaining)
      const chunk = items.slice(start, start + size)
      let bad = 0
      if (size < minBatch) {
        singles(chunk, out, start)
        for (let i = 0; i < size; i++) if (!out[start + i]) bad++
      } else {
        const batchable: Prepared[] = []
        const where: number[] = []
        for (let i = 0; i < size; i++) {
          const item = chunk[i]!
          item.ry ??= liftX(item.r) ?? null
          if (item.ry === null) {
            counts.prechecked++
            continue
          }
          batchable.push(item)
          where.push(start + i)
        }
        const verdicts = new Array<boolean>(batchable.length).fill(false)
        resolve(batchable, verdicts, 0)
        for (let i = 0; i < where.length; i++) {
          out[where[i]!] = verdicts[i]!
          if (!verdicts[i]) bad++
        }
      }
      adapt(size, bad)
      start += size
    }
    return out
  }

  /**
   * Adapts the chunk size to the bad signatures just seen (those that cost group arithmetic): a
   * clean chunk doubles it back towards `batchSize`; bad ones shrink it so that the next chunk is
   * expected to hold about half a bad signature. A flood of bad signatures thus drops to single
   * verification (no wasted batch checks) after one batch, and batching resumes once chunks come
   * back clean.
   */
  function adapt(size: number, bad: number): void {
    chunkSize = bad === 0 ? Math.min(batchSize, chunkSize * 2) : Math.max(1, Math.floor(size / (2 * bad)))
  }

  /** Range checks and the challenge; `undefined` when the signature fails before any group math. */
  function prepare(rHex: string, sHex: string, author: AuthorPoint | undefined, rBytes: Uint8Array, message: Uint8Array): Prepared | undefined {
    if (author === undefined) return undefined
    const r = BigInt('0x' + rHex)
    const s = BigInt('0x' + sHex)
    // r < p and s < n as BIP-340 requires; r = 0 and s = 0 are also refused, as noble-curves' single
    // verification does (neither occurs in an honest signature), so both paths agree everywhere.
    if (r === 0n || r >= P || s === 0n || s >= N) return undefined
    return { r, s, e: challenge(rBytes, author.bytes, message), author }
  }

  /** The event when its shape is good and its id is the hash of its fields. */
  function hashedEvent(event: unknown): NostrEvent | undefined {
    if (eventShapeProblem(event) !== undefined) return undefined
    const e = event as NostrEvent
    return hashSerialized(e) === e.id ? e : undefined
  }

  /** The signature of a checked event, prepared; `undefined` (and counted) when it fails early. */
  function prepareEvent(e: NostrEvent): Prepared | undefined {
    const buffer = new Uint8Array(64)
    decodeHexInto(e.sig, 0, 32, buffer, 0)
    decodeHexInto(e.id, 0, 32, buffer, 32)
    const item = prepare(e.sig.slice(0, 64), e.sig.slice(64), cache.get(e.pubkey), buffer.subarray(0, 32), buffer.subarray(32))
    if (item === undefined) counts.prechecked++
    return item
  }

  function verifyEvent(event: unknown): boolean {
    try {
      const e = hashedEvent(event)
      const item = e && prepareEvent(e)
      return item !== undefined && single(item)
    } catch {
      return false
    }
  }

  function verifyEvents(events: readonly unknown[]): boolean[] {
    const out = new Array<boolean>(events.length).fill(false)
    try {
      const first = new Map<string, number>()
      const copies: [number, number][] = []
      const items: Prepared[] = []
      const positions: number[] = []
      for (let i = 0; i < events.length; i++) {
        try {
          // Every copy's id is re-hashed: a forged copy reusing an id and signature fails alone.
          const e = hashedEvent(events[i])
          if (e === undefined) continue
          const key = e.id + e.sig + e.pubkey
          const seen = first.get(key)
          if (seen !== undefined) {
            copies.push([i, seen])
            continue
          }
          first.set(key, i)
          const item = prepareEvent(e)
          if (item === undefined) continue
          items.push(item)
          positions.push(i)
        } catch {
          // Hostile getters or proxies: that input is simply not a valid event.
        }
      }
      const verdicts = checkPrepared(items)
      for (let j = 0; j < positions.length; j++) out[positions[j]!] = verdicts[j]!
      for (const [i, from] of copies) out[i] = out[from]!
    } catch {
      // Unreachable in practice (e.g. the random source failing); never throw, never say "valid".
      out.fill(false)
    }
    return out
  }

  function verifySignatures(list: readonly SignatureItem[]): boolean[] {
    const out = new Array<boolean>(list.length).fill(false)
    try {
      const items: Prepared[] = []
      const positions: number[] = []
      for (let i = 0; i < list.length; i++) {
        try {
          const { signature, message, publicKey } = list[i] as SignatureItem
          if (!(signature instanceof Uint8Array) || signature.length !== 64) continue
          if (!(message instanceof Uint8Array)) continue
          if (!(publicKey instanceof Uint8Array) || publicKey.length !== 32) continue
          const sigHex = nobleBytesToHex(signature)
          const item = prepare(sigHex.slice(0, 64), sigHex.slice(64), cache.get(nobleBytesToHex(publicKey)), signature.slice(0, 32), message.slice())
          if (item === undefined) {
            counts.prechecked++
            continue
          }
          items.push(item)
          positions.push(i)
        } catch {
          // A malformed item is not a valid signature.
        }
      }
      const verdicts = checkPrepared(items)
      for (let j = 0; j < positions.length; j++) out[positions[j]!] = verdicts[j]!
    } catch {
      out.fill(false)
    }
    return out
  }

  return {
    verifyEvent,
    verifyEvents,
    verifySignatures,
    stats: () => ({ ...counts, chunkSize, cachedAuthors: cache.size }),
  }
}

const GENERATOR_BETA_X = /* @__PURE__ */ fmul(BETA, GX)

/** Appends k·(x, y) as two 128-bit terms: k1·(x, ±y) + k2·(β·x, ±y). */
function pushSplit(xs: bigint[], ys: bigint[], ks: bigint[], x: bigint, betaX: bigint, y: bigint, k: bigint): void {
  if (k === 0n) return
  const { k1, k1neg, k2, k2neg } = splitScalar(k)
  if (k1 !== 0n) {
    xs.push(x)
    ys.push(k1neg ? P - y : y)
    ks.push(k1)
  }
  if (k2 !== 0n) {
    xs.push(betaX)
    ys.push(k2neg ? P - y : y)
    ks.push(k2)
  }
}

function intOption(value: number | undefined, fallback: number, min: number, field: string): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
    throw new RangeError(`${field} must be an integer >= ${min}, got ${String(value)}`)
  }
  return value
}
