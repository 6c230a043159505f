/**
 * BOLT-11 Lightning invoices, decoded far enough to check a zap: the network, the amount (exact, in
 * millisatoshis), the timestamp and expiry, the payment hash, the description or its hash, the
 * payee, and the signature bytes.
 *
 * See {@link https://github.com/lightning/bolts/blob/master/11-payment-encoding.md | BOLT-11}.
 *
 * Choices (each covered by a test):
 * - Plain bech32 (BIP-173) without its 90-character limit (BOLT-11 lifts it), up to
 *   {@link MAX_BOLT11_LENGTH} characters. Upper-case invoices (QR codes) are accepted, mixed case
 *   is not. A `lightning:` URI prefix is accepted and dropped.
 * - Networks: `bc` (mainnet), `tb` (testnet), `bcrt` (regtest), `tbs` (signet), `sb` (simnet);
 *   any other prefix is refused (BOLT-11: a reader that does not understand the prefix MUST fail).
 * - The amount is a positive integer with no leading zero, then an optional multiplier (`m`, `u`,
 *   `n`, `p`); with `p` the last digit must be 0 (no sub-millisatoshi amounts). It is returned as a
 *   `bigint`: 21 million bitcoin is more millisatoshis than a double holds exactly.
 * - Tagged fields: `p`, `s`, `h` of length other than 52 words and `n` other than 53 are skipped
 *   (as BOLT-11 says), and so is every unknown field; of repeated fields the first usable one wins.
 *   A `d` that is not valid UTF-8 makes the invoice invalid (it would be shown to people). An
 *   invoice without a usable payment hash is invalid.
 * - The signature is *not* verified here (that needs ECDSA public-key recovery, which this layer
 *   does not ship): its 64 bytes, the recovery id (0-3) and the hash it signs are returned so a
 *   caller with an ECDSA library can recover or check the payee. A zap does not rest on it: the
 *   zap receipt is trusted for being signed by the LNURL server's Nostr key.
 * - Feature bits (`9`), routing hints (`r`), fallback addresses (`f`) are not interpreted: paying
 *   is the wallet's job, and the wallet checks them.
 *
 * Every malformed input throws a {@link CryptoError} `BOLT11_INVALID` (never anything else).
 *
 * @module
 */
import { bech32 } from '@scure/base'
import { sha256 } from '@noble/hashes/sha2.js'
import { CryptoError } from '../errors.js'
import { bytesToHex, utf8Encoder, utf8StrictDecoder } from './bytes.js'

/** Longest invoice accepted, in characters (bounds the work on hostile input). */
export const MAX_BOLT11_LENGTH = 7089

/** Default expiry when an invoice has no `x` field (BOLT-11: one hour). */
export const DEFAULT_EXPIRY_SECONDS = 3600

/** Default `min_final_cltv_expiry` when an invoice has no `c` field (BOLT-11: 18). */
export const DEFAULT_MIN_FINAL_CLTV_EXPIRY = 18

/** The network an invoice is for. */
export type Bolt11Network = 'mainnet' | 'testnet' | 'regtest' | 'signet' | 'simnet'

/** The Lightning networks an invoice can be for, by their prefix after `ln`. */
const NETWORKS: Readonly<Record<string, Bolt11Network>> = {
  bc: 'mainnet',
  tb: 'testnet',
  bcrt: 'regtest',
  tbs: 'signet',
  sb: 'simnet',
}

/** Millisatoshis per unit of each multiplier (1 bitcoin = 10^11 msat); `p` is a tenth. */
const MSATS_PER_UNIT = { '': 100_000_000_000n, m: 100_000_000n, u: 100_000n, n: 100n } as const

/** Words (5-bit groups) of the timestamp and of the signature. */
const TIMESTAMP_WORDS = 7
const SIGNATURE_WORDS = 104

/** Tagged field types (the 5-bit value of the bech32 letter). */
const FIELD = { p: 1, r: 3, features: 5, x: 6, f: 9, d: 13, s: 16, n: 19, h: 23, c: 24 } as const

/** A decoded BOLT-11 invoice. */
export interface Bolt11Invoice {
  /** The invoice as given, lower-cased, without a `lightning:` prefix. */
  readonly paymentRequest: string
  /** The human-readable part (`lnbc2500u`). */
  readonly prefix: string
  /** The currency prefix after `ln` (`bc`, `tb`, `bcrt`, `tbs`, `sb`). */
  readonly currency: string
  readonly network: Bolt11Network
  /** The amount asked for, in millisatoshis; `undefined` when the invoice leaves it to the payer. */
  readonly amountMsats: bigint | undefined
  /** When the invoice was made (unix seconds). */
  readonly timestamp: number
  /** Seconds after `timestamp` when the invoice expires (`x`, default 3600). */
  readonly expirySeconds: number
  /** `timestamp + expirySeconds`. */
  readonly expiresAt: number
  /** SHA-256 payment hash (`p`), hex. */
  readonly paymentHash: string
  /** Payment secret (`s`), hex, when present. */
  readonly paymentSecret: string | undefined
  /** Short description (`d`), when present. */
  readonly description: string | undefined
  /** SHA-256 of the description (`h`), hex, when present. Zaps commit to the zap request here. */
  readonly descriptionHash: string | undefined
  /** Payee node public key (`n`, 33 bytes compressed), hex, when present. */
  readonly payee: string | undefined
  /** `min_final_cltv_expiry` (`c`, default 18). */
  readonly minFinalCltvExpiry: number
  /** The signature's 64 bytes (r, s). Not verified here: see the module notes. */
  readonly signature: Uint8Array
  /** Its recovery id, 0 to 3. */
  readonly recoveryId: number
  /** SHA-256 of the signed data (the human-readable part and the data part before the signature). */
  readonly signingHash: Uint8Array
}

function invalid(details: string, cause?: unknown): CryptoError {
  return new CryptoError('BOLT11_INVALID', 'Not a valid BOLT-11 invoice', { details, ...(cause !== undefined && { cause }) })
}

/**
 * Packs 5-bit words into bytes, most significant bit first. With `pad`, the last partial byte is
 * kept with zero bits added (how the signed data is formed); without it, leftover bits are dropped
 * (how field values are read: a 52-word field holds 32 bytes and 4 padding bits).
 */
function wordsToBytes(words: readonly number[], start: number, end: number, pad: boolean): Uint8Array {
  const bits = (end - start) * 5
  const out = new Uint8Array(pad ? Math.ceil(bits / 8) : Math.floor(bits / 8))
  let acc = 0
  let accBits = 0
  let index = 0
  for (let i = start; i < end; i++) {
    acc = ((acc << 5) | words[i]!) & 0xfff
    accBits += 5
    if (accBits >= 8) {
      accBits -= 8
      if (index < out.length) out[index++] = (acc >> accBits) & 0xff
    }
  }
  if (pad && accBits > 0 && index < out.length) out[index] = (acc << (8 - accBits)) & 0xff
  return out
}

/** A big-endian number of 5-bit words; refused beyond the safe-integer range. */
function wordsToNumber(words: readonly number[], start: number, end: number, field: string): number {
  let value = 0
  for (let i = start; i < end; i++) {
    if (value > (Number.MAX_SAFE_INTEGER - 31) / 32) throw invalid(`${field} is too large`)
    value = value * 32 + words[i]!
  }
  return value
}

/** The human-readable part: network and amount. */
function parsePrefix(prefix: string): { currency: string; network: Bolt11Network; amountMsats: bigint | undefined } {
  const match = /^ln([a-z]+?)(?:([0-9]+)([munp]?))?$/.exec(prefix)
  if (match === null) throw invalid('the prefix is not ln + currency + amount')
  const currency = match[1]!
  const network = Object.hasOwn(NETWORKS, currency) ? NETWORKS[currency] : undefined
  if (network === undefined) throw invalid(`unknown network prefix ln${currency}`)
  const digits = match[2]
  if (digits === undefined) return { currency, network, amountMsats: undefined }
  if (digits.startsWith('0')) throw invalid('the amount has a leading zero')
  const multiplier = match[3] as '' | 'm' | 'u' | 'n' | 'p'
  const amount = BigInt(digits)
  if (multiplier === 'p') {
    // A pico-bitcoin is a tenth of a millisatoshi, which no HTLC can carry.
    if (amount % 10n !== 0n) throw invalid('a p amount must end in 0 (sub-millisatoshi precision)')
    return { currency, network, amountMsats: amount / 10n }
  }
  return { currency, network, amountMsats: amount * MSATS_PER_UNIT[multiplier] }
}

/**
 * Decodes a BOLT-11 invoice.
 *
 * @param invoice - the invoice (`lnbc...`, any case but not mixed; a `lightning:` prefix is dropped).
 * @returns the decoded fields; see {@link Bolt11Invoice}.
 * @throws CryptoError `BOLT11_INVALID` for anything that is not a well-formed invoice (bad bech32
 * or checksum, unknown network, malformed amount, truncated fields, no payment hash, a description
 * that is not UTF-8, a recovery id above 3), with the reason in `details`.
 * @example
 * ```ts
 * import { decodeBolt11 } from 'nostr-rendezvous/crypto'
 * const invoice = decodeBolt11('lnbc2500u1pvjluezpp5qqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqypqdq5xysxxatsyp3k7enxv4jsxqzpuaztrnwngzn3kdzw5hydlzf03qdgm2hdq27cqv3agm2awhz5se903vruatfhq77w3ls4evs3ch9zw97j25emudupq63nyw24cg27h2rspfj9srp')
 * invoice.amountMsats // 250000000n
 * invoice.description // '1 cup coffee'
 * ```
 */
export function decodeBolt11(invoice: string): Bolt11Invoice {
  if (typeof invoice !== 'string') throw invalid('not a string')
  let text = invoice.trim()
  if (/^lightning:/i.test(text)) text = text.slice('lightning:'.length)
  if (text.length > MAX_BOLT11_LENGTH) throw invalid(`longer than ${MAX_BOLT11_LENGTH} characters`)
  let prefix: string
  let words: number[]
  try {
    const decoded = bech32.decode(text as `${string}1${string}`, false)
    prefix = decoded.prefix
    words = Array.from(decoded.words)
  } catch (error) {
    throw invalid('not bech32, or a bad checksum', error)
  }
  const { currency, network, amountMsats } = parsePrefix(prefix)
  if (words.length < TIMESTAMP_WORDS + SIGNATURE_WORDS) throw invalid('too short for a timestamp and a signature')
  const timestamp = wordsToNumber(words, 0, TIMESTAMP_WORDS, 'timestamp')
  const end = words.length - SIGNATURE_WORDS

  let paymentHash: string | undefined
  let paymentSecret: string | undefined
  let description: string | undefined
  let descriptionHash: string | undefined
  let payee: string | undefined
  let expirySeconds: number | undefined
  let minFinalCltvExpiry: number | undefined
  let pos = TIMESTAMP_WORDS
  while (pos < end) {
    if (pos + 3 > end) throw invalid('a tagged field is cut short')
    const type = words[pos]!
    const length = words[pos + 1]! * 32 + words[pos + 2]!
    const start = pos + 3
    const stop = start + length
    if (stop > end) throw invalid('a tagged field runs into the signature')
    pos = stop
    switch (type) {
      case FIELD.p:
        if (length === 52 && paymentHash === undefined) paymentHash = bytesToHex(wordsToBytes(words, start, stop, false))
        break
      case FIELD.s:
        if (length === 52 && paymentSecret === undefined) paymentSecret = bytesToHex(wordsToBytes(words, start, stop, false))
        break
      case FIELD.h:
        if (length === 52 && descriptionHash === undefined) descriptionHash = bytesToHex(wordsToBytes(words, start, stop, false))
        break
      case FIELD.n:
        if (length === 53 && payee === undefined) payee = bytesToHex(wordsToBytes(words, start, stop, false))
        break
      case FIELD.d:
        if (description === undefined) {
          try {
            description = utf8StrictDecoder.decode(wordsToBytes(words, start, stop, false))
          } catch (error) {
            throw invalid('the description is not valid UTF-8', error)
          }
        }
        break
      case FIELD.x:
        if (expirySeconds === undefined) expirySeconds = wordsToNumber(words, start, stop, 'expiry')
        break
      case FIELD.c:
        if (minFinalCltvExpiry === undefined) minFinalCltvExpiry = wordsToNumber(words, start, stop, 'min_final_cltv_expiry')
        break
      default:
        // Unknown fields, and known ones not needed to check a zap (r, f, 9, t), are skipped.
        break
    }
  }
  if (paymentHash === undefined) throw invalid('no payment hash (p) of 52 words')

  const signatureBytes = wordsToBytes(words, end, words.length, false)
  const recoveryId = signatureBytes[64]!
  if (recoveryId > 3) throw invalid('the signature recovery id is above 3')
  const hrpBytes = utf8Encoder.encode(prefix)
  const dataBytes = wordsToBytes(words, 0, end, true)
  const signed = new Uint8Array(hrpBytes.length + dataBytes.length)
  signed.set(hrpBytes)
  signed.set(dataBytes, hrpBytes.length)
  const expiry = expirySeconds ?? DEFAULT_EXPIRY_SECONDS
  return {
    paymentRequest: text.toLowerCase(),
    prefix,
    currency,
    network,
    amountMsats,
    timestamp,
    expirySeconds: expiry,
    expiresAt: timestamp + expiry,
    paymentHash,
    paymentSecret,
    description,
    descriptionHash,
    payee,
    minFinalCltvExpiry: minFinalCltvExpiry ?? DEFAULT_MIN_FINAL_CLTV_EXPIRY,
    signature: signatureBytes.slice(0, 64),
    recoveryId,
    signingHash: sha256(signed),
  }
}
