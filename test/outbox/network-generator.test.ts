import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { getPublicKey } from '../../src/crypto/keys.js'
import { hexToBytes } from '../../src/crypto/bytes.js'
import {
  CANDIDATE_WEIGHTS,
  createRng,
  declaredCandidates,
  generateNetwork,
  holdingRelays,
  knownRelays,
  networkStats,
  pickFollows,
  type SyntheticNetwork,
} from '../helpers/network-generator.js'

/** A network as plain data (censor sets as sorted arrays) so that two can be compared with toEqual. */
function snapshot(network: SyntheticNetwork): unknown {
  return {
    relays: network.relays.map((r) => ({ ...r, censors: [...r.censors].sort() })),
    people: network.people,
    communities: network.communities,
  }
}

// Generated once per seed and shared: 5,000 people take ~60 ms, but the checks below are many.
const calibrated = [1, 2].map((seed) => generateNetwork({ seed, people: 5_000 }))

describe('createRng', () => {
  it('repeats its sequence for a seed and stream, and differs across seeds and streams', () => {
    const draw = (seed: number, stream?: number): number[] => {
      const rng = createRng(seed, stream)
      return Array.from({ length: 8 }, () => rng.next())
    }
    expect(draw(42)).toEqual(draw(42))
    expect(draw(42)).not.toEqual(draw(43))
    expect(draw(42, 1)).not.toEqual(draw(42, 2))
    // Seeds that differ only above 32 bits must not collide.
    expect(draw(2 ** 32 + 5)).not.toEqual(draw(5))
  })

  it('draws uniformly enough: mean near 1/2, int() in range, every bucket hit', () => {
    const rng = createRng(7)
    let sum = 0
    const buckets = new Array<number>(10).fill(0)
    let outside = 0
    for (let i = 0; i < 20_000; i++) {
      const u = rng.next()
      if (!(u >= 0 && u < 1)) outside++
      sum += u
      const k = rng.int(10)
      buckets[k] = (buckets[k] ?? 0) + 1
    }
    expect(outside).toBe(0)
    expect(sum / 20_000).toBeGreaterThan(0.49)
    expect(sum / 20_000).toBeLessThan(0.51)
    for (const count of buckets) expect(count).toBeGreaterThan(1_800)
  })

  it('rejects a seed that is not a safe integer', () => {
    expect(() => createRng(1.5)).toThrow(RangeError)
    expect(() => createRng(Number.NaN)).toThrow(RangeError)
  })

  it('the generator never uses Math.random', () => {
    const source = readFileSync(fileURLToPath(new URL('../helpers/network-generator.ts', import.meta.url)), 'utf8')
    expect(source).not.toMatch(/Math\.random/)
  })
})

describe('generateNetwork: determinism', () => {
  it('gives an identical network for the same seed and options', () => {
    expect(snapshot(generateNetwork({ seed: 9, people: 2_000 }))).toEqual(snapshot(generateNetwork({ seed: 9, people: 2_000 })))
  })

  it('gives a different network for a different seed', () => {
    const a = generateNetwork({ seed: 9, people: 2_000 })
    const b = generateNetwork({ seed: 10, people: 2_000 })
    expect(a.people[0]?.pubkey).not.toBe(b.people[0]?.pubkey)
    const lists = (n: SyntheticNetwork): string[][] => n.people.map((p) => [...p.write])
    expect(lists(a)).not.toEqual(lists(b))
    expect(a.relays.map((r) => r.alive)).not.toEqual(b.relays.map((r) => r.alive))
  })

  it('realKeys: real key pairs from the seed, and the same network structure as without them', () => {
    const real = generateNetwork({ seed: 3, people: 12, realKeys: true })
    const plain = generateNetwork({ seed: 3, people: 12 })
    for (const person of real.people) {
      expect(person.secretKey).toMatch(/^[0-9a-f]{64}$/)
      expect(getPublicKey(hexToBytes(person.secretKey ?? ''))).toBe(person.pubkey)
    }
    expect(plain.people.every((p) => p.secretKey === undefined)).toBe(true)
    expect(real.people.map((p) => p.write)).toEqual(plain.people.map((p) => p.write))
    expect(real.people.map((p) => p.reached)).toEqual(plain.people.map((p) => p.reached))
    expect(generateNetwork({ seed: 3, people: 12, realKeys: true }).people.map((p) => p.secretKey)).toEqual(real.people.map((p) => p.secretKey))
  })

  it('rejects bad options with RangeError naming the field', () => {
    expect(() => generateNetwork({ seed: 1, people: -1 })).toThrow(/people/)
    expect(() => generateNetwork({ seed: 1, people: 10, noListShare: 1.5 })).toThrow(/noListShare/)
    expect(() => generateNetwork({ seed: 0.5, people: 10 })).toThrow(/seed/)
    expect(() => generateNetwork({ seed: 1, people: 10, meanListSize: 20 })).toThrow(/meanListSize/)
  })
})

describe.each(calibrated.map((network, i) => ({ network, seed: i + 1 })))('calibration at 5,000 people (seed $seed)', ({ network }) => {
  const stats = networkStats(network)
  const holders = network.people.filter((p) => p.hasRelayList)
  const without = network.people.filter((p) => !p.hasRelayList)
  const top = new Set(network.relays.filter((r) => r.rank < 2).map((r) => r.url))

  it('about 85% of list holders name one of the two biggest relays as a write relay', () => {
    expect(stats.topTwoWriteShare).toBeGreaterThanOrEqual(0.8)
    expect(stats.topTwoWriteShare).toBeLessThanOrEqual(0.9)
  })

  it('the share without any 10002 is near the configured 30%', () => {
    expect(stats.noListShare).toBeGreaterThanOrEqual(0.27)
    expect(stats.noListShare).toBeLessThanOrEqual(0.33)
    for (const p of without) expect([...p.write, ...p.read]).toEqual([])
  })

  it('lists hold 1-15 distinct relays with a mean near 3.6', () => {
    expect(stats.meanListSize).toBeGreaterThanOrEqual(3.2)
    expect(stats.meanListSize).toBeLessThanOrEqual(4.0)
    expect(stats.minListSize).toBe(1)
    expect(stats.maxListSize).toBeLessThanOrEqual(15)
    expect(stats.maxListSize).toBeGreaterThanOrEqual(10)
    for (const p of holders) {
      expect(new Set(p.write).size).toBe(p.write.length)
      expect(p.write.length).toBeGreaterThanOrEqual(1)
    }
  })

  it('about half the relay URLs are dead, mostly in the tail, and dead relays still appear in lists', () => {
    expect(stats.deadShare).toBeGreaterThanOrEqual(0.4)
    expect(stats.deadShare).toBeLessThanOrEqual(0.6)
    expect(network.relays.filter((r) => r.rank < 2).every((r) => r.alive)).toBe(true)
    const headDead = network.relays.filter((r) => r.rank < 20 && !r.alive).length
    expect(headDead).toBeGreaterThanOrEqual(1)
    expect(headDead).toBeLessThanOrEqual(8)
    expect(stats.deadPairShare).toBeGreaterThan(0.1)
    expect(stats.deadPairShare).toBeLessThan(0.5)
  })

  it('every URL a person carries is a relay of the network', () => {
    const unknown = network.people.flatMap((p) =>
      [...p.write, ...p.read, ...p.dmRelays, ...p.kind3Relays, ...p.nip05Relays, ...p.hintRelays, ...p.reached].filter((url) => !network.relayByUrl.has(url)),
    )
    expect(unknown).toEqual([])
  })

  it('reached is a non-empty subset of the declared write relays, a strict one for about 15% of holders', () => {
    const bad = holders.filter((p) => p.reached.length === 0 || p.reached.some((url) => !p.write.includes(url)))
    expect(bad).toEqual([])
    expect(stats.partialReachShare).toBeGreaterThanOrEqual(0.1)
    expect(stats.partialReachShare).toBeLessThanOrEqual(0.2)
  })

  it('people without a list: some known through kind 3, NIP-05 or hints, some not at all, most inactive', () => {
    const via = (pick: (p: (typeof without)[number]) => readonly string[]): number => without.filter((p) => pick(p).length > 0).length / without.length
    expect(via((p) => p.kind3Relays)).toBeGreaterThan(0.3)
    expect(via((p) => p.nip05Relays)).toBeGreaterThan(0.05)
    expect(via((p) => p.hintRelays)).toBeGreaterThan(0.5)
    expect(stats.undiscoverableShare).toBeGreaterThan(0.1)
    expect(stats.undiscoverableShare).toBeLessThan(0.35)
    expect(stats.inactiveNoListShare).toBeGreaterThan(0.8)
    expect(stats.inactiveNoListShare).toBeLessThan(0.9)
    for (const p of without) expect(p.reached.length).toBeGreaterThanOrEqual(1)
  })

  it('has niche communities: a small relay shared mostly by members, some of whom use no big relay', () => {
    expect(network.communities.length).toBeGreaterThanOrEqual(10)
    const trapped = network.communities.filter((community) => {
      if (community.members.length < 5) return false
      const relay = community.relays[0] ?? ''
      const users = network.people.filter((p) => p.reached.includes(relay))
      const members = users.filter((p) => p.community === community.id)
      const membersOnly = members.filter((p) => p.hasRelayList && !p.write.some((url) => top.has(url)))
      return members.length >= community.members.length / 2 && members.length / users.length >= 0.6 && membersOnly.length >= 1
    })
    expect(trapped.length).toBeGreaterThanOrEqual(network.communities.length / 2)
    for (const community of network.communities) {
      for (const url of community.relays) {
        const relay = network.relayByUrl.get(url)
        expect(relay?.community).toBe(community.id)
        expect(relay?.alive).toBe(true)
      }
    }
  })

  it('a follow list of 1,000 is assignable within 20 relays at the study\'s rate (~98% of list holders)', () => {
    // Plain greedy max coverage, k = 1, on 10002 write relays: the study's "Greedy at 20" figure.
    const holdersFollowed = pickFollows(network, 1_000, 11).map((k) => network.byPubkey.get(k)!).filter((p) => p.hasRelayList)
    const uncovered = new Set(holdersFollowed)
    for (let step = 0; step < 20; step++) {
      const gain = new Map<string, number>()
      for (const p of uncovered) for (const url of p.write) gain.set(url, (gain.get(url) ?? 0) + 1)
      const best = [...gain].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))[0]
      if (!best) break
      for (const p of [...uncovered]) if (p.write.includes(best[0])) uncovered.delete(p)
    }
    const assignable = 1 - uncovered.size / holdersFollowed.length
    expect(assignable).toBeGreaterThanOrEqual(0.96)
    expect(assignable).toBeLessThan(1)
  })

  it('a few relays censor some of their own authors', () => {
    const censoring = network.relays.filter((r) => r.censors.size > 0)
    expect(censoring.length).toBeGreaterThanOrEqual(1)
    expect(censoring.length).toBeLessThanOrEqual(3)
    for (const relay of censoring) {
      for (const pubkey of relay.censors) {
        const person = network.byPubkey.get(pubkey)
        expect(person?.reached).toContain(relay.url)
        expect(holdingRelays(network, person!)).not.toContain(relay.url)
      }
    }
  })
})

describe('generateNetwork: configured shares', () => {
  it.each([0.1, 0.48])('noListShare %s is honoured within 3 points', (noListShare) => {
    const stats = networkStats(generateNetwork({ seed: 4, people: 5_000, noListShare }))
    expect(Math.abs(stats.noListShare - noListShare)).toBeLessThan(0.03)
    expect(stats.topTwoWriteShare).toBeGreaterThanOrEqual(0.8)
    expect(stats.topTwoWriteShare).toBeLessThanOrEqual(0.9)
  })

  it('deadShare 0 and censoringRelays 0 give a network with every relay alive and none censoring', () => {
    const network = generateNetwork({ seed: 4, people: 1_000, deadShare: 0, censoringRelays: 0 })
    expect(network.relays.every((r) => r.alive && r.censors.size === 0)).toBe(true)
  })
})

describe('pickFollows', () => {
  const network = calibrated[0] as SyntheticNetwork

  it('returns the asked number of distinct people of the network, the same for the same seed', () => {
    const follows = pickFollows(network, 1_000, 5)
    expect(follows).toHaveLength(1_000)
    expect(new Set(follows).size).toBe(1_000)
    for (const pubkey of follows) expect(network.byPubkey.has(pubkey)).toBe(true)
    expect(pickFollows(network, 1_000, 5)).toEqual(follows)
    expect(pickFollows(network, 1_000, 6)).not.toEqual(follows)
    expect(pickFollows(network, network.people.length, 1)).toHaveLength(network.people.length)
  })

  it('skews popular and includes a circle from one community', () => {
    const follows = pickFollows(network, 500, 5)
    const mean = (pubkeys: readonly string[]): number => pubkeys.reduce((s, k) => s + (network.byPubkey.get(k)?.popularity ?? 0), 0) / pubkeys.length
    expect(mean(follows)).toBeGreaterThan(2 * mean(network.people.map((p) => p.pubkey)))
    const perCommunity = new Map<number, number>()
    for (const pubkey of follows) {
      const c = network.byPubkey.get(pubkey)?.community
      if (c !== undefined) perCommunity.set(c, (perCommunity.get(c) ?? 0) + 1)
    }
    expect(Math.max(...perCommunity.values())).toBeGreaterThanOrEqual(25)
  })

  it('rejects a count larger than the network', () => {
    expect(() => pickFollows(network, network.people.length + 1, 1)).toThrow(RangeError)
  })
})

describe('declaredCandidates', () => {
  const network = calibrated[0] as SyntheticNetwork
  const follows = pickFollows(network, 2_000, 3)
  const candidates = declaredCandidates(network, follows)

  it('has every follow, in order, with write relays at weight 1 for list holders', () => {
    expect([...candidates.keys()]).toEqual(follows)
    for (const pubkey of follows) {
      const person = network.byPubkey.get(pubkey)!
      const scored = candidates.get(pubkey) ?? []
      if (!person.hasRelayList) continue
      expect(scored.map((s) => s.url).sort()).toEqual([...person.write].sort())
      expect(scored.every((s) => s.weight === CANDIDATE_WEIGHTS.write)).toBe(true)
    }
  })

  it('for people without a list: kind 3, NIP-05 and hint relays, merged by the largest weight, or nothing', () => {
    let empty = 0
    let merged = 0
    for (const pubkey of follows) {
      const person = network.byPubkey.get(pubkey)!
      if (person.hasRelayList) continue
      const scored = candidates.get(pubkey) ?? []
      if (scored.length === 0) empty++
      expect(scored.map((s) => s.url).sort()).toEqual(knownRelays(person).sort())
      for (const { url, weight } of scored) {
        const expected = Math.max(
          person.kind3Relays.includes(url) ? CANDIDATE_WEIGHTS.kind3 : 0,
          person.nip05Relays.includes(url) ? CANDIDATE_WEIGHTS.nip05 : 0,
          person.hintRelays.includes(url) ? CANDIDATE_WEIGHTS.hint : 0,
        )
        expect(weight).toBe(expected)
        if (person.hintRelays.includes(url) && person.kind3Relays.includes(url)) merged++
      }
      for (let i = 1; i < scored.length; i++) expect(scored[i - 1]!.weight).toBeGreaterThanOrEqual(scored[i]!.weight)
    }
    expect(empty).toBeGreaterThan(0)
    expect(merged).toBeGreaterThan(0)
  })

  it('rejects a pubkey that is not in the network', () => {
    expect(() => declaredCandidates(network, ['ab'.repeat(32)])).toThrow(RangeError)
  })
})
