/**
 * What a command talks to (its streams, environment and interrupt signal, injected so the same
 * code runs on `process` or in a test) and the failure a command reports after its output.
 *
 * @module
 * @internal
 */

/** A stream the command line writes to. @internal */
export interface CliOutput {
  write(text: string): unknown
  /** Set on a terminal. */
  readonly isTTY?: boolean
}

/** The stream passphrases are read from. @internal */
export interface CliInput {
  /** Set on a terminal. */
  readonly isTTY?: boolean
  /** Present on a terminal: echo off while a passphrase is typed. */
  setRawMode?(raw: boolean): unknown
  setEncoding(encoding: 'utf8'): unknown
  on(event: 'data', listener: (chunk: string) => void): unknown
  on(event: 'end', listener: () => void): unknown
  on(event: 'error', listener: (error: Error) => void): unknown
  removeListener(event: 'data', listener: (chunk: string) => void): unknown
  removeListener(event: 'end', listener: () => void): unknown
  removeListener(event: 'error', listener: (error: Error) => void): unknown
  resume(): unknown
  pause(): unknown
}

/** Everything a command may touch outside itself. @internal */
export interface CliIo {
  readonly stdout: CliOutput
  readonly stderr: CliOutput
  readonly stdin: CliInput
  readonly env: Readonly<Record<string, string | undefined>>
  /** Aborts on Ctrl-C: every network call of the command is given it. */
  readonly signal?: AbortSignal
}

/**
 * An operational failure the command found itself (nothing accepted the event, no follow list):
 * printed as one line on stderr, with `exitCode` (1 unless said otherwise).
 *
 * @internal
 */
export class CliFailure extends Error {
  override name = 'CliFailure'
  /** The process exit code. */
  readonly exitCode: number

  constructor(message: string, exitCode = 1) {
    super(message)
    this.exitCode = exitCode
  }
}

/**
 * Writes lines to a stream.
 *
 * @param out - the stream.
 * @param lines - lines without their newline.
 * @internal
 */
export function print(out: CliOutput, ...lines: readonly string[]): void {
  if (lines.length > 0) out.write(`${lines.join('\n')}\n`)
}
