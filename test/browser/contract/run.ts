/**
 * Runs the contract bundle in a Chromium page and brings the results back to Node.
 *
 * The page (generated, served from memory by the harness's static server) imports the bundle,
 * lists every case as it finishes (so a screenshot of a red run shows which cases failed and why)
 * and keeps its state on `window.contractRun`. Node starts the run, then polls that state in steps
 * of at most {@link STEP_TIMEOUT_MS}, up to an overall budget.
 *
 * @module
 */
import type { Page } from 'playwright-core'
import type { ChromiumSession, StaticServer } from '../harness.js'
import { explainFailure, STEP_TIMEOUT_MS } from '../harness.js'
import type { CaseResult } from './shim.js'
import type { ContractBundle } from './build.js'

/** Where the page and the bundle are served. */
const PAGE_PATH = '/contract/index.html'
const BUNDLE_PATH = '/contract/contract-bundle.js'

/** The page's state, as `window.contractRun.state` holds it. */
interface PageState {
  started: boolean
  done: boolean
  finished: number
  total: number
  /** Every result so far, appended as each case finishes. */
  finishedResults: CaseResult[]
  results?: CaseResult[]
  /** After the run: the databases the suite created, and those `indexedDB.databases()` lists. */
  databases?: { created: string[]; listed: string[] }
  error?: string
}

/** Options of {@link runContractInChromium}. */
export interface ContractRunOptions {
  /** Per case body and per hook, in the page. */
  readonly caseTimeoutMs: number
  /** For the whole run; cases not finished by then have no result (and fail in Node). */
  readonly budgetMs: number
  /** Names the screenshot taken when the run fails or any case fails. */
  readonly testName: string
}

/** What a run produced. */
export interface ContractRun {
  /** The page's results: every case that finished, in run order. */
  readonly results: readonly CaseResult[]
  /** Why the run did not complete (a page that did not load, crashed, or ran out of budget). */
  readonly error?: string
  /** The page's log (console, page errors, failed requests). */
  readonly log: readonly string[]
  /** The screenshot saved for a red run. */
  readonly screenshot?: string
  /** The databases the suite created, and those the browser's `indexedDB.databases()` lists. */
  readonly databases?: { readonly created: readonly string[]; readonly listed: readonly string[] }
  /** Wall time from page load to the last result, ms. */
  readonly durationMs: number
}

/** The generated test page: loads the bundle, exposes `contractRun`, renders results as they come. */
export function contractPageHtml(): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<link rel="icon" href="data:,">
<title>Storage contract: IndexedDB in Chromium</title>
<style>
  body { font: 13px/1.4 system-ui, sans-serif; margin: 1em; }
  li.failed { color: #b00020; } li.skipped { color: #777; } li.passed { color: #1b5e20; }
  pre { white-space: pre-wrap; margin: 0.2em 0 0.6em; }
</style>
</head>
<body>
<h1>Storage contract: IndexedDB in Chromium</h1>
<p id="status">loading the bundle</p>
<ol id="results"></ol>
<script type="module">
import * as contract from '${BUNDLE_PATH}'

const status = document.getElementById('status')
const list = document.getElementById('results')
const state = { started: false, done: false, finished: 0, total: contract.registeredCases().length, finishedResults: [] }

function show(result) {
  const item = document.createElement('li')
  item.className = result.status
  item.textContent = result.status + ': ' + result.name + ' (' + result.durationMs + ' ms)'
  if (result.error) {
    const detail = document.createElement('pre')
    detail.textContent = result.error.name + ': ' + result.error.message + (result.error.diff ? '\\n' + result.error.diff.replace(/\\u001b\\[[0-9;]*m/g, '') : '')
    item.append(detail)
  }
  list.append(item)
  status.textContent = state.finished + ' of ' + state.total + ' cases finished'
}

window.contractRun = {
  state,
  start(timeoutMs) {
    if (state.started) throw new Error('the contract run was already started in this page')
    state.started = true
    status.textContent = 'running ' + state.total + ' cases'
    contract
      .runRegistered({
        timeoutMs,
        onCaseDone(result) {
          state.finished++
          state.finishedResults.push(result)
          if (result.status === 'failed') console.error('[contract] failed: ' + result.name + ': ' + result.error.message)
          show(result)
        },
      })
      .then(async (results) => {
        state.databases = { created: contract.databaseNames(), listed: (await indexedDB.databases()).map((d) => d.name) }
        state.results = results
        const failed = results.filter((r) => r.status === 'failed').length
        status.textContent = 'done: ' + (results.length - failed) + ' of ' + results.length + ' cases did not fail'
      })
      .catch((error) => {
        state.error = String(error && error.stack ? error.stack : error)
        status.textContent = 'the runner itself failed: ' + state.error
      })
      .finally(() => {
        state.done = true
      })
  },
}
status.textContent = 'ready: ' + state.total + ' cases'
</script>
</body>
</html>
`
}

/**
 * Serves the page and the bundle, opens them in a fresh context of `session`, runs every case,
 * and collects the results. On a red run (an error, or any failed case) the harness prints the
 * page's log and saves a screenshot. The page's context is closed before returning.
 *
 * @param session - A running Chromium.
 * @param server - The harness's static server (the page and bundle are added to it).
 * @param bundle - The contract bundle.
 * @param options - Timeouts and the screenshot's name.
 * @returns the results and diagnostics; never throws for a failing page (the error is returned).
 */
export async function runContractInChromium(session: ChromiumSession, server: StaticServer, bundle: ContractBundle, options: ContractRunOptions): Promise<ContractRun> {
  server.addFile(BUNDLE_PATH, bundle.code)
  server.addFile(`${BUNDLE_PATH}.map`, bundle.map)
  server.addFile(PAGE_PATH, contractPageHtml())
  const watched = await session.newPage()
  const { page, log } = watched
  const started = Date.now()
  let results: CaseResult[] = []
  let databases: PageState['databases']
  let error: string | undefined
  try {
    await page.goto(`${server.url}${PAGE_PATH}`, { timeout: STEP_TIMEOUT_MS })
    await page.waitForFunction(() => 'contractRun' in window, undefined, { timeout: STEP_TIMEOUT_MS })
    await page.evaluate((timeoutMs) => (window as unknown as { contractRun: { start(t: number): void } }).contractRun.start(timeoutMs), options.caseTimeoutMs)
    const deadline = started + options.budgetMs
    let state = await readState(page)
    while (!state.done) {
      const left = deadline - Date.now()
      if (left <= 0) {
        error = `the run did not finish within ${options.budgetMs} ms (${state.finished} of ${state.total} cases finished)`
        break
      }
      // Wakes on completion or, at the latest, after one bounded step, to check the budget.
      await page
        .waitForFunction(() => (window as unknown as { contractRun: { state: PageState } }).contractRun.state.done, undefined, {
          timeout: Math.min(STEP_TIMEOUT_MS, left),
          polling: 100,
        })
        .catch((err: unknown) => {
          if (!(err instanceof Error && err.name === 'TimeoutError')) throw err
        })
      state = await readState(page)
    }
    if (state.error !== undefined) error = `the runner failed in the page: ${state.error}`
    results = state.results ?? (await partialResults(page))
    databases = state.databases
  } catch (err) {
    error = `the page failed: ${err instanceof Error ? err.message : String(err)}`
    results = await partialResults(page).catch(() => [])
  }
  const durationMs = Date.now() - started
  let screenshot: string | undefined
  try {
    if (error !== undefined || results.some((r) => r.status === 'failed')) screenshot = await explainFailure(options.testName, page, log)
  } finally {
    await watched.close()
  }
  return {
    results,
    ...(error === undefined ? {} : { error }),
    log: [...log],
    ...(screenshot === undefined ? {} : { screenshot }),
    ...(databases === undefined ? {} : { databases }),
    durationMs,
  }
}

async function readState(page: Page): Promise<PageState> {
  return page.evaluate(() => {
    const { state } = (window as unknown as { contractRun: { state: PageState } }).contractRun
    // Everything but the growing list of partial results, which only a run that stops early needs.
    return {
      started: state.started,
      done: state.done,
      finished: state.finished,
      total: state.total,
      finishedResults: [],
      ...(state.error === undefined ? {} : { error: state.error }),
      ...(state.results === undefined ? {} : { results: state.results }),
      ...(state.databases === undefined ? {} : { databases: state.databases }),
    }
  })
}

/** The results of the cases that finished, for a run that did not complete. */
async function partialResults(page: Page): Promise<CaseResult[]> {
  return page.evaluate(() => [...(window as unknown as { contractRun: { state: PageState } }).contractRun.state.finishedResults])
}
