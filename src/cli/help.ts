/**
 * The help texts, built from the command table in `args.ts` so that they cannot drift from what
 * the parser accepts.
 *
 * @module
 * @internal
 */
import { COMMANDS, GLOBAL_OPTIONS, OPTIONS, usageLine, type CommandSpec, type OptionName } from './args.js'
import { columns } from './format.js'

function optionRows(names: readonly OptionName[]): string[][] {
  return names.map((name) => {
    const spec = OPTIONS[name]
    const short = 'short' in spec ? `-${spec.short}, ` : ''
    return [`${short}--${name}${spec.value ? ` ${spec.value}` : ''}`, spec.text]
  })
}

/**
 * `rendezvous --help`.
 *
 * @returns the text, ending with a newline.
 * @internal
 */
export function generalHelp(): string {
  return [
    'rendezvous: an outbox-model Nostr client on the command line',
    '',
    'Usage: rendezvous <command> [options]',
    '',
    'Commands:',
    ...columns(COMMANDS.map((c) => [c.name, c.summary])),
    '',
    'Options for every command:',
    ...columns(optionRows(GLOBAL_OPTIONS)),
    '',
    'People are given as npub, nprofile or hex. Exit codes: 0 done, 1 failed, 2 bad arguments.',
    'RENDEZVOUS_DEBUG=1 prints the errors the client survived and stack traces.',
    "Run 'rendezvous <command> --help' for a command's options.",
    '',
  ].join('\n')
}

/**
 * `rendezvous <command> --help`.
 *
 * @param command - the command.
 * @returns the text, ending with a newline.
 * @internal
 */
export function commandHelp(command: CommandSpec): string {
  return [
    `Usage: ${usageLine(command)}`,
    '',
    `${command.summary[0]!.toUpperCase()}${command.summary.slice(1)}.`,
    '',
    ...command.description,
    '',
    ...(command.options.length > 0 ? ['Options:', ...columns(optionRows(command.options)), ''] : []),
    'Options for every command:',
    ...columns(optionRows(GLOBAL_OPTIONS)),
    '',
    'Examples:',
    ...command.examples.map((e) => `  ${e}`),
    '',
  ].join('\n')
}
