/**
 * The user's key on the command line: an `ncryptsec` (NIP-49) from `--key` or
 * `RENDEZVOUS_NCRYPTSEC`, and its passphrase, typed on the terminal with echo off or read as one
 * line from stdin. Only the encrypted key is ever an argument: a plain `nsec` would sit in the
 * shell history and in every process listing.
 *
 * @module
 * @internal
 */
import { inspect } from '../crypto/nip49.js'
import { secretKeySignerFromNcryptsec, type SecretKeySigner } from '../crypto/secret-key-signer.js'
import { isRendezvousError } from '../errors.js'
import { UsageError, type CommandLine } from './args.js'
import { CliFailure, type CliInput, type CliIo } from './io.js'

/** Longest passphrase line read from stdin: a bound on what a runaway pipe can make us buffer. */
const MAX_PASSPHRASE_CHARS = 4096

/** The environment variable that may hold the ncryptsec. @internal */
export const NCRYPTSEC_ENV = 'RENDEZVOUS_NCRYPTSEC'

/**
 * Reads the key and its passphrase and decrypts it into a signer. The key's form is checked before
 * the passphrase is asked, so a pasting mistake costs no typing.
 *
 * @param command - the command's name, for messages.
 * @param line - the command line (`key`, `passphraseStdin`).
 * @param io - streams and environment.
 * @returns the signer.
 * @throws UsageError when no key is given, it is not an ncryptsec, or no passphrase can be read;
 * CliFailure (exit 130) when the prompt is cancelled; CryptoError `NIP49_WRONG_PASSPHRASE`,
 * `NIP49_KDF_FAILED`.
 * @internal
 */
export async function unlockKey(command: string, line: CommandLine, io: CliIo): Promise<SecretKeySigner> {
  const fromOption = line.key !== undefined
  const source = fromOption ? '--key' : NCRYPTSEC_ENV
  const ncryptsec = (line.key ?? io.env[NCRYPTSEC_ENV] ?? '').trim()
  if (ncryptsec === '') throw new UsageError(`${command} needs your key: --key <ncryptsec> or ${NCRYPTSEC_ENV}`)
  if (ncryptsec.startsWith('nsec1')) {
    throw new UsageError(`${source} holds an nsec; give the key encrypted with a passphrase (an ncryptsec, NIP-49)`)
  }
  let logN: number
  try {
    logN = inspect(ncryptsec).logN
  } catch (error) {
    if (isRendezvousError(error)) throw new UsageError(`${source} is not a valid ncryptsec (${error.code})`)
    throw error
  }
  const passphrase = line.passphraseStdin ? await readLine(io.stdin, io.signal) : await askHidden(io, 'Passphrase: ')
  // scrypt at a high cost takes seconds: say why nothing happens, on the terminal only.
  if (logN >= 18 && io.stderr.isTTY) io.stderr.write('Decrypting the key...\n')
  return secretKeySignerFromNcryptsec(ncryptsec, passphrase)
}

/**
 * Reads one line (without its `\n` or `\r\n`) from a stream, then stops reading it; the rest of the
 * stream is left unread.
 *
 * @throws UsageError when the stream ends before any character, or the line is too long;
 * CliFailure (exit 130) when `signal` aborts first.
 * @internal
 */
export function readLine(input: CliInput, signal?: AbortSignal): Promise<string> {
  return new Promise((resolve, reject) => {
    let buffer = ''
    const stop = (): void => {
      input.removeListener('data', onData)
      input.removeListener('end', onEnd)
      input.removeListener('error', onError)
      signal?.removeEventListener('abort', onAbort)
      input.pause()
    }
    // Ctrl-C while stdin never sends a line: stop waiting at the first one.
    const onAbort = (): void => {
      stop()
      reject(new CliFailure('cancelled', 130))
    }
    const onData = (chunk: string): void => {
      buffer += chunk
      const newline = buffer.indexOf('\n')
      if (newline >= 0) {
        stop()
        resolve(buffer.slice(0, newline).replace(/\r$/, ''))
      } else if (buffer.length > MAX_PASSPHRASE_CHARS) {
        stop()
        reject(new UsageError(`--passphrase-stdin: no newline in the first ${MAX_PASSPHRASE_CHARS} characters`))
      }
    }
    const onEnd = (): void => {
      stop()
      if (buffer === '') reject(new UsageError('--passphrase-stdin: stdin ended before a passphrase was read'))
      else resolve(buffer.replace(/\r$/, ''))
    }
    const onError = (error: Error): void => {
      stop()
      reject(new CliFailure(`could not read stdin: ${error.message}`))
    }
    if (signal?.aborted) return onAbort()
    signal?.addEventListener('abort', onAbort, { once: true })
    input.setEncoding('utf8')
    input.on('data', onData)
    input.on('end', onEnd)
    input.on('error', onError)
    input.resume()
  })
}

/**
 * Asks for a secret on the terminal with echo off (raw mode): Enter ends it, Backspace deletes,
 * Ctrl-U clears, Ctrl-C and Ctrl-D on an empty line cancel. The prompt goes to stderr so that
 * stdout stays clean for `--json`.
 *
 * @throws UsageError when stdin is not a terminal; CliFailure (exit 130) when cancelled.
 * @internal
 */
export function askHidden(io: CliIo, prompt: string): Promise<string> {
  const input = io.stdin
  if (!input.isTTY || typeof input.setRawMode !== 'function') {
    throw new UsageError('no terminal to ask the passphrase on: pipe it in with --passphrase-stdin')
  }
  const setRawMode = input.setRawMode.bind(input)
  return new Promise((resolve, reject) => {
    let secret: string[] = []
    const finish = (outcome: () => void): void => {
      input.removeListener('data', onData)
      setRawMode(false)
      input.pause()
      io.stderr.write('\n')
      outcome()
    }
    const onData = (chunk: string): void => {
      for (const char of chunk) {
        if (char === '\r' || char === '\n') return finish(() => resolve(secret.join('')))
        if (char === '\u0003' || (char === '\u0004' && secret.length === 0)) {
          return finish(() => reject(new CliFailure('cancelled', 130)))
        }
        if (char === '\u0004') return finish(() => resolve(secret.join('')))
        if (char === '\u007f' || char === '\b') secret.pop()
        else if (char === '\u0015') secret = []
        else if (char >= ' ') secret.push(char)
      }
    }
    io.stderr.write(prompt)
    input.setEncoding('utf8')
    setRawMode(true)
    input.on('data', onData)
    input.resume()
  })
}
