/**
 * BOLT-11 decoding: the specification's own example invoices (valid and invalid, verbatim), their
 * signatures recovered to the example node key (which proves the signature bytes, recovery id and
 * signed hash are cut out right), round trips through a real encoder with a recoverable
 * signature, the amount rules, a differential check of amounts against nostr-tools, and a fuzz in
 * which nothing but `BOLT11_INVALID` is ever thrown.
 */
import fc from 'fast-check'
import { getSatoshisAmountFromBolt11 } from 'nostr-tools/nip57'
import { describe, expect, it } from 'vitest'
import { bytesToHex } from '../../src/crypto/bytes.js'
import { MAX_BOLT11_LENGTH, decodeBolt11 } from '../../src/crypto/bolt11.js'
import { generateSecretKey } from '../../src/crypto/keys.js'
import { CryptoError, isRendezvousError } from '../../src/errors.js'
import { encodeBolt11, recoverPayee } from '../helpers/lnurl-server.js'
import { secp256k1 } from '@noble/curves/secp256k1.js'
import { bech32 } from '@scure/base'

/** Every example is signed by this node (BOLT-11 "Examples": priv_key e126f68f...). */
const EXAMPLE_NODE = '03e7156ae33b0a208d0744199163177e909e80176e55d97a2f221ede0f934dd9ad'
const HASH_0102 = '0001020304050607080900010203040506070809000102030405060708090102'
/** SHA-256 of the long "One piece of chocolate cake, ..." description. */
const CAKE_HASH = '3925b6f67e2c340036ed12093dd44e0368df1b6ea26c53dbe4811f58fd5db8c1'

interface Example {
  readonly name: string
  readonly invoice: string
  readonly network: string
  readonly amountMsats: bigint | undefined
  readonly timestamp: number
  readonly paymentHash: string
  readonly description?: string
  readonly descriptionHash?: string
  readonly expirySeconds?: number
  readonly minFinalCltvExpiry?: number
  readonly paymentSecret?: string
  /** From the breakdown, when the specification gives them. */
  readonly signature?: string
  readonly recoveryId?: number
  readonly signingHash?: string
}

// The valid examples of BOLT-11 "Examples", verbatim.
const VALID: readonly Example[] = [
  {
    name: 'donation of any amount',
    invoice:
      'lnbc1pvjluezpp5qqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqypqdpl2pkx2ctnv5sxxmmwwd5kgetjypeh2ursdae8g6twvus8g6rfwvs8qun0dfjkxaq8rkx3yf5tcsyz3d73gafnh3cax9rn449d9p5uxz9ezhhypd0elx87sjle52x86fux2ypatgddc6k63n7erqz25le42c4u4ecky03ylcqca784w',
    network: 'mainnet',
    amountMsats: undefined,
    timestamp: 1496314658,
    paymentHash: HASH_0102,
    description: 'Please consider supporting this project',
    signature:
      '38ec6891345e204145be8a3a99de38e98a39d6a569434e1845c8af7205afcfcc7f425fcd1463e93c32881ead0d6e356d467ec8c02553f9aab15e5738b11f127f',
    recoveryId: 0,
    signingHash: 'c3d4e83f646fa79a393d75277b1d858db1d1f7ab7137dcb7835db2ecd518e1c9',
  },
  {
    name: '$3 for a cup of coffee within one minute',
    invoice:
      'lnbc2500u1pvjluezpp5qqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqypqdq5xysxxatsyp3k7enxv4jsxqzpuaztrnwngzn3kdzw5hydlzf03qdgm2hdq27cqv3agm2awhz5se903vruatfhq77w3ls4evs3ch9zw97j25emudupq63nyw24cg27h2rspfj9srp',
    network: 'mainnet',
    amountMsats: 250_000_000n,
    timestamp: 1496314658,
    paymentHash: HASH_0102,
    description: '1 cup coffee',
    expirySeconds: 60,
    signature:
      'e89639ba6814e36689d4b91bf125f10351b55da057b00647a8dabaeb8a90c95f160f9d5a6e0f79d1fc2b964238b944e2fa4aa677c6f020d466472ab842bd750e',
    recoveryId: 1,
    signingHash: '3cd6ef07744040556e01be64f68fd9e1565fb47d78c42308b1ee005aca5a0d86',
  },
  {
    name: 'a cup of nonsense (UTF-8 description)',
    invoice:
      'lnbc2500u1pvjluezpp5qqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqypqdpquwpc4curk03c9wlrswe78q4eyqc7d8d0xqzpuyk0sg5g70me25alkluzd2x62aysf2pyy8edtjeevuv4p2d5p76r4zkmneet7uvyakky2zr4cusd45tftc9c5fh0nnqpnl2jfll544esqchsrny',
    network: 'mainnet',
    amountMsats: 250_000_000n,
    timestamp: 1496314658,
    paymentHash: HASH_0102,
    description: 'ナンセンス 1杯',
    expirySeconds: 60,
    recoveryId: 0,
    signingHash: '197a3061f4f333d86669b8054592222b488f3c657a9d3e74f34f586fb3e7931c',
  },
  {
    name: '$24 for a list of things (hashed description)',
    invoice:
      'lnbc20m1pvjluezpp5qqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqypqhp58yjmdan79s6qqdhdzgynm4zwqd5d7xmw5fk98klysy043l2ahrqscc6gd6ql3jrc5yzme8v4ntcewwz5cnw92tz0pc8qcuufvq7khhr8wpald05e92xw006sq94mg8v2ndf4sefvf9sygkshp5zfem29trqq2yxxz7',
    network: 'mainnet',
    amountMsats: 2_000_000_000n,
    timestamp: 1496314658,
    paymentHash: HASH_0102,
    descriptionHash: CAKE_HASH,
    recoveryId: 0,
    signingHash: 'b6025e8a10539dddbcbe6840a9650707ae3f147b8dcfda338561ada710508916',
  },
  {
    name: 'testnet with a fallback address',
    invoice:
      'lntb20m1pvjluezhp58yjmdan79s6qqdhdzgynm4zwqd5d7xmw5fk98klysy043l2ahrqspp5qqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqypqfpp3x9et2e20v6pu37c5d9vax37wxq72un98kmzzhznpurw9sgl2v0nklu2g4d0keph5t7tj9tcqd8rexnd07ux4uv2cjvcqwaxgj7v4uwn5wmypjd5n69z2xm3xgksg28nwht7f6zspwp3f9t',
    network: 'testnet',
    amountMsats: 2_000_000_000n,
    timestamp: 1496314658,
    paymentHash: HASH_0102,
    descriptionHash: CAKE_HASH,
    recoveryId: 1,
    signingHash: '00c17b39642becc064615ef196a6cc0cce262f1d8dde7b3c23694aeeda473abe',
  },
  {
    name: 'mainnet with a fallback address and routing hints',
    invoice:
      'lnbc20m1pvjluezpp5qqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqypqhp58yjmdan79s6qqdhdzgynm4zwqd5d7xmw5fk98klysy043l2ahrqsfpp3qjmp7lwpagxun9pygexvgpjdc4jdj85fr9yq20q82gphp2nflc7jtzrcazrra7wwgzxqc8u7754cdlpfrmccae92qgzqvzq2ps8pqqqqqqpqqqqq9qqqvpeuqafqxu92d8lr6fvg0r5gv0heeeqgcrqlnm6jhphu9y00rrhy4grqszsvpcgpy9qqqqqqgqqqqq7qqzqj9n4evl6mr5aj9f58zp6fyjzup6ywn3x6sk8akg5v4tgn2q8g4fhx05wf6juaxu9760yp46454gpg5mtzgerlzezqcqvjnhjh8z3g2qqdhhwkj',
    network: 'mainnet',
    amountMsats: 2_000_000_000n,
    timestamp: 1496314658,
    paymentHash: HASH_0102,
    descriptionHash: CAKE_HASH,
    recoveryId: 0,
    signingHash: 'ff68246c5ad4b48c90cf8ff3b33b5cea61e62f08d0e67910ffdce1edecade71b',
  },
  {
    name: 'mainnet with a P2SH fallback',
    invoice:
      'lnbc20m1pvjluezhp58yjmdan79s6qqdhdzgynm4zwqd5d7xmw5fk98klysy043l2ahrqspp5qqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqypqfppj3a24vwu6r8ejrss3axul8rxldph2q7z9kmrgvr7xlaqm47apw3d48zm203kzcq357a4ls9al2ea73r8jcceyjtya6fu5wzzpe50zrge6ulk4nvjcpxlekvmxl6qcs9j3tz0469gq5g658y',
    network: 'mainnet',
    amountMsats: 2_000_000_000n,
    timestamp: 1496314658,
    paymentHash: HASH_0102,
    descriptionHash: CAKE_HASH,
    recoveryId: 0,
    signingHash: '64f1ff500bcc62a1b211cd6db84a1d93d1f77c6a132904465b6ff912420176be',
  },
  {
    name: 'mainnet with a P2WPKH fallback',
    invoice:
      'lnbc20m1pvjluezhp58yjmdan79s6qqdhdzgynm4zwqd5d7xmw5fk98klysy043l2ahrqspp5qqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqypqfppqw508d6qejxtdg4y5r3zarvary0c5xw7kepvrhrm9s57hejg0p662ur5j5cr03890fa7k2pypgttmh4897d3raaq85a293e9jpuqwl0rnfuwzam7yr8e690nd2ypcq9hlkdwdvycqa0qza8',
    network: 'mainnet',
    amountMsats: 2_000_000_000n,
    timestamp: 1496314658,
    paymentHash: HASH_0102,
    descriptionHash: CAKE_HASH,
    recoveryId: 0,
    signingHash: 'b3df27aaa01d891cc9de272e7609557bdf4bd6fd836775e4470502f71307b627',
  },
  {
    name: 'mainnet with a P2WSH fallback',
    invoice:
      'lnbc20m1pvjluezhp58yjmdan79s6qqdhdzgynm4zwqd5d7xmw5fk98klysy043l2ahrqspp5qqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqypqfp4qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3q28j0v3rwgy9pvjnd48ee2pl8xrpxysd5g44td63g6xcjcu003j3qe8878hluqlvl3km8rm92f5stamd3jw763n3hck0ct7p8wwj463cql26ava',
    network: 'mainnet',
    amountMsats: 2_000_000_000n,
    timestamp: 1496314658,
    paymentHash: HASH_0102,
    descriptionHash: CAKE_HASH,
    recoveryId: 0,
    signingHash: '399a8b167029fda8564fd2e99912236b0b8017e7d17e416ae17307812c92cf42',
  },
  {
    name: 'amount in pico-BTC, expiry one week',
    invoice:
      'lnbc9678785340p1pwmna7lpp5gc3xfm08u9qy06djf8dfflhugl6p7lgza6dsjxq454gxhj9t7a0sd8dgfkx7cmtwd68yetpd5s9xar0wfjn5gpc8qhrsdfq24f5ggrxdaezqsnvda3kkum5wfjkzmfqf3jkgem9wgsyuctwdus9xgrcyqcjcgpzgfskx6eqf9hzqnteypzxz7fzypfhg6trddjhygrcyqezcgpzfysywmm5ypxxjemgw3hxjmn8yptk7untd9hxwg3q2d6xjcmtv4ezq7pqxgsxzmnyyqcjqmt0wfjjq6t5v4khxxqyjw5qcqp2rzjq0gxwkzc8w6323m55m4jyxcjwmy7stt9hwkwe2qxmy8zpsgg7jcuwz87fcqqeuqqqyqqqqlgqqqqn3qq9qn07ytgrxxzad9hc4xt3mawjjt8znfv8xzscs7007v9gh9j569lencxa8xeujzkxs0uamak9aln6ez02uunw6rd2ht2sqe4hz8thcdagpleym0j',
    network: 'mainnet',
    amountMsats: 967_878_534n,
    timestamp: 1572468703,
    paymentHash: '462264ede7e14047e9b249da94fefc47f41f7d02ee9b091815a5506bc8abf75f',
    description:
      'Blockstream Store: 88.85 USD for Blockstream Ledger Nano S x 1, "Back In My Day" Sticker x 2, "I Got Lightning Working" Sticker x 2 and 1 more items',
    expirySeconds: 604800,
    minFinalCltvExpiry: 10,
  },
  {
    name: 'coffee beans with a payment secret and features',
    invoice:
      'lnbc25m1pvjluezpp5qqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqypqdq5vdhkven9v5sxyetpdeessp5zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zygs9q5sqqqqqqqqqqqqqqqpqsq67gye39hfg3zd8rgc80k32tvy9xk2xunwm5lzexnvpx6fd77en8qaq424dxgt56cag2dpt359k3ssyhetktkpqh24jqnjyw6uqd08sgptq44qu',
    network: 'mainnet',
    amountMsats: 2_500_000_000n,
    timestamp: 1496314658,
    paymentHash: HASH_0102,
    description: 'coffee beans',
    paymentSecret: '1111111111111111111111111111111111111111111111111111111111111111',
  },
  {
    name: 'the same, all upper case',
    invoice:
      'LNBC25M1PVJLUEZPP5QQQSYQCYQ5RQWZQFQQQSYQCYQ5RQWZQFQQQSYQCYQ5RQWZQFQYPQDQ5VDHKVEN9V5SXYETPDEESSP5ZYG3ZYG3ZYG3ZYG3ZYG3ZYG3ZYG3ZYG3ZYG3ZYG3ZYG3ZYG3ZYGS9Q5SQQQQQQQQQQQQQQQPQSQ67GYE39HFG3ZD8RGC80K32TVY9XK2XUNWM5LZEXNVPX6FD77EN8QAQ424DXGT56CAG2DPT359K3SSYHETKTKPQH24JQNJYW6UQD08SGPTQ44QU',
    network: 'mainnet',
    amountMsats: 2_500_000_000n,
    timestamp: 1496314658,
    paymentHash: HASH_0102,
    description: 'coffee beans',
    paymentSecret: '1111111111111111111111111111111111111111111111111111111111111111',
  },
  {
    name: 'the same, with fields that must be ignored',
    invoice:
      'lnbc25m1pvjluezpp5qqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqypqdq5vdhkven9v5sxyetpdeessp5zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zygs9q5sqqqqqqqqqqqqqqqpqsq2qrqqqfppnqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqppnqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqpp4qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqhpnqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqhp4qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqspnqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqsp4qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqnp5qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqnpkqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqq2jxxfsnucm4jf4zwtznpaxphce606fvhvje5x7d4gw7n73994hgs7nteqvenq8a4ml8aqtchv5d9pf7l558889hp4yyrqv6a7zpq9fgpskqhza',
    network: 'mainnet',
    amountMsats: 2_500_000_000n,
    timestamp: 1496314658,
    paymentHash: HASH_0102,
    description: 'coffee beans',
    paymentSecret: '1111111111111111111111111111111111111111111111111111111111111111',
  },
]

// The invalid examples of BOLT-11 "Examples of Invalid Invoices", verbatim.
const INVALID = {
  badChecksum:
    'lnbc2500u1pvjluezpp5qqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqypqdpquwpc4curk03c9wlrswe78q4eyqc7d8d0xqzpuyk0sg5g70me25alkluzd2x62aysf2pyy8edtjeevuv4p2d5p76r4zkmneet7uvyakky2zr4cusd45tftc9c5fh0nnqpnl2jfll544esqchsrnt',
  noSeparator:
    'pvjluezpp5qqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqypqdpquwpc4curk03c9wlrswe78q4eyqc7d8d0xqzpuyk0sg5g70me25alkluzd2x62aysf2pyy8edtjeevuv4p2d5p76r4zkmneet7uvyakky2zr4cusd45tftc9c5fh0nnqpnl2jfll544esqchsrny',
  mixedCase:
    'LNBC2500u1pvjluezpp5qqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqypqdpquwpc4curk03c9wlrswe78q4eyqc7d8d0xqzpuyk0sg5g70me25alkluzd2x62aysf2pyy8edtjeevuv4p2d5p76r4zkmneet7uvyakky2zr4cusd45tftc9c5fh0nnqpnl2jfll544esqchsrny',
  tooShort: 'lnbc1pvjluezpp5qqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqypqdpl2pkx2ctnv5sxxmmwwd5kgetjypeh2ursdae8g6na6hlh',
  badMultiplier:
    'lnbc2500x1pvjluezpp5qqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqypqdq5xysxxatsyp3k7enxv4jsxqzpujr6jxr9gq9pv6g46y7d20jfkegkg4gljz2ea2a3m9lmvvr95tq2s0kvu70u3axgelz3kyvtp2ywwt0y8hkx2869zq5dll9nelr83zzqqpgl2zg',
  subMillisatoshi:
    'lnbc2500000001p1pvjluezpp5qqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqypqdq5xysxxatsyp3k7enxv4jsxqzpu7hqtk93pkf7sw55rdv4k9z2vj050rxdr6za9ekfs3nlt5lr89jqpdmxsmlj9urqumg0h9wzpqecw7th56tdms40p2ny9q4ddvjsedzcplva53s',
  // These two are well-formed: what is wrong is for the signer and the wallet to find.
  unrecoverable:
    'lnbc2500u1pvjluezpp5qqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqypqdq5xysxxatsyp3k7enxv4jsxqzpuaxtrnwngzn3kdzw5hydlzf03qdgm2hdq27cqv3agm2awhz5se903vruatfhq77w3ls4evs3ch9zw97j25emudupq63nyw24cg27h2rspk28uwq',
  unknownEvenFeature:
    'lnbc25m1pvjluezpp5qqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqypqdq5vdhkven9v5sxyetpdeessp5zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zygs9q4psqqqqqqqqqqqqqqqpqsqq40wa3khl49yue3zsgm26jrepqr2eghqlx86rttutve3ugd05em86nsefzh4pfurpd9ek9w2vp95zxqnfe2u7ckudyahsa52q66tgzcp6t2dyk',
}

function expectInvalid(input: unknown): CryptoError {
  try {
    decodeBolt11(input as string)
  } catch (error) {
    expect(isRendezvousError(error, 'BOLT11_INVALID')).toBe(true)
    expect(error).toBeInstanceOf(CryptoError)
    return error as CryptoError
  }
  throw new Error('expected BOLT11_INVALID')
}

describe('BOLT-11 examples', () => {
  it.each(VALID)('decodes "$name"', (example) => {
    const invoice = decodeBolt11(example.invoice)
    expect(invoice.paymentRequest).toBe(example.invoice.toLowerCase())
    expect(invoice.network).toBe(example.network)
    expect(invoice.amountMsats).toBe(example.amountMsats)
    expect(invoice.timestamp).toBe(example.timestamp)
    expect(invoice.paymentHash).toBe(example.paymentHash)
    expect(invoice.description).toBe(example.description)
    expect(invoice.descriptionHash).toBe(example.descriptionHash)
    expect(invoice.expirySeconds).toBe(example.expirySeconds ?? 3600)
    expect(invoice.expiresAt).toBe(example.timestamp + (example.expirySeconds ?? 3600))
    expect(invoice.minFinalCltvExpiry).toBe(example.minFinalCltvExpiry ?? 18)
    expect(invoice.paymentSecret).toBe(example.paymentSecret)
    expect(invoice.payee).toBeUndefined()
    if (example.signature !== undefined) expect(bytesToHex(invoice.signature)).toBe(example.signature)
    if (example.recoveryId !== undefined) expect(invoice.recoveryId).toBe(example.recoveryId)
    if (example.signingHash !== undefined) expect(bytesToHex(invoice.signingHash)).toBe(example.signingHash)
    // The decoded signature, recovery id and signed hash recover the example node key.
    expect(recoverPayee(invoice.signature, invoice.recoveryId, invoice.signingHash)).toBe(EXAMPLE_NODE)
  })

  it('the upper-case example decodes exactly as the lower-case one', () => {
    const upper = decodeBolt11(VALID.find((e) => e.name === 'the same, all upper case')!.invoice)
    const lower = decodeBolt11(VALID.find((e) => e.name === 'coffee beans with a payment secret and features')!.invoice)
    expect(upper).toEqual(lower)
  })

  it('skips p, h, s, n fields of the wrong length and unknown fields (the first usable one wins)', () => {
    const invoice = decodeBolt11(VALID.find((e) => e.name === 'the same, with fields that must be ignored')!.invoice)
    // Its extra p/h/s fields are 51 or 53 words long, its n fields 52 and 54: all skipped.
    expect(invoice.descriptionHash).toBeUndefined()
    expect(invoice.payee).toBeUndefined()
  })

  it.each([
    ['bad checksum', INVALID.badChecksum],
    ['no separator', INVALID.noSeparator],
    ['mixed case', INVALID.mixedCase],
    ['too short', INVALID.tooShort],
    ['invalid multiplier', INVALID.badMultiplier],
    ['sub-millisatoshi precision', INVALID.subMillisatoshi],
  ])('refuses the invalid example "%s" with BOLT11_INVALID', (_name, invoice) => {
    expectInvalid(invoice)
  })

  it('reads the "signature is not recoverable" example, whose signature then does not recover (checking it is the caller\'s)', () => {
    const invoice = decodeBolt11(INVALID.unrecoverable)
    expect(recoverPayee(invoice.signature, invoice.recoveryId, invoice.signingHash)).not.toBe(EXAMPLE_NODE)
  })

  it('reads the "unknown even feature" example: feature bits are for the wallet that pays', () => {
    expect(decodeBolt11(INVALID.unknownEvenFeature).description).toBe('coffee beans')
  })

  it('agrees with nostr-tools on the amount of every mainnet example', () => {
    for (const example of VALID.filter((e) => e.network === 'mainnet' && e.amountMsats !== undefined)) {
      const ours = Number(decodeBolt11(example.invoice).amountMsats) / 1000
      expect(getSatoshisAmountFromBolt11(example.invoice.toLowerCase())).toBeCloseTo(ours, 6)
    }
  })
})

describe('decodeBolt11 rules', () => {
  const nodeKey = generateSecretKey()

  it('reads the payee (n), networks, a lightning: prefix', () => {
    const invoice = encodeBolt11({ nodeKey, currency: 'bcrt', amountMsats: 21_000, description: 'x', includePayee: true })
    const decoded = decodeBolt11(`lightning:${invoice.toUpperCase()}`)
    expect(decoded.network).toBe('regtest')
    expect(decoded.payee).toBe(bytesToHex(secp256k1.getPublicKey(nodeKey, true)))
    expect(decodeBolt11(encodeBolt11({ nodeKey, currency: 'tbs', description: 'x' })).network).toBe('signet')
    expect(decodeBolt11(encodeBolt11({ nodeKey, currency: 'sb', description: 'x' })).network).toBe('simnet')
  })

  it('converts each multiplier exactly, beyond the safe-integer range', () => {
    const cases: Array<[string, bigint]> = [
      ['lnbc1', 100_000_000_000n],
      ['lnbc21000000', 2_100_000_000_000_000_000n],
      ['lnbc3m', 300_000_000n],
      ['lnbc7u', 700_000n],
      ['lnbc9n', 900n],
      ['lnbc10p', 1n],
      ['lnbc12340p', 1_234n],
    ]
    for (const [hrp, msats] of cases) expect(decodeBolt11(encodeBolt11({ nodeKey, hrp, description: 'x' })).amountMsats).toBe(msats)
  })

  it('refuses leading zeros, a zero amount, an unknown network, a p amount not ending in 0', () => {
    for (const hrp of ['lnbc0250u', 'lnbc0', 'lnbc0m', 'lnxy1m', 'lnbc15p', 'lnbc1k', 'ln1m', 'lnbc1mm']) {
      expectInvalid(encodeBolt11({ nodeKey, hrp, description: 'x' }))
    }
  })

  it('refuses an invoice without a payment hash, a description that is not UTF-8, a recovery id above 3', () => {
    expectInvalid(encodeBolt11({ nodeKey, amountMsats: 1000, description: 'x', omitPaymentHash: true }))
    // A p field of 51 words is skipped (BOLT-11), which leaves none.
    const short = encodeBolt11({ nodeKey, amountMsats: 1000, description: 'x', omitPaymentHash: true, extraFields: [{ type: 1, words: new Array(51).fill(0) }] })
    expect(expectInvalid(short).details).toMatch(/payment hash/)
    const invalidUtf8 = encodeBolt11({ nodeKey, amountMsats: 1000, extraFields: [{ type: 13, words: [31, 31, 31, 31] }] })
    expect(expectInvalid(invalidUtf8).details).toMatch(/UTF-8/)
  })

  it('refuses more than the length cap without decoding', () => {
    const long = encodeBolt11({ nodeKey, amountMsats: 1000, description: 'd'.repeat(600) })
    expect(long.length).toBeLessThan(MAX_BOLT11_LENGTH)
    expect(decodeBolt11(long).description).toBe('d'.repeat(600))
    expectInvalid('lnbc1' + 'q'.repeat(MAX_BOLT11_LENGTH))
  })

  it('round-trips what a real encoder writes, and the signature recovers the node key (fast-check)', () => {
    const payee = bytesToHex(secp256k1.getPublicKey(nodeKey, true))
    fc.assert(
      fc.property(
        fc.record({
          amountMsats: fc.option(fc.bigInt({ min: 1n, max: 2_100_000_000_000_000_000n }), { nil: undefined }),
          timestamp: fc.integer({ min: 0, max: 2 ** 35 - 1 }),
          paymentHash: fc.uint8Array({ minLength: 32, maxLength: 32 }),
          description: fc.option(fc.string({ maxLength: 200, unit: 'grapheme' }), { nil: undefined }),
          descriptionHash: fc.option(fc.uint8Array({ minLength: 32, maxLength: 32 }), { nil: undefined }),
          expirySeconds: fc.option(fc.integer({ min: 0, max: 2 ** 40 }), { nil: undefined }),
          currency: fc.constantFrom('bc', 'tb', 'bcrt', 'tbs', 'sb'),
        }),
        (fields) => {
          const invoice = encodeBolt11({ nodeKey, includePayee: true, ...fields })
          const decoded = decodeBolt11(invoice)
          expect(decoded.amountMsats).toBe(fields.amountMsats)
          expect(decoded.timestamp).toBe(fields.timestamp)
          expect(decoded.paymentHash).toBe(bytesToHex(fields.paymentHash))
          expect(decoded.description).toBe(fields.description)
          expect(decoded.descriptionHash).toBe(fields.descriptionHash === undefined ? undefined : bytesToHex(fields.descriptionHash))
          expect(decoded.expirySeconds).toBe(fields.expirySeconds ?? 3600)
          expect(decoded.payee).toBe(payee)
          expect(recoverPayee(decoded.signature, decoded.recoveryId, decoded.signingHash)).toBe(payee)
          if (fields.currency === 'bc' && fields.amountMsats !== undefined && fields.amountMsats < 2n ** 53n) {
            expect(getSatoshisAmountFromBolt11(invoice)).toBeCloseTo(Number(fields.amountMsats) / 1000, 3)
          }
        },
      ),
      { seed: 57, numRuns: 150 },
    )
  })
})

describe('decodeBolt11 fuzz: only BOLT11_INVALID is ever thrown', () => {
  const valid = VALID.map((e) => e.invoice.toLowerCase())
  const check = (input: unknown): void => {
    try {
      decodeBolt11(input as string)
    } catch (error) {
      if (!isRendezvousError(error, 'BOLT11_INVALID')) throw error
    }
  }

  it('on mutated, truncated and spliced example invoices', () => {
    const alphabet = 'qpzry9x8gf2tvdw0s3jn54khce6mua7l1'
    fc.assert(
      fc.property(
        fc.constantFrom(...valid),
        fc.array(fc.tuple(fc.nat(), fc.constantFrom(...alphabet)), { maxLength: 4 }),
        fc.nat(),
        fc.boolean(),
        (invoice, edits, cut, truncate) => {
          let text = invoice
          for (const [at, ch] of edits) {
            const i = at % text.length
            text = text.slice(0, i) + ch + text.slice(i + 1)
          }
          if (truncate) text = text.slice(0, cut % (text.length + 1))
          check(text)
        },
      ),
      { seed: 11, numRuns: 2000 },
    )
  })

  it('on arbitrary strings and values', () => {
    fc.assert(fc.property(fc.oneof(fc.string(), fc.anything()), check), { seed: 12, numRuns: 1000 })
    for (const value of [null, undefined, 42, {}, [], 'ln', 'lnbc1', 'lnbc1qqqqqqqqqqqq', '1'.repeat(100)]) check(value)
  })

  it('on well-checksummed junk: random words under every prefix', () => {
    // The checksum is right here, so every path past bech32 is exercised.
    fc.assert(
      fc.property(
        fc.constantFrom('lnbc', 'lnbc10p', 'lnbc15p', 'lntb20m', 'lnbc0', 'lnbcrt1u', 'lnxy', 'ln', 'lnbc99999999999999999999999999'),
        fc.array(fc.integer({ min: 0, max: 31 }), { maxLength: 400 }),
        (prefix, words) => check(bech32.encode(prefix, words, false)),
      ),
      { seed: 13, numRuns: 2000 },
    )
  })
})
