/**
 * The command line's grammar: the commands, their options, and the parser that turns `argv` into
 * a checked {@link CommandLine} or a {@link UsageError}. Built on `node:util`'s `parseArgs` in its
 * lenient mode, so the messages for unknown options, missing values and misplaced options are this
 * module's own (one line, naming the option and the command).
 *
 * @module
 * @internal
 */
import { parseArgs } from 'node:util'
import { normalizeRelayUrl, relayUrlProblem } from '../relay-pool/url.js'
import { clean } from './format.js'

/**
 * A mistake in how the command was called (unknown command or option, a missing or malformed
 * argument): exit code 2, one line on stderr.
 *
 * @internal
 */
export class UsageError extends Error {
  override name = 'UsageError'
}

/** The public indexers used when no `--indexer` is given: both collect relay lists from everyone. @internal */
export const DEFAULT_INDEXERS: readonly string[] = Object.freeze(['wss://purplepag.es', 'wss://relay.nos.social'])

/** Every option, by long name. @internal */
export const OPTIONS = {
  help: { type: 'boolean', short: 'h', value: '', text: 'show help (for a command: rendezvous <command> --help)' },
  indexer: { type: 'string', multiple: true, value: '<url>', text: `relay that collects relay lists; repeatable (default ${DEFAULT_INDEXERS.join(', ')})` },
  'allow-private': { type: 'boolean', value: '', text: "connect to loopback and private addresses found in people's relay lists (local relays)" },
  timeout: { type: 'string', value: '<ms>', text: 'per-relay time to connect, to EOSE and to OK (default 10000)' },
  json: { type: 'boolean', value: '', text: 'print one JSON document instead of text' },
  k: { type: 'string', value: '<n>', text: 'relays per followed author (default 2)' },
  budget: { type: 'string', value: '<n>', text: 'most relays to connect to (default 20)' },
  limit: { type: 'string', value: '<n>', text: 'posts to show (default 20)' },
  key: { type: 'string', value: '<ncryptsec>', text: 'your key, encrypted with a passphrase (NIP-49); or set RENDEZVOUS_NCRYPTSEC' },
  'passphrase-stdin': { type: 'boolean', value: '', text: 'read the passphrase from the first line of stdin instead of asking on the terminal' },
  pow: { type: 'string', value: '<bits>', text: 'proof of work to mine into the event (NIP-13)' },
  relay: { type: 'string', multiple: true, value: '<url>', text: 'also send to this relay; repeatable' },
} as const

/** A long option name. @internal */
export type OptionName = keyof typeof OPTIONS

/** Options every command takes. @internal */
export const GLOBAL_OPTIONS: readonly OptionName[] = ['indexer', 'allow-private', 'timeout', 'json', 'help']

/** A command: its arguments, its own options and its help. @internal */
export interface CommandSpec {
  readonly name: string
  /** Positional arguments, in order, as shown in the usage line. */
  readonly args: readonly string[]
  /** Options besides {@link GLOBAL_OPTIONS}. */
  readonly options: readonly OptionName[]
  /** One line for the command list. */
  readonly summary: string
  /** The rest of the command's help. */
  readonly description: readonly string[]
  readonly examples: readonly string[]
}

const KEY_HELP = [
  'The key is an ncryptsec (NIP-49) from --key or RENDEZVOUS_NCRYPTSEC; the passphrase is asked on',
  'the terminal with echo off, or read from stdin with --passphrase-stdin.',
]

/** Every command, in help order. @internal */
export const COMMANDS: readonly CommandSpec[] = [
  {
    name: 'relays',
    args: ['<npub|nprofile|hex>'],
    options: [],
    summary: "a person's relay lists and the evidence behind each relay",
    description: [
      'Fetches the relay lists (kind 10002 read/write, kind 10050 DM relays, the relay map of kind 3)',
      'from the indexers and the relays an nprofile names, and prints them with everything known about',
      'each relay: the sources (declared lists, hints, events seen there), when, and the scores for',
      'reading their posts (outbox) and reaching them (inbox), before relay health.',
    ],
    examples: ['rendezvous relays npub1...', 'rendezvous relays nprofile1... --json'],
  },
  {
    name: 'plan',
    args: ['<npub|nprofile|hex>'],
    options: ['k', 'budget'],
    summary: "which relays would cover a person's follows",
    description: [
      "Fetches the person's follow list and their follows' relay lists, then chooses the fewest relays",
      'that cover each followed author k times within the budget, and prints each relay with how many',
      'authors it serves, then the authors left short and why (no-relays, budget, unhealthy).',
    ],
    examples: ['rendezvous plan npub1... --k 3 --budget 15'],
  },
  {
    name: 'feed',
    args: ['<npub|nprofile|hex>'],
    options: ['limit', 'k', 'budget'],
    summary: "recent posts of the people someone follows",
    description: [
      "Reads the newest posts of the person's follows from their outboxes and prints time, author and",
      'content (one line each), then one line on how the read went: relays asked and failed, authors',
      'who may be missing posts.',
    ],
    examples: ['rendezvous feed npub1... --limit 50'],
  },
  {
    name: 'publish',
    args: ['<text>'],
    options: ['key', 'passphrase-stdin', 'pow', 'relay'],
    summary: 'sign and publish a note to your outboxes',
    description: [
      "Publishes a kind 1 note to your outboxes (your kind 10002 write relays) and to the inboxes of",
      'anyone it mentions, and prints its note1 id and what each relay answered.',
      ...KEY_HELP,
      "Text that starts with '-' goes after '--': rendezvous publish -- '-1 for this'.",
    ],
    examples: ['rendezvous publish "gm" --key ncryptsec1...', 'echo "$PASS" | rendezvous publish "gm" --passphrase-stdin --pow 16'],
  },
  {
    name: 'dm',
    args: ['<npub|nprofile|hex>', '<text>'],
    options: ['key', 'passphrase-stdin'],
    summary: 'send a private message (NIP-17)',
    description: [
      "Sends a NIP-17 private message: a gift wrap to the recipient's DM relays (kind 10050) and a copy",
      'to yours, and prints where each copy went. Nothing is sent when the recipient has no DM relays.',
      ...KEY_HELP,
    ],
    examples: ['rendezvous dm npub1... "see you at 8"'],
  },
]

/** What the command line asked for. @internal */
export type ParsedCommandLine =
  | { readonly kind: 'help'; readonly command?: CommandSpec }
  | { readonly kind: 'run'; readonly command: CommandSpec; readonly line: CommandLine }

/** A checked command line: the command's arguments and every option, typed. @internal */
export interface CommandLine {
  /** The positional arguments after the command name (count checked). */
  readonly args: readonly string[]
  /** Normalised indexer URLs (the defaults when none was given). */
  readonly indexers: readonly string[]
  readonly allowPrivate: boolean
  readonly timeoutMs: number | undefined
  readonly json: boolean
  readonly k: number | undefined
  readonly budget: number | undefined
  readonly limit: number | undefined
  readonly key: string | undefined
  readonly passphraseStdin: boolean
  readonly pow: number | undefined
  /** Normalised extra relays (`--relay`). */
  readonly relays: readonly string[]
}

const PARSE_OPTIONS = Object.fromEntries(
  Object.entries(OPTIONS).map(([name, o]) => [
    name,
    { type: o.type, ...('short' in o && { short: o.short }), ...('multiple' in o && { multiple: true }) },
  ]),
) as Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean }>

/**
 * Parses and checks `argv` (without the node and script paths).
 *
 * @param argv - the arguments.
 * @returns help to show, or the command to run with its checked line.
 * @throws UsageError for anything wrong with the arguments.
 * @internal
 */
export function parseCommandLine(argv: readonly string[]): ParsedCommandLine {
  const { tokens } = parseArgs({ args: [...argv], options: PARSE_OPTIONS, strict: false, allowPositionals: true, tokens: true })
  const positionals: string[] = []
  const given = new Map<OptionName, Array<string | true>>()
  const unknown: string[] = []
  for (const token of tokens) {
    if (token.kind === 'positional') positionals.push(token.value)
    else if (token.kind === 'option') {
      if (!Object.hasOwn(OPTIONS, token.name)) {
        unknown.push(token.rawName)
        continue
      }
      const name = token.name as OptionName
      const spec = OPTIONS[name]
      if (spec.type === 'boolean') {
        if (token.value !== undefined) throw new UsageError(`option ${token.rawName} takes no value`)
        given.set(name, [...(given.get(name) ?? []), true])
      } else {
        // Lenient parseArgs takes the next argument as the value even when it is another option.
        if (token.value === undefined || (!token.inlineValue && token.value.startsWith('-') && token.value.length > 1)) {
          throw new UsageError(`option ${token.rawName} needs a value ${spec.value}`)
        }
        given.set(name, [...(given.get(name) ?? []), token.value])
      }
    }
  }

  let commandName = positionals.shift()
  // `rendezvous help [command]` is `rendezvous [command] --help`.
  if (commandName === 'help') {
    commandName = positionals.shift()
    given.set('help', [true])
  }
  const command = commandName === undefined ? undefined : COMMANDS.find((c) => c.name === commandName)
  if (commandName !== undefined && command === undefined) {
    throw new UsageError(`unknown command '${printable(commandName)}' (commands: ${COMMANDS.map((c) => c.name).join(', ')})`)
  }
  if (unknown.length > 0) throw new UsageError(`unknown option ${printable(unknown[0]!)}${command ? ` for ${command.name}` : ''}`)
  if (given.has('help')) return command === undefined ? { kind: 'help' } : { kind: 'help', command }
  if (command === undefined) throw new UsageError('missing command (try rendezvous --help)')

  for (const name of given.keys()) {
    if (!GLOBAL_OPTIONS.includes(name) && !command.options.includes(name)) {
      throw new UsageError(`option --${name} does not apply to ${command.name}`)
    }
    if (!('multiple' in OPTIONS[name]) && given.get(name)!.length > 1) throw new UsageError(`option --${name} given twice`)
  }
  if (positionals.length < command.args.length) {
    throw new UsageError(`${command.name}: missing ${command.args[positionals.length]} (usage: ${usageLine(command)})`)
  }
  if (positionals.length > command.args.length) {
    const hint = command.args.at(-1) === '<text>' ? ' (quote the text)' : ''
    throw new UsageError(`${command.name}: unexpected argument '${printable(positionals[command.args.length]!)}'${hint}`)
  }

  const one = (name: OptionName): string | undefined => given.get(name)?.[0] as string | undefined
  const flag = (name: OptionName): boolean => given.has(name)
  const indexers = (given.get('indexer') as string[] | undefined) ?? []
  return {
    kind: 'run',
    command,
    line: {
      args: positionals,
      indexers: indexers.length > 0 ? indexers.map((u) => relayUrl(u, '--indexer')) : [...DEFAULT_INDEXERS],
      allowPrivate: flag('allow-private'),
      timeoutMs: integer(one('timeout'), '--timeout', 1, 3_600_000),
      json: flag('json'),
      k: integer(one('k'), '--k', 1, 50),
      budget: integer(one('budget'), '--budget', 1, 1000),
      limit: integer(one('limit'), '--limit', 1, 10_000),
      key: one('key'),
      passphraseStdin: flag('passphrase-stdin'),
      pow: integer(one('pow'), '--pow', 0, 256),
      relays: ((given.get('relay') as string[] | undefined) ?? []).map((u) => relayUrl(u, '--relay')),
    },
  }
}

/**
 * The usage line of a command.
 *
 * @param command - the command.
 * @returns e.g. `rendezvous dm <npub|nprofile|hex> <text> [options]`.
 * @internal
 */
export function usageLine(command: CommandSpec): string {
  return `rendezvous ${command.name} ${command.args.join(' ')} [options]`
}

function integer(raw: string | undefined, option: string, min: number, max: number): number | undefined {
  if (raw === undefined) return undefined
  if (!/^\d+$/.test(raw)) throw new UsageError(`${option} must be a whole number from ${min} to ${max}, got '${printable(raw)}'`)
  const value = Number(raw)
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new UsageError(`${option} must be a whole number from ${min} to ${max}, got ${printable(raw)}`)
  }
  return value
}

function relayUrl(raw: string, option: string): string {
  const problem = relayUrlProblem(raw)
  if (problem !== undefined) throw new UsageError(`${option} '${printable(raw)}' is not a relay URL: ${problem}`)
  return normalizeRelayUrl(raw)
}

/** User input echoed in a message: one line, no control characters, cut short. */
function printable(text: string): string {
  return clean(text, 80)
}
