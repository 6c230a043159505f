/**
 * `rendezvous publish <text>` and `rendezvous dm <person> <text>`: the two commands that sign.
 * Both unlock the key first (before any connection), make sure the relay lists that routing needs
 * are fetched, and print what each relay answered.
 *
 * @module
 * @internal
 */
import type { Client } from '../client/client.js'
import type { SecretKeySigner } from '../crypto/secret-key-signer.js'
import { isRendezvousError } from '../errors.js'
import type { DeliveryReport, DeliveryTarget } from '../outbox/publish-queue.js'
import { UsageError, type CommandLine } from './args.js'
import { clean, columns, count, note, npub, shortNpub, toJson } from './format.js'
import { CliFailure, print, type CliIo } from './io.js'
import { unlockKey } from './key.js'
import { personArgument, withClient } from './session.js'

/** `nostr:` mentions of people in a note's text (NIP-27); the router sends the note to their inboxes. */
const MENTION = /nostr:((?:npub1|nprofile1)[023456789acdefghjklmnpqrstuvwxyz]+)/g

/**
 * Runs `publish`: a kind 1 note to the user's outboxes and the inboxes of the people it mentions.
 *
 * @param line - the command line (`key`, `passphraseStdin`, `pow`, `relays`).
 * @param io - streams.
 * @throws UsageError for empty text or a bad key; CliFailure when no relay accepted the note;
 * CryptoError `NIP49_WRONG_PASSPHRASE`; the client's errors (`CLIENT_NO_TARGETS`).
 * @internal
 */
export async function publishCommand(line: CommandLine, io: CliIo): Promise<void> {
  const text = line.args[0]!
  if (text.trim() === '') throw new UsageError('publish: the text is empty')
  await signing('publish', line, io, async (client) => {
    const me = await client.getPublicKey()
    const signal = io.signal === undefined ? {} : { signal: io.signal }
    await client.tracker.ensureRelayLists([me, ...mentionedPeople(text)], signal)
    const result = await client
      .publish(
        { kind: 1, content: text, tags: [] },
        { ...(line.pow !== undefined && { pow: line.pow }), ...(line.relays.length > 0 && { relays: line.relays }), ...signal },
      )
      .catch((error: unknown) => {
        // The client's advice names its own API; say it in the command line's terms.
        if (isRendezvousError(error) && error.code === 'CLIENT_NO_TARGETS') {
          throw new CliFailure(`nowhere to publish: no outbox relays (kind 10002 write) found for ${npub(me)}; pass --relay <url> (CLIENT_NO_TARGETS)`)
        }
        throw error
      })
    const { event, plan, report } = result
    if (line.json) {
      print(
        io.stdout,
        toJson({
          id: event.id,
          note: note(event.id),
          event,
          plan: { outboxes: plan.outboxes, inboxes: plan.inboxes, unreachable: plan.unreachable, noOutboxes: plan.noOutboxes },
          report,
        }),
      )
    } else {
      const out = [note(event.id), `  id ${event.id}`, '']
      if (plan.noOutboxes) out.push('You have no outbox relays (kind 10002 write): only the relays below get it.')
      for (const pubkey of plan.unreachable) out.push(`No inbox known for ${shortNpub(pubkey)}: they may not see the mention.`)
      out.push(...deliveryLines(report))
      print(io.stdout, ...out)
    }
    if (report.accepted === 0) throw new CliFailure('no relay accepted the note')
  })
}

/**
 * Runs `dm`: a NIP-17 message to one person, and the user's own copy.
 *
 * @param line - the command line (`key`, `passphraseStdin`).
 * @param io - streams.
 * @throws UsageError for a malformed person, empty text or a bad key; CliFailure when no relay of
 * the recipient accepted it; CryptoError `NIP49_WRONG_PASSPHRASE`; the client's errors
 * (`CLIENT_DM_RECIPIENT_NOT_READY`).
 * @internal
 */
export async function dmCommand(line: CommandLine, io: CliIo): Promise<void> {
  const recipient = personArgument('dm', line.args[0]!)
  const text = line.args[1]!
  if (text.trim() === '') throw new UsageError('dm: the text is empty')
  await signing('dm', line, io, async (client) => {
    const me = await client.getPublicKey()
    const signal = io.signal === undefined ? {} : { signal: io.signal }
    const now = Math.floor(Date.now() / 1000)
    for (const hint of recipient.relays) client.evidence.addHint(recipient.pubkey, hint, 'nip19-hint', now)
    // Both DM relay lists must be known: the recipient's to reach them, mine for my own copy.
    await client.tracker.ensureRelayLists([me, recipient.pubkey], signal)
    const sent = await client.sendDm(recipient.pubkey, text, signal)
    if (line.json) {
      // The message itself is left out: it is private, and the caller has it.
      print(
        io.stdout,
        toJson({
          id: sent.rumor.id,
          recipient: recipient.pubkey,
          deliveries: sent.deliveries.map((d) => ({ recipient: d.recipient, npub: npub(d.recipient), self: d.self, relays: d.relays, report: d.report })),
        }),
      )
    } else {
      const out = [`Message ${sent.rumor.id} to ${npub(recipient.pubkey)}`]
      for (const d of sent.deliveries) {
        out.push('', d.self ? `Your own copy (${count(d.relays.length, 'DM relay')}):` : `To ${shortNpub(d.recipient)} (${count(d.relays.length, 'DM relay')}):`)
        out.push(...deliveryLines(d.report))
      }
      print(io.stdout, ...out)
    }
    // The recipient's copy is what counts (the user's own is a convenience), unless they wrote to themselves.
    const undelivered = sent.deliveries.filter((d) => d.report.accepted === 0 && (!d.self || d.recipient === recipient.pubkey))
    if (undelivered.length > 0) throw new CliFailure(`no DM relay of ${undelivered.map((d) => shortNpub(d.recipient)).join(', ')} accepted the message`)
  })
}

/** Unlocks the key, runs `body` with a client that signs with it, then forgets the key. */
async function signing(command: string, line: CommandLine, io: CliIo, body: (client: Client) => Promise<void>): Promise<void> {
  const signer: SecretKeySigner = await unlockKey(command, line, io)
  try {
    await withClient(line, io, { signer }, body)
  } finally {
    signer.close()
  }
}

/** The people a text mentions with `nostr:npub…`/`nostr:nprofile…`, each once, malformed ones skipped. */
function mentionedPeople(text: string): string[] {
  const people = new Set<string>()
  for (const match of text.matchAll(MENTION)) {
    try {
      people.add(personArgument('publish', match[1]!).pubkey)
    } catch {
      // Not a valid entity: it stays text, and nobody is notified.
    }
  }
  return [...people]
}

/** A delivery report as a summary line and one aligned row per relay. */
function deliveryLines(report: DeliveryReport): string[] {
  const rows = report.targets.map((t) => [clean(t.url), statusOf(t), t.reasons.map((r) => clean(r).replace(/-/g, ' ')).join(', '), answerOf(t)])
  const lines = [`Delivery: ${report.state}, accepted by ${report.accepted} of ${count(report.targets.length, 'relay')}`, ...columns(rows)]
  if (report.targets.some((t) => t.status === 'pending')) lines.push('  (failed relays are not retried: the command does not stay running)')
  return lines
}

function statusOf(target: DeliveryTarget): string {
  if (target.status !== 'pending') return target.status
  // After the first answers a pending target has failed once and waits for a retry the command
  // does not stay to make.
  if (target.last === undefined) return 'no answer'
  return target.last.status === 'failed' ? 'failed' : `failed (${clean(target.last.status, 40)})`
}

function answerOf(target: DeliveryTarget): string {
  const last = target.last
  if (last === undefined || (last.message ?? '') === '') return ''
  return clean(`${last.prefix !== undefined && !last.message!.startsWith(last.prefix) ? `${last.prefix}: ` : ''}${last.message}`, 160)
}
