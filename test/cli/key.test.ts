/**
 * The passphrase readers of the command line, in process on fake streams (a child process has no
 * terminal to type on): the hidden prompt turns echo off and back on, edits like a terminal and
 * cancels on Ctrl-C; the stdin reader takes exactly one line and stops reading.
 */
import { EventEmitter } from 'node:events'
import { describe, expect, it } from 'vitest'
import { askHidden, readLine } from '../../src/cli/key.js'
import { CliFailure, type CliInput, type CliIo } from '../../src/cli/io.js'
import { UsageError } from '../../src/cli/args.js'

/** A stdin stand-in: records raw mode and pauses; `type()` delivers keystrokes. */
class FakeInput extends EventEmitter implements CliInput {
  readonly rawModes: boolean[] = []
  paused = true
  constructor(readonly isTTY: boolean) {
    super()
  }
  setRawMode(raw: boolean): this {
    this.rawModes.push(raw)
    return this
  }
  setEncoding(): this {
    return this
  }
  resume(): this {
    this.paused = false
    return this
  }
  pause(): this {
    this.paused = true
    return this
  }
  type(text: string): void {
    this.emit('data', text)
  }
}

function fakeIo(input: FakeInput): CliIo & { written: string[] } {
  const written: string[] = []
  return { stdin: input, stdout: { write: () => true }, stderr: { write: (t: string) => written.push(t) }, env: {}, written }
}

describe('askHidden', () => {
  it('reads up to Enter with echo off, applies Backspace and Ctrl-U, and restores the terminal', async () => {
    const input = new FakeInput(true)
    const io = fakeIo(input)
    const answer = askHidden(io, 'Passphrase: ')
    expect(input.rawModes).toEqual([true])
    input.type('wrong')
    input.type('\u0015')
    input.type('pass\u007f\u007fss')
    input.type(' wörd\rafter')
    await expect(answer).resolves.toBe('pass wörd')
    expect(input.rawModes).toEqual([true, false])
    expect(input.paused).toBe(true)
    expect(input.listenerCount('data')).toBe(0)
    // Only the prompt and the final newline: nothing typed is echoed.
    expect(io.written.join('')).toBe('Passphrase: \n')
  })

  it('Ctrl-C cancels with exit code 130 and still restores the terminal', async () => {
    const input = new FakeInput(true)
    const answer = askHidden(fakeIo(input), 'Passphrase: ')
    input.type('sec\u0003')
    const error = await answer.catch((e: unknown) => e)
    expect(error).toBeInstanceOf(CliFailure)
    expect((error as CliFailure).exitCode).toBe(130)
    expect(input.rawModes).toEqual([true, false])
  })

  it('refuses to prompt when stdin is not a terminal', () => {
    expect(() => askHidden(fakeIo(new FakeInput(false)), 'Passphrase: ')).toThrow(UsageError)
  })
})

describe('readLine', () => {
  it('takes the first line (CRLF too) across chunks and stops reading', async () => {
    const input = new FakeInput(false)
    const line = readLine(input)
    input.type('pass')
    input.type('phrase\r\nnext line')
    await expect(line).resolves.toBe('passphrase')
    expect(input.paused).toBe(true)
    expect(input.listenerCount('data')).toBe(0)
  })

  it('takes a last line without a newline, and refuses an empty stream', async () => {
    const input = new FakeInput(false)
    const line = readLine(input)
    input.type('no newline')
    input.emit('end')
    await expect(line).resolves.toBe('no newline')

    const empty = new FakeInput(false)
    const nothing = readLine(empty)
    empty.emit('end')
    await expect(nothing).rejects.toThrow(/stdin ended before a passphrase was read/)
  })

  it('stops waiting at the first Ctrl-C (exit 130) when no line comes', async () => {
    const input = new FakeInput(false)
    const interrupt = new AbortController()
    const line = readLine(input, interrupt.signal)
    input.type('half a passphr')
    interrupt.abort()
    await expect(line).rejects.toMatchObject({ exitCode: 130 })
    expect(input.listenerCount('data')).toBe(0)
  })
})
