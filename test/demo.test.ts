/**
 * `npm run demo` (demo/demo.ts), run as a newcomer runs it: a child process that starts its own
 * local network, reads, publishes, sends a DM and writes a chart, then must exit 0 by itself. The
 * output is parsed and checked for consistency (the table against the chart, the ground truth
 * against step 1), not against fixed numbers. Plus the pure pieces it prints with.
 *
 * The demo is spawned through scripts/run-ts.mjs (esbuild) so the test does not need dist/.
 */
import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { recallChartSvg } from '../demo/chart.js'
import { progressBar, table } from '../demo/terminal.js'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const TIMEOUT_MS = 120_000

interface Run {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
  readonly stdout: string
  readonly stderr: string
  readonly timedOut: boolean
}

/**
 * Runs the demo; on timeout kills its whole process group (run-ts.mjs runs the bundle in a child
 * of its own, which a plain kill would leave behind).
 */
function runDemo(outDir: string): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['scripts/run-ts.mjs', 'demo/demo.ts', '--out', outDir], {
      cwd: ROOT,
      detached: true,
      env: { ...process.env, FORCE_COLOR: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    let timedOut = false
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk))
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
    const timer = setTimeout(() => {
      timedOut = true
      try {
        if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL')
      } catch {
        // already gone
      }
    }, TIMEOUT_MS)
    child.on('error', (error) => {
      clearTimeout(timer)
      reject(error)
    })
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      resolve({ code, signal, stdout, stderr, timedOut })
    })
  })
}

/** One row of the comparison table. */
interface Row {
  recalled: number
  expected: number
  percent: number
  asked: number
  failed: number
  missed: number
}

function parseRow(stdout: string, name: string): Row {
  const escaped = name.replace(/[()]/g, '\\$&')
  const match = new RegExp(`^\\s*${escaped}\\s+(\\d+)/(\\d+) \\((\\d+\\.\\d)%\\)\\s+(\\d+)\\s+(\\d+)\\s+(\\d+)\\s*$`, 'm').exec(stdout)
  if (match === null) throw new Error(`no table row "${name}" in:\n${stdout}`)
  const [recalled, expected, percent, asked, failed, missed] = match.slice(1).map(Number) as [number, number, number, number, number, number]
  return { recalled, expected, percent, asked, failed, missed }
}

/**
 * A small well-formedness check (no XML parser in the dependencies): every tag closes in order,
 * attributes are quoted, the root is an `<svg>` in the SVG namespace. Returns the elements by name.
 */
function parseSvg(text: string): Map<string, string[]> {
  const elements = new Map<string, string[]>()
  const stack: string[] = []
  const tag = /<(\/?)([a-zA-Z][\w:-]*)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>/g
  let position = 0
  let roots = 0
  for (let m = tag.exec(text); m !== null; m = tag.exec(text)) {
    const between = text.slice(position, m.index)
    if (/[<>]/.test(between)) throw new Error(`malformed markup near: ${between.slice(0, 80)}`)
    position = tag.lastIndex
    const [whole, closing, name, attributes, selfClosing] = m as unknown as [string, string, string, string, string]
    if (closing === '/') {
      if (stack.pop() !== name) throw new Error(`unbalanced </${name}>`)
      continue
    }
    if (stack.length === 0) roots++
    const list = elements.get(name) ?? []
    list.push(whole)
    elements.set(name, list)
    void attributes
    if (selfClosing !== '/') stack.push(name)
  }
  if (stack.length > 0) throw new Error(`unclosed <${stack.join('>, <')}>`)
  if (/[<>]/.test(text.slice(position))) throw new Error('malformed markup at the end')
  if (roots !== 1 || !/^<svg\s[^>]*xmlns="http:\/\/www\.w3\.org\/2000\/svg"/.test(text)) throw new Error('the root is not one <svg> element')
  return elements
}

const attribute = (element: string, name: string): string | undefined => new RegExp(`\\s${name}="([^"]*)"`).exec(element)?.[1]

describe('npm run demo', () => {
  let outDir: string
  let run: Run

  beforeAll(async () => {
    outDir = mkdtempSync(join(tmpdir(), 'rendezvous-demo-'))
    run = await runDemo(outDir)
  }, TIMEOUT_MS + 10_000)

  afterAll(() => {
    if (outDir !== undefined) rmSync(outDir, { recursive: true, force: true })
  })

  it('runs to completion, exits 0 by itself, cleans up without help', () => {
    expect(run.timedOut, run.stdout + run.stderr).toBe(false)
    expect(run.code, run.stderr).toBe(0)
    expect(run.stdout).toMatch(/^finished in \d+\.\d s$/m)
    expect(run.stdout.split('\n')[0]).toMatch(/^Rendezvous demo/)
    // The demo's own guard fires only when something still holds the event loop after cleanup.
    expect(run.stderr).not.toMatch(/still running after cleanup/)
    expect(run.stderr).not.toMatch(/demo failed/)
    // Anything on stderr (a warning, a stack trace, an error) fails the test.
    expect(run.stderr.split('\n').filter((line) => line.trim() !== '')).toEqual([])
  })

  it('prints the comparison, measured in this run: the outbox model recalls more than the two big relays', () => {
    const truth = /who have (\d+) posts/.exec(run.stdout)
    expect(truth).not.toBeNull()
    const outbox = parseRow(run.stdout, 'outbox model (Rendezvous, k=2, budget 20)')
    const big = parseRow(run.stdout, 'two big relays')
    // Same ground truth for both rows, the one step 1 announced.
    expect(outbox.expected).toBe(Number(truth?.[1]))
    expect(big.expected).toBe(outbox.expected)
    for (const row of [outbox, big]) {
      expect(row.recalled).toBeGreaterThan(0)
      expect(row.recalled).toBeLessThanOrEqual(row.expected)
      expect(row.percent).toBeCloseTo((100 * row.recalled) / row.expected, 1)
    }
    expect(outbox.recalled).toBeGreaterThan(big.recalled)
    expect(outbox.missed).toBeLessThan(big.missed)
    // The fixed approach asks exactly its two relays; the outbox model its budget, plus a re-plan.
    expect(big.asked).toBe(2)
    expect(outbox.asked).toBeGreaterThan(2)
    expect(outbox.asked).toBeLessThanOrEqual(40)
    // The network has dead relays: an outbox plan of 20 relays meets some of them.
    expect(outbox.failed).toBeGreaterThan(0)
    expect(outbox.failed).toBeLessThan(outbox.asked)
  })

  it('shows a feed progress bar that reaches its total', () => {
    const bars = [...run.stdout.matchAll(/\[([# ]{24})\] (\d+)\/(\d+) relays, (\d+) posts/g)]
    expect(bars.length).toBeGreaterThan(0)
    const last = bars.at(-1)!
    expect(last[2]).toBe(last[3])
    expect(last[1]).toBe('#'.repeat(24))
  })

  it('publishes a note with proof of work and prints the delivery report per relay', () => {
    const line = /^6\. Published a note with proof of work 16 \(id ([0-9a-f]{12})…, (\d+) zero bits.*: (\d+) of (\d+) relays hold it$/m.exec(run.stdout)
    expect(line, run.stdout).not.toBeNull()
    const [, idStart, zeros, accepted, total] = line as unknown as [string, string, string, string, string]
    expect(Number(zeros)).toBeGreaterThanOrEqual(16)
    expect(idStart.startsWith('0000')).toBe(true)
    // Two live outboxes hold it; the third outbox is a dead relay and is not delivered.
    expect(Number(total)).toBe(3)
    expect(Number(accepted)).toBe(2)
    const targets = run.stdout.slice(run.stdout.indexOf(line![0])).split('\n').slice(1, 4)
    expect(targets.filter((t) => /my-outbox\s+ok: the relay holds it$/.test(t))).toHaveLength(2)
    expect(targets.filter((t) => /\(down\)\s+my-outbox\s+(not yet|gave-up|rejected|refused)/.test(t))).toHaveLength(1)
  })

  it('sends a NIP-17 message that the recipient reads back, from the user', () => {
    expect(run.stdout).toMatch(/^7\. Sent a NIP-17 private message to npub1\S+: gift wrap on (\d+)\/\1 of their DM relays, your copy on (\d+)\/\2 of yours\.$/m)
    expect(run.stdout).toMatch(/Their client read it back from their DM relays: "Hola! A private message from the Rendezvous demo\."/)
    expect(run.stdout).toMatch(/Signed by npub1\S+ \(you, verified\); their inbox: \d+ message\(s\), 0 unreadable\./)
  })

  it('writes an SVG chart whose points are the ones measured in this run', () => {
    const file = join(outDir, 'recall-vs-budget.svg')
    expect(run.stdout).toContain(file)
    expect(existsSync(file)).toBe(true)
    const svg = readFileSync(file, 'utf8')
    const elements = parseSvg(svg)
    const lines = elements.get('polyline') ?? []
    expect(lines).toHaveLength(2)
    const [outboxLine, bigLine] = lines.map((l) => (attribute(l, 'points') ?? '').split(' ').map((p) => p.split(',').map(Number))) as [number[][], number[][]]
    expect(outboxLine).toHaveLength(8)
    for (const [x, y] of [...outboxLine, ...bigLine]) {
      expect(Number.isFinite(x) && Number.isFinite(y)).toBe(true)
    }
    // The fixed approach is flat; the outbox curve has a point per budget, left to right.
    expect(new Set(bigLine.map(([, y]) => y)).size).toBe(1)
    expect(outboxLine.map(([x]) => x)).toEqual([...outboxLine.map(([x]) => x)].sort((a, b) => (a ?? 0) - (b ?? 0)))
    // The budget-20 point is the table's recall; the flat line is the two big relays' recall.
    const outbox = parseRow(run.stdout, 'outbox model (Rendezvous, k=2, budget 20)')
    const tooltip = new RegExp(`budget 20, recall ${outbox.percent.toFixed(1)}%`)
    expect(svg).toMatch(tooltip)
    const big = parseRow(run.stdout, 'two big relays')
    expect(run.stdout).toMatch(new RegExp(`two big relays ${big.percent.toFixed(0)}%\\)`))
  })
})

describe('the demo\u2019s output helpers', () => {
  it('the chart escapes text and rejects an axis without a range', () => {
    const svg = recallChartSvg({
      title: 'a <b> & "c"',
      caption: ['x < y'],
      xLabel: 'budget',
      yLabel: 'recall',
      xTicks: [1, 2],
      series: [{ label: 'l&m', color: '#000', points: [{ x: 1, y: 50 }, { x: 2, y: 150 }] }],
    })
    const elements = parseSvg(svg)
    expect(svg).toContain('a &lt;b&gt; &amp; &quot;c&quot;')
    // y is clamped to 0-100: 150 is drawn at the top of the plot, as 100 is.
    const points = attribute(elements.get('polyline')?.[0] ?? '', 'points')
    const top = recallChartSvg({ title: '', caption: [], xLabel: '', yLabel: '', xTicks: [1, 2], series: [{ label: '', color: '#000', points: [{ x: 2, y: 100 }] }] })
    expect(points?.split(' ')[1]).toBe(attribute(parseSvg(top).get('polyline')?.[0] ?? '', 'points'))
    expect(() => recallChartSvg({ title: '', caption: [], xLabel: '', yLabel: '', xTicks: [1], series: [] })).toThrow(RangeError)
  })

  it('the progress bar prints plain lines, at most every 250 ms, when the output is not a terminal', () => {
    const written: string[] = []
    let clock = 0
    const bar = progressBar({ write: (text: string) => written.push(text), isTTY: false }, 'relays', { now: () => clock })
    for (let i = 1; i <= 50; i++) {
      clock = i * 10 // 10 ms apart: one line per 25 updates
      bar.update(i, 50)
    }
    bar.finish()
    bar.finish()
    expect(written.every((w) => w.endsWith('\n') && !w.includes('\r'))).toBe(true)
    expect(written.map((w) => w.slice(w.indexOf(']') + 2, -1))).toEqual(['1/50 relays', '26/50 relays', '50/50 relays'])
    expect(written.at(-1)).toBe(`[${'#'.repeat(24)}] 50/50 relays\n`)
  })

  it('the progress bar redraws one line on a terminal and ends it once', () => {
    const written: string[] = []
    const bar = progressBar({ write: (text: string) => written.push(text), isTTY: true }, 'relays')
    bar.update(1, 4)
    bar.update(4, 4, '9 posts')
    bar.finish()
    expect(written.slice(0, 2).every((w) => w.startsWith('\r') && !w.includes('\n'))).toBe(true)
    expect(written.join('').split('\n')).toHaveLength(2)
    expect(written.at(-1)?.trimEnd()).toBe(`\r[${'#'.repeat(24)}] 4/4 relays, 9 posts`)
  })

  it('the table aligns numbers right under a rule', () => {
    expect(table(['name', 'n'], [['a', '1'], ['bb', '22']])).toEqual(['name   n', '----  --', 'a      1', 'bb    22'])
  })
})
