/**
 * A stand-in for the part of `vitest` the storage contract suite uses, so the very same suite
 * (`test/storage/contract.ts`) can run inside a browser page, where vitest's runner does not exist.
 * The browser bundle (see `build.ts`) aliases the `vitest` import to this module.
 *
 * Two halves:
 * - Registration, as in vitest: `describe`, `it`/`test`, `beforeAll`, `afterAll`, `beforeEach`,
 *   `afterEach` build a tree of suites and cases when the suite module is imported. Nothing runs.
 *   {@link registeredCases} lists the cases (Node calls it at collection time, to make one vitest
 *   test per case without executing anything).
 * - Execution: {@link runRegistered} runs every case one after the other, with its hooks in
 *   vitest's order and a timeout per case and per hook, and returns one {@link CaseResult} each.
 *
 * `expect` is vitest's own: `@vitest/expect`'s Jest matchers as chai plugins, set up the way
 * vitest sets up its global `expect`, so a matcher here means exactly what it means in Node.
 * Anything the suite imports from `vitest` that is not exported here fails the bundle build, and a
 * registration feature this shim does not implement (`.only`, `.each`, async `describe`) throws
 * when it is used, so the suite can never be silently run differently from Node.
 *
 * Case names are the titles of the enclosing suites and the case, joined by {@link NAME_SEPARATOR}.
 *
 * @module
 */
import * as chai from 'chai'
import { ASYMMETRIC_MATCHERS_OBJECT, ChaiStyleAssertions, JestAsymmetricMatchers, JestChaiExpect, JestExtend } from '@vitest/expect'
import { diff } from '@vitest/utils/diff'
import type { ExpectStatic } from 'vitest'

// The plugins vitest's own global expect is built from (minus snapshots, which need its runner).
chai.use(JestExtend)
chai.use(JestChaiExpect)
chai.use(ChaiStyleAssertions)
chai.use(JestAsymmetricMatchers)

/** Joins suite titles and the case title into a case's full name. */
export const NAME_SEPARATOR = ' > '

/** A test body or hook, as vitest accepts them (sync or async; a hook may return a cleanup). */
type Body = () => unknown

/** A `describe` block. */
interface Suite {
  readonly title: string
  readonly path: readonly string[]
  readonly skip: boolean
  readonly children: Array<Suite | Case>
  readonly beforeAll: Body[]
  readonly afterAll: Body[]
  readonly beforeEach: Body[]
  readonly afterEach: Body[]
}

/** An `it` block. */
interface Case {
  readonly title: string
  readonly path: readonly string[]
  readonly skip: boolean
  readonly body: Body
  readonly timeout: number | undefined
}

/** A registered case, as {@link registeredCases} lists it. */
export interface RegisteredCase {
  /** Titles of the enclosing suites, outermost first, then the case's own title. */
  readonly path: readonly string[]
  /** `path` joined by {@link NAME_SEPARATOR}. */
  readonly name: string
  /** Registered with `it.skip` or inside `describe.skip`. */
  readonly skip: boolean
}

/** The outcome of one case. */
export interface CaseResult {
  /** The case's full name (see {@link RegisteredCase.name}). */
  readonly name: string
  readonly status: 'passed' | 'failed' | 'skipped'
  /** Why it failed: the first error of the body or its hooks, serialized. */
  readonly error?: SerializedError
  /** Time the case took with its `beforeEach`/`afterEach` hooks, in ms. */
  readonly durationMs: number
}

/** An error as it crosses from the page to Node (plain data). */
export interface SerializedError {
  readonly name: string
  readonly message: string
  readonly stack?: string
  /** For a failed matcher with an expected value: the expected/actual diff, as vitest prints it. */
  readonly diff?: string
  /** Other errors of the same case (a failing `afterEach` after a failing body), serialized. */
  readonly also?: readonly SerializedError[]
}

/** Options of {@link runRegistered}. */
export interface RunOptions {
  /** Per case (its body) and per hook, unless the case gives its own timeout. */
  readonly timeoutMs: number
  /** Called after each case, e.g. to log progress to the console. */
  readonly onCaseDone?: (result: CaseResult) => void
}

function newSuite(title: string, path: readonly string[], skip: boolean): Suite {
  return { title, path, skip, children: [], beforeAll: [], afterAll: [], beforeEach: [], afterEach: [] }
}

function unsupported(what: string): never {
  throw new Error(`the browser vitest shim does not support ${what}: extend test/browser/contract/shim.ts`)
}

/** A registry of suites and cases: the registration API, the collector and the runner. */
export interface Registry {
  /** Like vitest's `describe`: registers a suite; the body runs now and registers its children. */
  readonly describe: ((title: string, body: () => void) => void) & { readonly skip: (title: string, body: () => void) => void }
  /** Like vitest's `it`: registers a case, run later by `runRegistered`. */
  readonly it: ((title: string, body: () => unknown, timeout?: number) => void) & { readonly skip: (title: string, body: () => unknown, timeout?: number) => void }
  /** Like vitest's `beforeAll`: runs once before the cases of the enclosing suite. */
  readonly beforeAll: (body: () => unknown, timeout?: number) => void
  /** Like vitest's `afterAll`: runs once after the cases of the enclosing suite, even if they failed. */
  readonly afterAll: (body: () => unknown, timeout?: number) => void
  /** Like vitest's `beforeEach`: runs before every case of the enclosing suite, outer suites first; may return a cleanup. */
  readonly beforeEach: (body: () => unknown, timeout?: number) => void
  /** Like vitest's `afterEach`: runs after every case of the enclosing suite, inner suites first, even if it failed. */
  readonly afterEach: (body: () => unknown, timeout?: number) => void
  /**
   * Every registered case, in registration (and run) order; collecting never runs a body or hook.
   *
   * @returns the cases with their full names.
   */
  registeredCases(): RegisteredCase[]
  /**
   * Runs every registered case sequentially: `beforeAll` of each suite once before its first case,
   * `beforeEach` hooks outermost first, the body, `afterEach` hooks innermost first (each suite's
   * in reverse registration order, like vitest's default `sequence.hooks: 'stack'`), the cleanups
   * `beforeEach` hooks returned, and `afterAll` after the suite's last case. A failing `beforeEach` skips the body but not the
   * `afterEach` hooks; a failing `beforeAll` fails every case of its suite; a failing `afterAll`
   * fails the suite's cases that had passed. A body or hook still running at the timeout fails
   * the case (a promise cannot be cancelled: it is left to settle on its own, and the run goes on).
   *
   * @param options - the per-case timeout and a progress callback.
   * @returns one result per registered case, in the order of `registeredCases()`.
   * @throws {Error} when called twice (hooks keep state across cases: one run per registry).
   */
  runRegistered(options: RunOptions): Promise<CaseResult[]>
}

/**
 * A fresh, empty registry. The module's own exports are one registry (the one the bundled suite
 * registers with); tests of the runner make their own.
 *
 * @returns the registry.
 */
export function createRegistry(): Registry {
  const root: Suite = newSuite('', [], false)
  let current: Suite = root
  let running = false

  function checkTitle(title: unknown, what: string): string {
    if (typeof title !== 'string') unsupported(`${what} with a non-string title`)
    if (running) throw new Error(`${what}('${title}') was called while the suite runs; register everything at import time`)
    return title
  }

  function registerSuite(title: unknown, body: unknown, skip: boolean): void {
    const name = checkTitle(title, 'describe')
    if (typeof body !== 'function') unsupported('describe without a body function')
    const suite = newSuite(name, [...current.path, name], skip || current.skip)
    current.children.push(suite)
    const parent = current
    current = suite
    try {
      const result: unknown = (body as Body)()
      if (result instanceof Promise) unsupported('an async describe body')
    } finally {
      current = parent
    }
  }

  function registerCase(title: unknown, body: unknown, timeout: unknown, skip: boolean): void {
    const name = checkTitle(title, 'it')
    if (typeof body !== 'function') unsupported('it without a body function (todo)')
    if (timeout !== undefined && typeof timeout !== 'number') unsupported('it with an options object')
    current.children.push({ title: name, path: [...current.path, name], skip: skip || current.skip, body: body as Body, timeout })
  }

  function registerHook(kind: 'beforeAll' | 'afterAll' | 'beforeEach' | 'afterEach', body: unknown, timeout: unknown): void {
    if (running) throw new Error(`${kind} was called while the suite runs`)
    if (typeof body !== 'function') throw new TypeError(`${kind} needs a function`)
    if (timeout !== undefined) unsupported(`a timeout on ${kind}`)
    current[kind].push(body as Body)
  }

  function registeredCases(): RegisteredCase[] {
    return casesOf(root).map((c) => ({ path: c.path, name: c.path.join(NAME_SEPARATOR), skip: c.skip }))
  }

  return {
    describe: Object.assign((title: string, body: () => void) => registerSuite(title, body, false), {
      skip: (title: string, body: () => void) => registerSuite(title, body, true),
      only: () => unsupported('describe.only'),
      each: () => unsupported('describe.each'),
      todo: () => unsupported('describe.todo'),
      concurrent: () => unsupported('describe.concurrent'),
    }),
    it: Object.assign((title: string, body: () => unknown, timeout?: number) => registerCase(title, body, timeout, false), {
      skip: (title: string, body: () => unknown, timeout?: number) => registerCase(title, body, timeout, true),
      only: () => unsupported('it.only'),
      each: () => unsupported('it.each'),
      todo: () => unsupported('it.todo'),
      concurrent: () => unsupported('it.concurrent'),
    }),
    beforeAll: (body, timeout) => registerHook('beforeAll', body, timeout),
    afterAll: (body, timeout) => registerHook('afterAll', body, timeout),
    beforeEach: (body, timeout) => registerHook('beforeEach', body, timeout),
    afterEach: (body, timeout) => registerHook('afterEach', body, timeout),
    registeredCases,
    async runRegistered(options) {
      if (running) throw new Error('runRegistered() was already called on this registry')
      running = true
      const results = new Map<string, CaseResult>()
      const record = (result: CaseResult): void => {
        results.set(result.name, result)
        options.onCaseDone?.(result)
      }
      await runSuite(root, [], options, record, results)
      return registeredCases().map(
        (c) => results.get(c.name) ?? { name: c.name, status: 'failed', error: plainError('the runner produced no result for this case'), durationMs: 0 },
      )
    },
  }
}

/** The registry the bundled suite registers with (through the `vitest` alias). */
const registry = createRegistry()

/** Like vitest's `describe` (see {@link Registry.describe}). */
export const describe = registry.describe
/** Like vitest's `it` (see {@link Registry.it}). */
export const it = registry.it
/** Same as {@link it}. */
export const test = registry.it
/** Like vitest's `beforeAll` (see {@link Registry.beforeAll}). */
export const beforeAll = registry.beforeAll
/** Like vitest's `afterAll` (see {@link Registry.afterAll}). */
export const afterAll = registry.afterAll
/** Like vitest's `beforeEach` (see {@link Registry.beforeEach}). */
export const beforeEach = registry.beforeEach
/** Like vitest's `afterEach` (see {@link Registry.afterEach}). */
export const afterEach = registry.afterEach
/** The cases registered with the module's registry (see {@link Registry.registeredCases}). */
export const registeredCases = registry.registeredCases
/** Runs the module's registry (see {@link Registry.runRegistered}). */
export const runRegistered = registry.runRegistered

/**
 * vitest's `expect`, built as vitest builds its global one: chai's `expect` with the Jest matchers
 * and the asymmetric matchers (`expect.any`, `expect.objectContaining`, ...) attached.
 */
export const expect = Object.assign((value: unknown, message?: string) => chai.expect(value, message), chai.expect) as unknown as ExpectStatic
Object.assign(expect, (globalThis as unknown as Record<symbol, object>)[ASYMMETRIC_MATCHERS_OBJECT])

function casesOf(suite: Suite): Case[] {
  return suite.children.flatMap((child) => ('body' in child ? [child] : casesOf(child)))
}

async function runSuite(suite: Suite, chain: readonly Suite[], options: RunOptions, record: (r: CaseResult) => void, results: Map<string, CaseResult>): Promise<void> {
  const cases = casesOf(suite)
  if (cases.every((c) => c.skip)) {
    for (const c of cases) record({ name: c.path.join(NAME_SEPARATOR), status: 'skipped', durationMs: 0 })
    return
  }
  const path = [...chain, suite]
  for (const hook of suite.beforeAll) {
    const error = await settle(hook, options.timeoutMs, `beforeAll of '${suite.title}'`)
    if (error !== undefined) {
      for (const c of cases) record({ name: c.path.join(NAME_SEPARATOR), status: 'failed', error: serialize(error), durationMs: 0 })
      return
    }
  }
  for (const child of suite.children) {
    if ('body' in child) record(await runCase(child, path, options))
    else await runSuite(child, path, options, record, results)
  }
  for (const hook of [...suite.afterAll].reverse()) {
    const error = await settle(hook, options.timeoutMs, `afterAll of '${suite.title}'`)
    if (error === undefined) continue
    for (const c of cases) {
      const name = c.path.join(NAME_SEPARATOR)
      const before = results.get(name)
      if (before?.status === 'passed') record({ ...before, status: 'failed', error: serialize(error) })
    }
  }
}

async function runCase(c: Case, chain: readonly Suite[], options: RunOptions): Promise<CaseResult> {
  const name = c.path.join(NAME_SEPARATOR)
  if (c.skip) return { name, status: 'skipped', durationMs: 0 }
  const started = performance.now()
  const errors: unknown[] = []
  const cleanups: Body[] = []
  const timeoutMs = c.timeout ?? options.timeoutMs
  let ready = true
  for (const suite of chain) {
    for (const hook of suite.beforeEach) {
      if (!ready) break
      const error = await settle(hook, timeoutMs, `beforeEach of '${suite.title}'`, (cleanup) => cleanups.push(cleanup))
      if (error !== undefined) {
        errors.push(error)
        ready = false
      }
    }
  }
  if (ready) {
    const error = await settle(c.body, timeoutMs, 'the test')
    if (error !== undefined) errors.push(error)
  }
  for (const suite of [...chain].reverse()) {
    for (const hook of [...suite.afterEach].reverse()) {
      const error = await settle(hook, timeoutMs, `afterEach of '${suite.title}'`)
      if (error !== undefined) errors.push(error)
    }
  }
  // As in vitest: the functions beforeEach hooks returned run after the afterEach hooks, last first.
  for (const cleanup of cleanups.reverse()) {
    const error = await settle(cleanup, timeoutMs, 'a beforeEach cleanup')
    if (error !== undefined) errors.push(error)
  }
  const durationMs = Math.round(performance.now() - started)
  if (errors.length === 0) return { name, status: 'passed', durationMs }
  const [first, ...rest] = errors.map(serialize)
  return { name, status: 'failed', error: rest.length > 0 ? { ...first!, also: rest } : first!, durationMs }
}

/**
 * Runs a body or hook to completion or timeout.
 *
 * @returns the error it threw or rejected with, a timeout error, or `undefined` when it succeeded.
 */
async function settle(body: Body, timeoutMs: number, what: string, onCleanup?: (cleanup: Body) => void): Promise<unknown> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${timeoutMs} ms`)), timeoutMs)
  })
  try {
    const returned = await Promise.race([Promise.resolve().then(body), timedOut])
    if (typeof returned === 'function') {
      if (onCleanup) onCleanup(returned as Body)
      else unsupported(`${what} returning a function`)
    }
    return undefined
  } catch (error) {
    return error ?? new Error(`${what} threw ${String(error)}`)
  } finally {
    clearTimeout(timer)
  }
}

function plainError(message: string): SerializedError {
  return { name: 'Error', message }
}

/** Plain data for an error: name, message, stack, and the diff when a matcher gave expected and actual. */
export function serialize(error: unknown): SerializedError {
  if (!(error instanceof Error)) return plainError(`a non-Error was thrown: ${safeString(error)}`)
  const { actual, expected, showDiff } = error as Error & { actual?: unknown; expected?: unknown; showDiff?: boolean }
  let difference: string | undefined
  if (showDiff !== false && ('expected' in error || 'actual' in error)) {
    try {
      difference = diff(expected, actual) ?? undefined
    } catch {
      difference = undefined
    }
  }
  const base: SerializedError = { name: error.name, message: error.message }
  return {
    ...base,
    ...(error.stack === undefined ? {} : { stack: error.stack }),
    ...(difference === undefined ? {} : { diff: difference }),
  }
}

function safeString(value: unknown): string {
  try {
    return String(value)
  } catch {
    return Object.prototype.toString.call(value)
  }
}
