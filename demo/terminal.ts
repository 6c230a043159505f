/**
 * What the demo prints with: a progress bar that redraws in place on a terminal and falls back to
 * a few plain lines when the output is a pipe or a file (a CI log, a test), and a plain-text table.
 *
 * @module
 */

/** Where the demo writes: `process.stdout` or a stand-in. */
export interface Output {
  write(text: string): unknown
  readonly isTTY?: boolean
}

/** A progress bar for a count that may grow (a re-plan adds relays). */
export interface ProgressBar {
  /** Shows `done` of `total`, with a short note after the count. */
  update(done: number, total: number, note?: string): void
  /** Draws the final state and ends the line. Idempotent. */
  finish(): void
}

const BAR_WIDTH = 24
/** A non-terminal gets a line at most this often (ms), plus the last one. */
const PLAIN_INTERVAL_MS = 250

/**
 * A `[#####     ] 12/26 relays` bar. On a TTY it is redrawn with `\r`; elsewhere a plain line is
 * printed at most every 250 ms and once at the end, so logs stay short.
 *
 * @param out - where to draw.
 * @param unit - what is counted ("relays").
 * @param options - `indent` printed before the bar; `now`, the clock in ms (tests).
 * @returns the bar.
 * @example
 * ```ts
 * const bar = progressBar(process.stdout, 'relays', { indent: '   ' })
 * bar.update(3, 10, '120 posts')
 * bar.finish()
 * ```
 */
export function progressBar(out: Output, unit: string, options: { indent?: string; now?: () => number } = {}): ProgressBar {
  const { indent = '', now = () => performance.now() } = options
  const tty = out.isTTY === true
  let last = { done: 0, total: 0, note: '' }
  let lastPlainAt = -Infinity
  let lastPlainText = ''
  let finished = false
  let drawn = false
  const text = (): string => {
    const ratio = last.total === 0 ? 0 : Math.min(1, last.done / last.total)
    const filled = Math.round(ratio * BAR_WIDTH)
    const note = last.note === '' ? '' : `, ${last.note}`
    return `${indent}[${'#'.repeat(filled)}${' '.repeat(BAR_WIDTH - filled)}] ${last.done}/${last.total} ${unit}${note}`
  }
  const plain = (force: boolean): void => {
    const at = now()
    const line = text()
    if (line === lastPlainText || (!force && at - lastPlainAt < PLAIN_INTERVAL_MS)) return
    lastPlainAt = at
    lastPlainText = line
    out.write(`${line}\n`)
  }
  return {
    update(done, total, note = '') {
      if (finished) return
      last = { done, total, note }
      if (tty) {
        // Pad so a shorter line fully covers the longer one drawn before it.
        out.write(`\r${text().padEnd(72)}`)
        drawn = true
      } else {
        plain(false)
      }
    },
    finish() {
      if (finished) return
      finished = true
      if (tty) out.write(drawn ? `\r${text().padEnd(72)}\n` : `${text()}\n`)
      else plain(true)
    },
  }
}

/**
 * Lays out rows under a header: first column left-aligned, the others right-aligned, two spaces
 * between columns, a rule under the header.
 *
 * @param header - column titles.
 * @param rows - cells, as many per row as the header has.
 * @param indent - printed before each line.
 * @returns the lines (no trailing newline).
 * @example
 * ```ts
 * console.log(table(['approach', 'recall'], [['outbox', '95%']]).join('\n'))
 * ```
 */
export function table(header: readonly string[], rows: readonly (readonly string[])[], indent = ''): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)))
  const line = (cells: readonly string[]): string =>
    indent + cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ').trimEnd()
  return [line(header), indent + widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)]
}
