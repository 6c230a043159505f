/**
 * One client per command run: built from the global options, closed whatever happens so that no
 * socket or timer keeps the process alive after the command.
 *
 * @module
 * @internal
 */
import { createClient, type Client } from '../client/client.js'
import { parsePerson, type PersonRef } from '../client/identifiers.js'
import type { Signer } from '../crypto/signer.js'
import { UsageError, type CommandLine } from './args.js'
import { clean } from './format.js'
import type { CliIo } from './io.js'

/** Who the client acts for: a signer for commands that sign, nobody for reads. @internal */
export interface SessionIdentity {
  readonly signer?: Signer
}

/**
 * Creates the command's client: the indexers, k and budget, the private-address rule and the
 * timeouts from the command line. Errors the client survives are printed only with
 * `RENDEZVOUS_DEBUG=1`: the command's own output says what went wrong.
 *
 * @param line - the command line.
 * @param io - for debug output.
 * @param identity - the signer, if any.
 * @returns the client.
 * @internal
 */
export function openClient(line: CommandLine, io: CliIo, identity: SessionIdentity = {}): Client {
  const timeouts =
    line.timeoutMs === undefined
      ? {}
      : {
          connectTimeoutMs: line.timeoutMs,
          eoseTimeoutMs: line.timeoutMs,
          publishTimeoutMs: line.timeoutMs,
          // NIP-11 only tunes what is sent; never wait longer for it than for the relay itself.
          relayInformationTimeoutMs: Math.min(line.timeoutMs, 3_000),
        }
  return createClient({
    indexerRelays: line.indexers,
    ...(identity.signer !== undefined && { signer: identity.signer }),
    ...(line.k !== undefined && { perAuthor: line.k }),
    ...(line.budget !== undefined && { maxRelays: line.budget }),
    pool: { connect: { allowPrivateHosts: line.allowPrivate }, ...timeouts },
    onError: (error) => {
      if (debugging(io)) io.stderr.write(`rendezvous: (survived) ${describe(error)}\n`)
    },
  })
}

/**
 * Runs `body` with a fresh client and closes it afterwards, also when `body` throws.
 *
 * @param line - the command line.
 * @param io - streams.
 * @param identity - the signer, if any.
 * @param body - the command.
 * @returns what `body` returns.
 * @throws what `body` throws.
 * @internal
 */
export async function withClient<T>(line: CommandLine, io: CliIo, identity: SessionIdentity, body: (client: Client) => Promise<T>): Promise<T> {
  const client = openClient(line, io, identity)
  try {
    return await body(client)
  } finally {
    await client.close()
  }
}

/**
 * A person argument, or a usage error naming the command.
 *
 * @param command - the command's name.
 * @param input - the argument.
 * @returns the pubkey and relay hints.
 * @throws UsageError when it is not an npub, nprofile or hex pubkey.
 * @internal
 */
export function personArgument(command: string, input: string): PersonRef {
  try {
    return parsePerson(input, 'person')
  } catch {
    throw new UsageError(`${command}: '${clean(input, 80)}' is not an npub, nprofile or hex public key`)
  }
}

/**
 * Whether `RENDEZVOUS_DEBUG` asks for survived errors and stack traces.
 *
 * @param io - the environment.
 * @returns `true` when set to anything but empty or `0`.
 * @internal
 */
export function debugging(io: CliIo): boolean {
  const value = io.env.RENDEZVOUS_DEBUG
  return value !== undefined && value !== '' && value !== '0'
}

/**
 * An error as one line, with its stable code when it has one.
 *
 * @param error - anything thrown.
 * @returns e.g. `Wrong passphrase or corrupted ncryptsec (NIP49_WRONG_PASSPHRASE)`.
 * @internal
 */
export function describe(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code
    const message = clean(error.message, 500)
    return typeof code === 'string' && /^[A-Z0-9_]+$/.test(code) ? `${message} (${code})` : message
  }
  return clean(String(error), 500)
}
