/**
 * The `rendezvous` command line (Node only): look at a person's relays, plan a feed's relays,
 * read a feed, publish a note, send a private message. `bin/rendezvous.mjs` calls {@link run}.
 *
 * Exit codes: 0 done, 1 an operational failure (a relay, a wrong passphrase, nothing accepted),
 * 2 bad arguments, 130 interrupted. Every failure is one line on stderr starting `rendezvous: `;
 * stack traces only with `RENDEZVOUS_DEBUG=1`.
 *
 * @example
 * ```sh
 * rendezvous relays npub1...
 * rendezvous plan npub1... --k 2 --budget 20
 * echo "$PASSPHRASE" | rendezvous publish "gm" --key ncryptsec1... --passphrase-stdin
 * ```
 *
 * @module
 */
import { isRendezvousError } from '../errors.js'
import { parseCommandLine, UsageError, type CommandLine } from './args.js'
import { feedCommand } from './feed.js'
import { commandHelp, generalHelp } from './help.js'
import { CliFailure, type CliIo } from './io.js'
import { planCommand } from './plan.js'
import { dmCommand, publishCommand } from './publish.js'
import { relaysCommand } from './relays.js'
import { debugging, describe } from './session.js'

export type { CliInput, CliIo, CliOutput } from './io.js'

const RUNNERS: Readonly<Record<string, (line: CommandLine, io: CliIo) => Promise<void>>> = {
  relays: relaysCommand,
  plan: planCommand,
  feed: feedCommand,
  publish: publishCommand,
  dm: dmCommand,
}

/**
 * Runs one command line to completion and returns the exit code. Never throws: every error becomes
 * one line on `io.stderr` and a code.
 *
 * @param argv - the arguments after the script's path.
 * @param io - streams, environment and the interrupt signal.
 * @returns the exit code: 0 done, 1 failed, 2 bad arguments, 130 interrupted.
 * @example
 * ```ts
 * // What `run()` does, minus Ctrl-C handling; tests may pass their own streams.
 * const io = { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin, env: process.env }
 * process.exitCode = await main(['relays', 'npub1...'], io)
 * ```
 */
export async function main(argv: readonly string[], io: CliIo): Promise<number> {
  try {
    const parsed = parseCommandLine(argv)
    if (parsed.kind === 'help') {
      io.stdout.write(parsed.command === undefined ? generalHelp() : commandHelp(parsed.command))
      return 0
    }
    await RUNNERS[parsed.command.name]!(parsed.line, io)
    return 0
  } catch (error) {
    return report(error, io)
  }
}

/** The one line on stderr for an error, and its exit code. */
function report(error: unknown, io: CliIo): number {
  const say = (message: string): void => void io.stderr.write(`rendezvous: ${message}\n`)
  if (io.signal?.aborted) {
    say('interrupted')
    return 130
  }
  if (error instanceof UsageError) {
    say(error.message)
    return 2
  }
  if (error instanceof CliFailure) {
    say(error.message)
    return error.exitCode
  }
  if (isRendezvousError(error)) {
    say(describe(error))
    if (debugging(io) && error.stack) io.stderr.write(`${error.stack}\n`)
    return 1
  }
  // Not an expected failure: a bug here or below. Still one line, the trace on request.
  say(`unexpected error: ${describe(error)}${debugging(io) ? '' : ' (RENDEZVOUS_DEBUG=1 shows the stack trace)'}`)
  if (debugging(io) && error instanceof Error && error.stack) io.stderr.write(`${error.stack}\n`)
  return 1
}

/**
 * Runs the command line of this process: `process.argv`, the standard streams and environment;
 * Ctrl-C aborts the command (its client is closed), a second Ctrl-C exits at once. Sets
 * `process.exitCode` and lets the process end on its own, so nothing is cut off mid-write.
 *
 * @returns resolves when the command is done.
 * @example
 * ```js
 * #!/usr/bin/env node
 * import { run } from '../dist/cli/index.js'
 * await run()
 * ```
 */
export async function run(): Promise<void> {
  const controller = new AbortController()
  const onInterrupt = (): void => {
    if (controller.signal.aborted) process.exit(130)
    controller.abort(new Error('interrupted'))
  }
  // `rendezvous feed ... | head -3`: once the reader is gone there is nobody left to tell.
  const onOutputError = (error: NodeJS.ErrnoException): void => {
    if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0)
    // Any other write error: one line, as for every failure, and no stack trace.
    process.stderr.write(`rendezvous: cannot write the output (${error.code ?? error.message})\n`)
    process.exit(1)
  }
  process.on('SIGINT', onInterrupt)
  process.stdout.on('error', onOutputError)
  try {
    process.exitCode = await main(process.argv.slice(2), {
      stdout: process.stdout,
      stderr: process.stderr,
      stdin: process.stdin,
      env: process.env,
      signal: controller.signal,
    })
  } finally {
    process.removeListener('SIGINT', onInterrupt)
  }
}
