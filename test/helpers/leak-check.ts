/**
 * Leak check, as a vitest setup file: before each test it counts the process's open sockets,
 * servers, in-flight connects/lookups and timers; after the test it polls (every 10 ms, up to 2 s,
 * so closes in flight can finish) until none of those counts is above the baseline, and fails the
 * test with the list of what is left otherwise.
 *
 * Counts come from `process.getActiveResourcesInfo()`. Measured in a vitest `threads` worker on
 * Node 20: the worker itself holds one `MessagePort` (not watched) and each running hook one
 * `Timeout` (its own timeout, present in both beforeEach and afterEach, so it cancels out).
 * Servers started in `beforeAll` are in the baseline and never count; a server started in a test
 * and left listening does. Only ref'd timers are visible to Node's count: an `unref()`'d timer
 * left behind is not detected.
 *
 * Use: `setupFiles: ['test/helpers/leak-check.ts']` in vitest.config.ts, or import this module at
 * the top of a test file. Call {@link expectNoLeaks} to check at any point of a test.
 *
 * @module
 */
import { setTimeout as sleep } from 'node:timers/promises'
import { afterEach, beforeEach, expect } from 'vitest'

/**
 * The resource types watched, as Node 20 names them in `process.getActiveResourcesInfo()`:
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

/** A watched resource type whose count is above the baseline. */
export interface Leak {
  readonly type: string
  readonly baseline: number
  readonly now: number
}

/** Options of {@link findLeaks}. */
export interface LeakCheckOptions {
  /** How long to wait for counts to come back down. @default 2000 */
  timeoutMs?: number
  /** Poll interval. @default 10 */
  intervalMs?: number
}

/**
 * Counts the watched resources open now.
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

/** The watched types whose count now is above `baseline`. */
function excess(baseline: ResourceCounts, now: ResourceCounts): Leak[] {
  const leaks: Leak[] = []
  for (const [type, n] of Object.entries(now)) {
    const base = baseline[type] ?? 0
    if (n > base) leaks.push({ type, baseline: base, now: n })
  }
  return leaks.sort((a, b) => a.type.localeCompare(b.type))
}

/**
 * Waits until no watched count is above `baseline` and returns `[]`, or returns what is still
 * above it when the time runs out. Never throws.
 *
 * @param baseline - Counts taken before the code under test ran.
 * @param options - Polling bounds.
 * @returns the leaks left after the wait.
 */
export async function findLeaks(baseline: ResourceCounts, options: LeakCheckOptions = {}): Promise<Leak[]> {
  const timeoutMs = options.timeoutMs ?? 2_000
  const intervalMs = options.intervalMs ?? 10
  const deadline = Date.now() + timeoutMs
  for (;;) {
    // Counted before sleeping: the poll's own timer is not among the counts.
    const leaks = excess(baseline, countResources())
    if (leaks.length === 0 || Date.now() >= deadline) return leaks
    await sleep(intervalMs)
  }
}

/**
 * A readable account of `leaks`, with the open sockets' addresses where Node exposes them.
 *
 * @param leaks - From {@link findLeaks}.
 * @returns one line per leak plus one per open socket.
 */
export function describeLeaks(leaks: readonly Leak[]): string {
  const lines = leaks.map((l) => `${l.type}: ${l.now} open, ${l.baseline} before the test`)
  if (leaks.some((l) => l.type.startsWith('TCP'))) lines.push(...openSocketLines())
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

// Shared through globalThis: this module may be loaded twice in one file (as a setup file and by
// an import in the test file), and both copies must see the same baseline and install hooks once.
const state = ((globalThis as { __rendezvousLeakCheck?: { files: Set<string>; baseline: ResourceCounts } }).__rendezvousLeakCheck ??= {
  files: new Set(),
  baseline: {},
})

/**
 * The counts taken before the current test (by the `beforeEach` this module installs).
 *
 * @returns the baseline.
 */
export function currentBaseline(): ResourceCounts {
  return state.baseline
}

/**
 * Fails (via `expect`) when watched resources above `base` are still open after the wait.
 *
 * @param base - Counts to compare with. @default the current test's baseline
 * @param options - Polling bounds.
 * @returns nothing.
 * @throws the assertion error listing the leaks.
 */
export async function expectNoLeaks(base: ResourceCounts = state.baseline, options: LeakCheckOptions = {}): Promise<void> {
  const leaks = await findLeaks(base, options)
  expect(leaks, `resources left open:\n${describeLeaks(leaks)}`).toEqual([])
}

const file = expect.getState().testPath ?? ''
if (!state.files.has(file)) {
  state.files.add(file)
  beforeEach(() => {
    state.baseline = countResources()
  })
  afterEach(async () => {
    await expectNoLeaks(state.baseline)
  })
}
