/**
 * `rendezvous feed <person>`: the newest posts of the people a person follows, read from their
 * outboxes, then one line on how the read went.
 *
 * @module
 * @internal
 */
import type { NostrEvent } from '../crypto/event.js'
import type { QueryReport } from '../client/types.js'
import type { CommandLine } from './args.js'
import { clean, count, note, npub, shortNpub, time, toJson } from './format.js'
import { print, type CliIo } from './io.js'
import { followedAuthors } from './plan.js'
import { personArgument, withClient } from './session.js'

/** Posts shown when `--limit` is not given. @internal */
export const DEFAULT_FEED_LIMIT = 20

/** Longest content shown per post, in characters. */
const MAX_CONTENT = 280

const HEX64 = /^[0-9a-f]{64}$/

/**
 * Runs `feed`.
 *
 * @param line - the command line (`limit`, `k`, `budget`).
 * @param io - streams.
 * @throws UsageError for a malformed person; CliFailure without a follow list; the client's errors.
 * @internal
 */
export async function feedCommand(line: CommandLine, io: CliIo): Promise<void> {
  const person = personArgument('feed', line.args[0]!)
  await withClient(line, io, {}, async (client) => {
    const { authors } = await followedAuthors(client, person.pubkey, io.signal)
    if (authors.length === 0) {
      if (line.json) print(io.stdout, toJson({ pubkey: person.pubkey, follows: 0, events: [], next: null, report: null }))
      else print(io.stdout, `${npub(person.pubkey)} follows nobody: no feed to read`)
      return
    }
    const page = await client.feed({
      authors,
      limit: line.limit ?? DEFAULT_FEED_LIMIT,
      ...(io.signal !== undefined && { signal: io.signal }),
    })
    if (line.json) {
      print(io.stdout, toJson({ pubkey: person.pubkey, follows: authors.length, events: page.events, next: page.next ?? null, report: page.report }))
      return
    }
    const lines = page.events.map((event) => `${time(event.created_at)}  ${shortNpub(event.pubkey)}  ${contentLine(event)}`)
    if (lines.length === 0) lines.push('(no posts found)')
    print(io.stdout, ...lines, '', summary(page.report, page.events.length))
  })
}

/** A post as one line; a repost names what it reposts. */
function contentLine(event: NostrEvent): string {
  if (event.kind === 6) {
    const reposted = event.tags.find((t) => t[0] === 'e' && typeof t[1] === 'string' && HEX64.test(t[1]))?.[1]
    return reposted === undefined ? 'reposted a note' : `reposted ${note(reposted)}`
  }
  return clean(event.content, MAX_CONTENT)
}

/**
 * The one-line summary of a feed read: relays asked and failed, authors who may be missing posts.
 *
 * @param report - the read's report.
 * @param shown - posts printed.
 * @returns the line.
 * @internal
 */
export function summary(report: QueryReport, shown: number): string {
  const failed = report.relays.filter((r) => r.status !== 'eose')
  const parts = [
    `${count(shown, 'post')} from ${count(report.connections, 'relay')} asked`,
    failed.length === 0 ? 'none failed' : `${failed.length} failed (${failedList(failed)})`,
  ]
  if (report.missing.length === 0) parts.push('no author missing posts')
  else {
    const byReason = new Map<string, number>()
    for (const m of report.missing) byReason.set(m.reason, (byReason.get(m.reason) ?? 0) + 1)
    parts.push(`${count(report.missing.length, 'author')} may be missing posts (${[...byReason].map(([r, n]) => `${n} ${r}`).join(', ')})`)
  }
  return `${parts.join('; ')}.`
}

/** Most failed relays named in the summary line; `--json` has them all. */
const MAX_FAILED_NAMED = 5

function failedList(failed: QueryReport['relays']): string {
  const named = failed.slice(0, MAX_FAILED_NAMED).map((r) => `${clean(r.url)} ${r.status}`)
  if (failed.length > MAX_FAILED_NAMED) named.push(`${failed.length - MAX_FAILED_NAMED} more`)
  return named.join(', ')
}
