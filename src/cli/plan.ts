/**
 * `rendezvous plan <person>`: the relays that would cover a person's follows, k times each within
 * the budget, and who is left short and why. The same plan a feed read starts from.
 *
 * @module
 * @internal
 */
import type { Client } from '../client/client.js'
import type { FollowList } from '../client/types.js'
import type { ShortReason } from '../outbox/types.js'
import type { CommandLine } from './args.js'
import { clean, columns, count, npub, shortNpub, time, toJson } from './format.js'
import { CliFailure, print, type CliIo } from './io.js'
import { personArgument, withClient } from './session.js'

/** Most rows of a long list printed as text; `--json` has them all. */
const MAX_TEXT_ROWS = 100

/** Why an author is short, in words (`no-relays` also covers "fewer known relays than k"). */
function shortExplanation(reason: ShortReason, have: number): string {
  if (reason === 'budget') return 'the relay budget ran out before their other relays'
  if (reason === 'unhealthy') return 'their other relays are down or penalised'
  if (reason === 'blocked') return 'their other relays are blocked in your relay settings'
  return have === 0 ? 'nothing known about where they write' : `only ${count(have, 'relay')} known for them`
}

/**
 * The people a person follows, read from their newest follow list.
 *
 * @param client - the client.
 * @param pubkey - the person (hex).
 * @param signal - aborts the reads.
 * @returns the list and the followed pubkeys, in list order.
 * @throws CliFailure when no follow list was found; the client's errors.
 * @internal
 */
export async function followedAuthors(client: Client, pubkey: string, signal: AbortSignal | undefined): Promise<{ list: FollowList; authors: string[] }> {
  const options = signal === undefined ? {} : { signal }
  // Their own relay lists first: the follow list is looked for on their outboxes too.
  await client.tracker.ensureRelayLists([pubkey], options)
  const list = await client.follows(pubkey, options)
  if (list.event === undefined) throw new CliFailure(`no follow list (kind 3) found for ${npub(pubkey)}`)
  return { list, authors: list.follows.map((f) => f.pubkey) }
}

/**
 * Runs `plan`.
 *
 * @param line - the command line (`k`, `budget`).
 * @param io - streams.
 * @throws UsageError for a malformed person; CliFailure without a follow list; the client's errors.
 * @internal
 */
export async function planCommand(line: CommandLine, io: CliIo): Promise<void> {
  const person = personArgument('plan', line.args[0]!)
  await withClient(line, io, {}, async (client) => {
    const signalOption = io.signal === undefined ? {} : { signal: io.signal }
    const { list, authors } = await followedAuthors(client, person.pubkey, io.signal)
    const fetch = await client.tracker.ensureRelayLists(authors, signalOption)
    const plan = client.router.readPlan(authors)
    const { selection } = plan
    const short = [...selection.short].map(([pubkey, s]) => ({ pubkey, reason: s.reason, have: s.have, want: s.want }))
    const fromKind3 = authors.filter((a) => client.tracker.relayListOf(a)?.source === 'kind3').length
    if (line.json) {
      print(
        io.stdout,
        toJson({
          pubkey: person.pubkey,
          npub: npub(person.pubkey),
          followListAt: list.event!.created_at,
          follows: authors.length,
          k: selection.perAuthor,
          budget: selection.maxRelays,
          coverage: selection.coverage,
          relays: [...selection.relays].map(([url, served]) => ({ url, authors: served })),
          byAuthor: selection.byAuthor,
          short,
          noEvidence: plan.noEvidence,
          unhealthy: plan.unhealthy,
          relayLists: { found: fetch.found, missing: fetch.missing, asked: fetch.relays },
        }),
      )
      return
    }
    const out = [
      `${npub(person.pubkey)} follows ${count(authors.length, 'person', 'people')} (follow list of ${time(list.event!.created_at)})`,
    ]
    if (authors.length === 0) {
      print(io.stdout, ...out)
      return
    }
    const withList = authors.length - fetch.missing.length
    out.push(
      `Relay lists: ${withList} with kind 10002, ${fromKind3} from a kind 3 relay map only, ${authors.length - withList - fromKind3} with neither`,
      '',
      `Cover: ${count(selection.relays.size, 'relay')} (budget ${selection.maxRelays}), up to ${selection.perAuthor} per author; coverage ${selection.coverage} of ${authors.length * selection.perAuthor}`,
    )
    const relayRows = [...selection.relays].map(([url, served]) => [clean(url), count(served.length, 'author')])
    out.push(...columns(relayRows.slice(0, MAX_TEXT_ROWS)))
    if (relayRows.length > MAX_TEXT_ROWS) out.push(`  ... and ${relayRows.length - MAX_TEXT_ROWS} more (--json lists them all)`)
    out.push('')
    if (short.length === 0) out.push(`Every author is covered ${selection.perAuthor} times.`)
    else {
      const byReason = new Map<ShortReason, number>()
      for (const s of short) byReason.set(s.reason, (byReason.get(s.reason) ?? 0) + 1)
      out.push(`Short (${count(short.length, 'author')}: ${[...byReason].map(([r, n]) => `${n} ${r}`).join(', ')}):`)
      const rows = short.map((s) => [shortNpub(s.pubkey), s.reason, `${s.have}/${s.want} relays`, shortExplanation(s.reason, s.have)])
      out.push(...columns(rows.slice(0, MAX_TEXT_ROWS)))
      if (rows.length > MAX_TEXT_ROWS) out.push(`  ... and ${rows.length - MAX_TEXT_ROWS} more (--json lists them all)`)
    }
    print(io.stdout, ...out)
  })
}
