/**
 * `rendezvous relays <person>`: a person's relay lists as the tracker found them, and everything
 * the evidence store knows about each relay, with its outbox and inbox scores.
 *
 * @module
 * @internal
 */
import type { Client } from '../client/client.js'
import type { SourceEvidence } from '../outbox/evidence.js'
import { FOLLOW_LIST_KIND, newestEvent, parseKind3Relays } from '../outbox/relay-lists.js'
import { EVIDENCE_SOURCES, scoreRelays, type EvidenceSource } from '../outbox/scorer.js'
import type { TrackerRelayOutcome } from '../outbox/tracker.js'
import type { CommandLine } from './args.js'
import { clean, columns, count, npub, score, time, toJson } from './format.js'
import { print, type CliIo } from './io.js'
import { personArgument, withClient } from './session.js'

/** One relay of the person, as printed. @internal */
export interface RelayEvidenceRow {
  readonly url: string
  /** Score for reading their posts there, before relay health. */
  readonly outbox: number
  /** Score for reaching them there, before relay health. */
  readonly inbox: number
  readonly sources: Readonly<Partial<Record<EvidenceSource, SourceEvidence>>>
  readonly manual?: { readonly read?: boolean; readonly write?: boolean }
}

/**
 * Runs `relays`.
 *
 * @param line - the command line.
 * @param io - streams.
 * @throws UsageError for a malformed person; the client's errors.
 * @internal
 */
export async function relaysCommand(line: CommandLine, io: CliIo): Promise<void> {
  const person = personArgument('relays', line.args[0]!)
  await withClient(line, io, {}, async (client) => {
    const now = Math.floor(Date.now() / 1000)
    // An nprofile's relays are where the person said they can be found: ask there too.
    for (const hint of person.relays) client.evidence.addHint(person.pubkey, hint, 'nip19-hint', now)
    const fetch = await client.tracker.ensureRelayLists([person.pubkey], { force: true, ...(io.signal && { signal: io.signal }) })
    const result = await collect(client, person.pubkey, now)
    if (line.json) {
      print(io.stdout, toJson({ ...result, asked: fetch.relays }))
      return
    }
    print(io.stdout, ...render(result, fetch.relays))
  })
}

async function collect(client: Client, pubkey: string, now: number) {
  const lists = client.tracker.relayListOf(pubkey)
  // The tracker keeps the follow list it fetched in storage; its content may hold a relay map.
  const kind3Event = newestEvent(await client.storage.queryEvents([{ kinds: [FOLLOW_LIST_KIND], authors: [pubkey] }]))
  const kind3Map = kind3Event === undefined ? undefined : parseKind3Relays(kind3Event)
  const evidence = client.evidence.evidenceFor(pubkey)
  const outbox = new Map(scoreRelays(evidence, { purpose: 'outbox', now }).map((r) => [r.url, r.weight]))
  const inbox = new Map(scoreRelays(evidence, { purpose: 'inbox', now }).map((r) => [r.url, r.weight]))
  const rows: RelayEvidenceRow[] = evidence.relays.map((relay) => ({
    url: relay.url,
    outbox: outbox.get(relay.url) ?? 0,
    inbox: inbox.get(relay.url) ?? 0,
    sources: relay.sources,
    ...(relay.manual !== undefined && { manual: relay.manual }),
  }))
  rows.sort((a, b) => b.outbox - a.outbox || b.inbox - a.inbox || (a.url < b.url ? -1 : a.url > b.url ? 1 : 0))
  return {
    pubkey,
    npub: npub(pubkey),
    relayList:
      lists?.source === 'nip65' ? { createdAt: lists.relayListAt ?? null, write: lists.write, read: lists.read } : null,
    dmRelays: lists?.dm === undefined ? null : { createdAt: lists.dmRelaysAt ?? null, relays: lists.dm },
    kind3RelayMap: kind3Event === undefined || kind3Map === undefined ? null : { createdAt: kind3Event.created_at, write: kind3Map.write, read: kind3Map.read },
    // Where the outbox model takes their outboxes and inboxes from: nip65, kind3 or none.
    listSource: lists?.source ?? 'none',
    fetchedAt: lists?.fetchedAt ?? null,
    evidence: rows,
  }
}

type Collected = Awaited<ReturnType<typeof collect>>

function markers(write: readonly string[], read: readonly string[]): string[][] {
  const urls = [...new Set([...write, ...read])]
  return urls.map((url) => [clean(url), write.includes(url) && read.includes(url) ? 'read+write' : write.includes(url) ? 'write' : 'read'])
}

function render(r: Collected, asked: readonly TrackerRelayOutcome[]): string[] {
  const out = [`${r.npub}`, `  hex ${r.pubkey}`, '']
  if (r.relayList === null) out.push('Relay list (kind 10002): none found')
  else {
    out.push(`Relay list (kind 10002) of ${time(r.relayList.createdAt ?? undefined)}:`)
    out.push(...(r.relayList.write.length + r.relayList.read.length === 0 ? ['  (no relays)'] : columns(markers(r.relayList.write, r.relayList.read))))
  }
  if (r.dmRelays === null) out.push('DM relays (kind 10050): none found')
  else {
    out.push(`DM relays (kind 10050) of ${time(r.dmRelays.createdAt ?? undefined)}:`)
    out.push(...(r.dmRelays.relays.length === 0 ? ['  (no relays)'] : r.dmRelays.relays.map((u) => `  ${clean(u)}`)))
  }
  if (r.kind3RelayMap === null) out.push('Relay map in the follow list (kind 3): none')
  else {
    out.push(`Relay map in the follow list (kind 3) of ${time(r.kind3RelayMap.createdAt)}:`)
    out.push(...columns(markers(r.kind3RelayMap.write, r.kind3RelayMap.read)))
  }
  out.push('')
  if (r.evidence.length === 0) out.push('Evidence: nothing known about any relay of theirs')
  else {
    out.push(`Evidence per relay (${count(r.evidence.length, 'relay')}; scores before relay health):`)
    const rows = [['relay', 'outbox', 'inbox', 'sources (last seen or declared)']]
    for (const row of r.evidence) {
      const sources = EVIDENCE_SOURCES.filter((s) => row.sources[s] !== undefined).map((s) => {
        const e = row.sources[s]!
        return `${s}${e.count > 1 ? ` x${e.count}` : ''} ${time(e.lastAt)}`
      })
      if (row.manual?.write !== undefined) sources.push(`manual: ${row.manual.write ? 'always' : 'never'} read here`)
      if (row.manual?.read !== undefined) sources.push(`manual: ${row.manual.read ? 'always' : 'never'} mention here`)
      rows.push([clean(row.url), score(row.outbox), score(row.inbox), sources.join(', ')])
    }
    out.push(...columns(rows))
  }
  out.push('', `Asked (${count(asked.length, 'relay')}):`)
  out.push(...columns(asked.map((a) => [clean(a.url), a.status, count(a.events, 'event'), a.message === undefined ? '' : clean(a.message, 120)])))
  return out
}
