/**
 * The IndexedDB adapter passes the storage contract suite (`test/storage/contract.ts`, the one
 * every adapter runs in Node) inside Chromium, over the browser's real IndexedDB.
 *
 * How: `contract/build.ts` bundles the suite for the browser with `vitest` replaced by a shim
 * (`contract/shim.ts`: the same registration API, vitest's own `expect`, a sequential runner).
 * At collection time Node imports that same bundle to list the cases (nothing runs), and registers
 * one vitest test per case under the same titles, so the summary counts them one by one. The
 * browser runs the whole suite once, in `beforeAll`; each test then reports its case's result.
 * A case without a browser result fails, and so does a browser result for a case Node did not
 * collect (the last test).
 *
 * Without Chromium the tests show as skipped (see `describeBrowser` in `harness.ts`).
 *
 * @module
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { describeBrowser, launchChromium, startStaticServer, type ChromiumSession, type StaticServer } from './harness.js'
import { buildContractBundle, loadInNode, mapStack } from './contract/build.js'
import { runContractInChromium, type ContractRun } from './contract/run.js'
import type { CaseResult, RegisteredCase, SerializedError } from './contract/shim.js'

/** Per case body and per hook in the page (vitest's own `testTimeout` here is 60 s). */
const CASE_TIMEOUT_MS = 30_000
/** The whole run in the page. */
const RUN_BUDGET_MS = 300_000

// Collection: the bundle the page will run, and its cases as Node sees them.
const bundle = await buildContractBundle()
const { cases } = await loadInNode(bundle)

describeBrowser('IndexedDB storage contract in Chromium', () => {
  let server: StaticServer | undefined
  let session: ChromiumSession | undefined
  let run: ContractRun | undefined
  const byName = new Map<string, CaseResult>()

  beforeAll(async () => {
    try {
      server = await startStaticServer()
      session = await launchChromium()
      run = await runContractInChromium(session, server, bundle, {
        caseTimeoutMs: CASE_TIMEOUT_MS,
        budgetMs: RUN_BUDGET_MS,
        testName: 'indexeddb-contract',
      })
    } finally {
      // The results are plain data from here on: nothing stays open while the tests report them.
      await session?.close()
      await server?.close()
    }
    for (const result of run.results) byName.set(result.name, result)
    const count = (status: CaseResult['status']): number => run!.results.filter((r) => r.status === status).length
    console.log(
      `[browser] storage contract in Chromium, ${cases.length} cases: ${count('passed')} passed, ${count('failed')} failed, ` +
        `${count('skipped')} skipped, ${cases.length - run.results.length} without a result; ${(run.durationMs / 1000).toFixed(1)} s` +
        (run.error === undefined ? '' : ` (${run.error})`),
    )
  }, RUN_BUDGET_MS + 60_000)

  afterAll(async () => {
    // Only reached with something open when beforeAll itself timed out.
    await session?.close()
    await server?.close()
  })

  registerCases(cases, 0, (registered) => {
    it(registered.path.at(-1)!, (context) => {
      const result = byName.get(registered.name)
      if (result === undefined) {
        throw new Error(`Chromium reported no result for this case${run?.error === undefined ? '' : `: ${run.error}`}${screenshotNote()}`)
      }
      if (result.status === 'skipped') {
        context.skip()
        return
      }
      if (result.status === 'failed') throw browserError(result.error)
    })
  })

  it('Chromium ran exactly the cases collected in Node, each once, on its own IndexedDB', () => {
    const collected = cases.map((c) => c.name)
    const reported = run?.results.map((r) => r.name) ?? []
    expect(new Set(collected).size, 'case names collected in Node are unique').toBe(collected.length)
    expect(reported.filter((name) => !collected.includes(name)), 'cases Chromium ran that Node did not collect').toEqual([])
    expect(reported).toEqual(collected)
    expect(run?.error).toBeUndefined()
    // The suite really went through Chromium's IndexedDB: its databases are there. Not all of
    // them: the adapter opens lazily, so a storage only argument checks touched never made one.
    const created = run?.databases?.created ?? []
    const listed = (run?.databases?.listed ?? []).filter((name) => name.startsWith('rendezvous-contract-'))
    expect(listed.length, 'contract databases in indexedDB.databases()').toBeGreaterThan(created.length / 2)
    expect(listed.filter((name) => !created.includes(name)), 'databases the suite did not create').toEqual([])
  })

  function screenshotNote(): string {
    return run?.screenshot === undefined ? '' : `\n(screenshot: ${run.screenshot})`
  }

  /** The page's error as a Node error: message, diff, stack mapped to the TypeScript sources. */
  function browserError(error: SerializedError | undefined): Error {
    if (error === undefined) return new Error(`failed in Chromium without an error${screenshotNote()}`)
    const parts = [`[chromium] ${error.message}`]
    if (error.diff !== undefined) parts.push(stripAnsi(error.diff))
    for (const also of error.also ?? []) parts.push(`and then: ${also.name}: ${also.message}`)
    const converted = new Error(parts.join('\n\n') + screenshotNote())
    converted.name = error.name
    converted.stack = `${converted.name}: ${converted.message}\n${mapStack(stackFrames(error.stack), bundle)}`
    return converted
  }
})

/**
 * Registers the collected cases under the same `describe` nesting as in the page: the cases come
 * in run order, so the cases of one suite are consecutive.
 */
function registerCases(list: readonly RegisteredCase[], depth: number, register: (c: RegisteredCase) => void): void {
  let index = 0
  while (index < list.length) {
    const first = list[index]!
    if (first.path.length === depth + 1) {
      register(first)
      index++
      continue
    }
    const title = first.path[depth]!
    let end = index
    while (end < list.length && list[end]!.path.length > depth + 1 && list[end]!.path[depth] === title) end++
    const group = list.slice(index, end)
    describe(title, () => registerCases(group, depth + 1, register))
    index = end
  }
}

/** A stack without its first line(s) of message: only the `at ...` frames. */
function stackFrames(stack: string | undefined): string {
  return (stack ?? '')
    .split('\n')
    .filter((line) => /^\s+at /.test(line))
    .join('\n')
}

function stripAnsi(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/\u001b\[[0-9;]*m/g, '')
}
