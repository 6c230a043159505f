/**
 * Leak check, as a vitest setup file: after every test, no socket, server, in-flight connect and no
 * timer that the test opened may still be open. Failing tests name what is left and, for timers,
 * where they were created.
 *
 * Two sources, because neither alone is enough (measured in a vitest `threads` worker, Node 20):
 * - Handles: `process.getActiveResourcesInfo()` counts, compared with a baseline taken before the
 *   test. Sockets and servers show up there reliably (the worker itself holds only a
 *   `MessagePort`, not watched). Servers started in `beforeAll` are in the baseline and never
 *   count; a server started in a test and left listening does.
 * - Timers: the counts are not enough. vitest keeps a ref'd throttle timer of its own that comes
 *   and goes (~100 ms) and so can hide a leaked timer from a count, and `unref()`'d timers are not
 *   counted at all. So this module wraps `setTimeout`, `setInterval` and `setImmediate` and
 *   reports each one created during the test (ref'd or not) that is still pending. vitest's own
 *   timers use the functions it saved before setup files run, so they are not seen. Timers Node
 *   creates internally (socket timeouts) are only seen through the counts.
 *
 * Closes take a moment, so the check polls (every 10 ms, up to 2 s) before failing.
 *
 * Use: `setupFiles: ['test/helpers/leak-check.ts']` in vitest.config.ts, or import this module at
 * the top of a test file (both at once is fine). Call {@link expectNoLeaks} to check mid-test.
 *
 * @module
 */
import { setTimeout as sleep } from 'node:timers/promises'
import { afterEach, beforeEach, expect } from 'vitest'

/**
 * The handle types counted, as Node 20 names them in `process.getActiveResourcesInfo()`:
 * connected and listening TCP/pipe/UDP handles, in-flight connects and DNS lookups, timers.
 */
export const WATCHED_RESOURCES: readonly string[] = [
  'TCPSocketWrap',
  'TCPServerWrap',
  'TCPConnectWrap',
  'TLSWrap',
  'PipeWrap',
  'PipeServerWrap',
  'PipeConnectWrap',
  'UDPWrap',
  'GetAddrInfoReqWrap',
  'GetNameInfoReqWrap',
  'Timeout',
  'Immediate',
]

/** Counts of watched resources, by type. */
export type ResourceCounts = Readonly<Record<string, number>>

/** What was open before a test: handle counts, and the position in the timer log. */
export interface Baseline {
  readonly counts: ResourceCounts
  readonly timerSeq: number
}

/** A watched handle type whose count is above the baseline. */
export interface ResourceLeak {
  readonly type: string
  readonly baseline: number
  readonly now: number
}

/** A timer created after the baseline and still pending. */
export interface PendingTimer {
  readonly kind: 'setTimeout' | 'setInterval' | 'setImmediate'
  /** The delay asked for (ms); `undefined` for `setImmediate`. */
  readonly delayMs: number | undefined
  /** Whether it keeps the process alive. */
  readonly refed: boolean
  /** The first lines of the stack where it was created. */
  readonly createdAt: string
}

/** What {@link findLeaks} found: nothing when both lists are empty. */
export interface Leaks {
  readonly resources: readonly ResourceLeak[]
  readonly timers: readonly PendingTimer[]
}

/** Options of {@link findLeaks}. */
export interface LeakCheckOptions {
  /** How long to wait for things to close. @default 2000 */
  timeoutMs?: number
  /** Poll interval. @default 10 */
  intervalMs?: number
}

interface TrackedTimer {
  readonly seq: number
  readonly kind: PendingTimer['kind']
  readonly handle: { _destroyed?: boolean; hasRef?: () => boolean }
  readonly delayMs: number | undefined
  readonly created: Error
}

interface LeakCheckState {
  files: Set<string>
  baseline: Baseline
  timers: TrackedTimer[]
  seq: number
}

// Shared through globalThis: this module may be loaded twice in one file (as a setup file and by
// an import in the test file); both copies must share one timer log and install everything once.
const state: LeakCheckState = ((globalThis as { __rendezvousLeakCheck?: LeakCheckState }).__rendezvousLeakCheck ??= {
  files: new Set(),
  baseline: { counts: {}, timerSeq: 0 },
  timers: [],
  seq: 0,
})

function isPending(t: TrackedTimer): boolean {
  // Node marks a Timeout/Immediate `_destroyed` once it has fired (non-repeating) or been cleared.
  return t.handle._destroyed !== true
}

function track(kind: TrackedTimer['kind'], handle: unknown, delay: unknown): void {
  if (typeof handle !== 'object' || handle === null) return
  state.timers.push({
    seq: ++state.seq,
    kind,
    handle: handle as TrackedTimer['handle'],
    delayMs: kind === 'setImmediate' ? undefined : Number(delay ?? 0),
    // Only the structured trace is captured here; it is formatted only if reported.
    created: new Error('timer created'),
  })
  // Bounded: fired and cleared timers are dropped once the log grows.
  if (state.timers.length > 10_000) state.timers = state.timers.filter(isPending)
}

function wrapTimerFunction(name: TrackedTimer['kind']): void {
  const g = globalThis as unknown as Record<string, unknown>
  const original = g[name] as ((...args: unknown[]) => unknown) & { __leakCheckWrapped?: boolean }
  if (typeof original !== 'function' || original.__leakCheckWrapped) return
  const wrapped = function (this: unknown, ...args: unknown[]): unknown {
    const handle = original.apply(this, args)
    track(name, handle, args[1])
    return handle
  }
  // Keep util.promisify.custom and friends, so `promisify(setTimeout)` still works.
  for (const key of Reflect.ownKeys(original)) {
    if (key === 'length' || key === 'name' || key === 'prototype') continue
    const descriptor = Object.getOwnPropertyDescriptor(original, key)
    if (descriptor) Object.defineProperty(wrapped, key, descriptor)
  }
  Object.defineProperty(wrapped, '__leakCheckWrapped', { value: true })
  Object.defineProperty(wrapped, 'name', { value: name })
  g[name] = wrapped
}

wrapTimerFunction('setTimeout')
wrapTimerFunction('setInterval')
wrapTimerFunction('setImmediate')

/**
 * Counts the watched handles open now.
 *
 * @returns counts by type (types with no resource are absent).
 */
export function countResources(): ResourceCounts {
  const counts: Record<string, number> = {}
  for (const type of process.getActiveResourcesInfo()) {
    if (WATCHED_RESOURCES.includes(type)) counts[type] = (counts[type] ?? 0) + 1
  }
  return counts
}

/**
 * What is open now, to compare with later.
 *
 * @returns handle counts and the timer log position.
 */
export function takeBaseline(): Baseline {
  return { counts: countResources(), timerSeq: state.seq }
}

function resourceExcess(baseline: ResourceCounts, now: ResourceCounts): ResourceLeak[] {
  const leaks: ResourceLeak[] = []
  for (const [type, n] of Object.entries(now)) {
    const base = baseline[type] ?? 0
    if (n > base) leaks.push({ type, baseline: base, now: n })
  }
  return leaks.sort((a, b) => a.type.localeCompare(b.type))
}

function pendingTimersSince(seq: number): PendingTimer[] {
  return state.timers
    .filter((t) => t.seq > seq && isPending(t))
    .map((t) => ({
      kind: t.kind,
      delayMs: t.delayMs,
      refed: t.handle.hasRef?.() ?? true,
      createdAt: stackLines(t.created),
    }))
}

function stackLines(err: Error): string {
  const lines = (err.stack ?? '').split('\n').slice(1)
  // Skip this module's frames: the first frame of interest is the caller of setTimeout.
  const own = lines.filter((l) => !l.includes('leak-check'))
  return own
    .slice(0, 3)
    .map((l) => l.trim().replace(/^at /, ''))
    .join(' <- ')
}

/**
 * Waits until nothing opened since `baseline` is still open and returns empty lists, or returns
 * what is still open when the time runs out. Never throws.
 *
 * @param baseline - From {@link takeBaseline}, before the code under test ran.
 * @param options - Polling bounds.
 * @returns the leaks left after the wait.
 */
export async function findLeaks(baseline: Baseline, options: LeakCheckOptions = {}): Promise<Leaks> {
  const timeoutMs = options.timeoutMs ?? 2_000
  const intervalMs = Math.max(1, options.intervalMs ?? 10)
  const deadline = Date.now() + timeoutMs
  // Polls are counted too: a test that left fake timers installed freezes Date.now. The sleep
  // comes from node:timers/promises, which fake timers do not replace.
  const maxPolls = Math.ceil(timeoutMs / intervalMs)
  for (let polls = 0; ; polls++) {
    // Taken before sleeping, so the poll's own timer is never among them.
    const leaks: Leaks = { resources: resourceExcess(baseline.counts, countResources()), timers: pendingTimersSince(baseline.timerSeq) }
    const clean = leaks.resources.length === 0 && leaks.timers.length === 0
    if (clean || polls >= maxPolls || Date.now() >= deadline) return leaks
    await sleep(intervalMs)
  }
}

/**
 * A readable account of `leaks`, with open sockets' addresses and timers' creation sites.
 *
 * @param leaks - From {@link findLeaks}.
 * @returns one line per item.
 */
export function describeLeaks(leaks: Leaks): string {
  const lines = leaks.resources.map((l) => `${l.type}: ${l.now} open, ${l.baseline} before the test`)
  if (leaks.resources.some((l) => l.type.startsWith('TCP'))) lines.push(...openSocketLines())
  for (const t of leaks.timers) {
    const delay = t.delayMs === undefined ? '' : `(${t.delayMs} ms)`
    lines.push(`${t.kind}${delay}${t.refed ? '' : ' unref()\'d'} still pending, created at ${t.createdAt}`)
  }
  return lines.join('\n')
}

function openSocketLines(): string[] {
  // Undocumented but long-standing; only used to make the failure message useful.
  const getHandles = (process as unknown as { _getActiveHandles?: () => unknown[] })._getActiveHandles
  if (typeof getHandles !== 'function') return []
  const lines: string[] = []
  for (const handle of getHandles.call(process)) {
    const h = handle as { localPort?: unknown; remotePort?: unknown; remoteAddress?: unknown; address?: () => unknown; listening?: unknown }
    if (typeof h.remotePort === 'number') {
      lines.push(`  socket 127.0.0.1:${String(h.localPort)} <-> ${String(h.remoteAddress)}:${h.remotePort}`)
    } else if (h.listening === true && typeof h.address === 'function') {
      const a = h.address() as { port?: unknown } | null
      lines.push(`  server listening on port ${String(a?.port)}`)
    }
  }
  return lines
}

/**
 * The baseline taken before the current test by the `beforeEach` this module installs.
 *
 * @returns the baseline.
 */
export function currentBaseline(): Baseline {
  return state.baseline
}

/**
 * Fails (via `expect`) when something opened since `baseline` is still open after the wait.
 *
 * @param baseline - What to compare with. @default the current test's baseline
 * @param options - Polling bounds.
 * @returns nothing.
 * @throws the assertion error listing the leaks.
 */
export async function expectNoLeaks(baseline: Baseline = state.baseline, options: LeakCheckOptions = {}): Promise<void> {
  const leaks = await findLeaks(baseline, options)
  expect(leaks, `left open after the test:\n${describeLeaks(leaks)}`).toEqual({ resources: [], timers: [] })
}

const file = expect.getState().testPath ?? ''
if (!state.files.has(file)) {
  state.files.add(file)
  beforeEach(() => {
    state.baseline = takeBaseline()
  })
  afterEach(async () => {
    await expectNoLeaks(state.baseline)
  })
}
