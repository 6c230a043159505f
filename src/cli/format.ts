/**
 * Text helpers of the command line: short `npub`s, times, one-line content, aligned columns, and
 * JSON that can hold `Map`s. Everything printed that came from the network goes through
 * {@link clean} first: a post or a relay's message must not be able to move the cursor, clear the
 * screen or set the terminal's title.
 *
 * @module
 * @internal
 */
import { noteEncode, npubEncode } from '../crypto/nip19.js'

// C0 and C1 controls (ESC starts every terminal escape sequence) and the Unicode bidi overrides
// and isolates, which can make text read differently from what it is ("Trojan Source").
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g

/**
 * Makes network text safe and one line: every control character (newlines included) and bidi
 * control becomes a space, runs of white space become one, and the result is cut at `max`
 * characters (code points) with an ellipsis.
 *
 * @param text - text from a relay or an event.
 * @param max - longest result, in code points.
 * @returns the cleaned text.
 * @internal
 */
export function clean(text: string, max = Infinity): string {
  const flat = text.replace(UNSAFE, ' ').replace(/\s+/g, ' ').trim()
  const chars = [...flat]
  return chars.length > max ? `${chars.slice(0, Math.max(0, max - 1)).join('')}…` : flat
}

/**
 * The npub of a pubkey.
 *
 * @param pubkey - hex.
 * @returns `npub1…`.
 * @internal
 */
export function npub(pubkey: string): string {
  return npubEncode(pubkey)
}

/**
 * A short npub for columns: `npub1` and 8 characters, an ellipsis, the last 4.
 *
 * @param pubkey - hex.
 * @returns e.g. `npub1abcdefgh…wxyz`.
 * @internal
 */
export function shortNpub(pubkey: string): string {
  const full = npubEncode(pubkey)
  return `${full.slice(0, 13)}…${full.slice(-4)}`
}

/**
 * The `note1…` of an event id.
 *
 * @param id - hex.
 * @returns `note1…`.
 * @internal
 */
export function note(id: string): string {
  return noteEncode(id)
}

/**
 * A unix time as `YYYY-MM-DD HH:MM` UTC (the same on every machine, so output can be compared).
 *
 * @param seconds - unix seconds.
 * @returns the time, or `?` when it is not a valid time.
 * @internal
 */
export function time(seconds: number | undefined): string {
  if (seconds === undefined || !Number.isFinite(seconds)) return '?'
  const date = new Date(seconds * 1000)
  if (Number.isNaN(date.getTime())) return '?'
  return `${date.toISOString().slice(0, 16).replace('T', ' ')}Z`
}

/**
 * Rows of cells as aligned columns (two spaces apart; the last column is not padded).
 *
 * @param rows - the cells, already cleaned.
 * @param indent - spaces before each row.
 * @returns one line per row.
 * @internal
 */
export function columns(rows: ReadonlyArray<readonly string[]>, indent = 2): string[] {
  const widths: number[] = []
  for (const row of rows) {
    row.forEach((cell, i) => {
      widths[i] = Math.max(widths[i] ?? 0, [...cell].length)
    })
  }
  return rows.map(
    (row) =>
      ' '.repeat(indent) +
      row
        .map((cell, i) => (i === row.length - 1 ? cell : cell + ' '.repeat((widths[i] ?? 0) - [...cell].length)))
        .join('  ')
        .trimEnd(),
  )
}

/**
 * A score for display: one decimal.
 *
 * @param weight - the score.
 * @returns e.g. `100.0`.
 * @internal
 */
export function score(weight: number): string {
  return weight.toFixed(1)
}

/**
 * `JSON.stringify` that writes `Map`s as objects and `Set`s as arrays, indented.
 *
 * @param value - what to write.
 * @returns JSON text.
 * @internal
 */
export function toJson(value: unknown): string {
  return JSON.stringify(
    value,
    (_key, v: unknown) => {
      if (v instanceof Map) return Object.fromEntries(v)
      if (v instanceof Set) return [...v]
      return v
    },
    2,
  )
}

/**
 * "1 relay", "2 relays".
 *
 * @param n - the count.
 * @param word - the singular.
 * @param plural - the plural when not `word + 's'`.
 * @returns the phrase.
 * @internal
 */
export function count(n: number, word: string, plural = `${word}s`): string {
  return `${n} ${n === 1 ? word : plural}`
}
