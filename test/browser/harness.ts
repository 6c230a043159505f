/**
 * The browser test harness: Debian's Chromium driven by `playwright-core`, a static HTTP server for
 * the built package, and the diagnostics a red run needs (the page's console, its errors, failed
 * requests and a screenshot in `test-output/browser/`).
 *
 * Every browser test file uses it the same way:
 *
 * ```ts
 * describeBrowser('my capability', () => {
 *   let server: StaticServer
 *   let chromium: ChromiumSession
 *   beforeAll(async () => {
 *     server = await startStaticServer()
 *     chromium = await launchChromium()
 *   })
 *   afterAll(async () => {
 *     await chromium?.close()
 *     await server?.close()
 *   })
 *   it('does the thing', () =>
 *     withPage(chromium, 'does the thing', async ({ page }) => {
 *       await page.goto(`${server.url}/test/browser/pages/lab.html`)
 *       expect(await page.evaluate(() => 1 + 1)).toBe(2)
 *     }))
 * })
 * ```
 *
 * Policy when Chromium is missing ({@link browserAvailability}): the tests are registered as
 * skipped (the summary shows them, never hides them) and one line says why, unless
 * `RENDEZVOUS_REQUIRE_BROWSER=1` (CI sets it), in which case they fail.
 *
 * Pages load the package the way a user without a bundler would: a `<script type="importmap">`
 * ({@link IMPORT_MAP}) that maps `nostr-rendezvous` to `/dist/**` and its dependencies to
 * `/node_modules/**`, both served as plain files by {@link startStaticServer}.
 *
 * @module
 */
import { accessSync, constants as fsConstants, existsSync } from 'node:fs'
import { mkdir, readFile, stat } from 'node:fs/promises'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { Socket } from 'node:net'
import { extname, join, resolve, sep } from 'node:path'
import { fileURLToPath } from 'node:url'
import { chromium, type Browser, type BrowserContext, type BrowserContextOptions, type Page } from 'playwright-core'
import { describe, it } from 'vitest'

// ---------------------------------------------------------------------------------------------
// Where things are
// ---------------------------------------------------------------------------------------------

/** The repository root (two levels above this file). */
export const REPO_ROOT: string = fileURLToPath(new URL('../../', import.meta.url))

/** Where failure screenshots go: `test-output/browser/` under the repository root. */
export const OUTPUT_DIR: string = join(REPO_ROOT, 'test-output', 'browser')

/** The Chromium binary used unless `RENDEZVOUS_CHROMIUM` names another one. */
export const DEFAULT_CHROMIUM_PATH = '/usr/bin/chromium'

/** The Chromium binary to launch: `RENDEZVOUS_CHROMIUM` when set, else {@link DEFAULT_CHROMIUM_PATH}. */
export function chromiumPath(): string {
  return process.env.RENDEZVOUS_CHROMIUM || DEFAULT_CHROMIUM_PATH
}

/** Bound on every single Playwright step (navigation, evaluate, wait), in ms. */
export const STEP_TIMEOUT_MS = 15_000

// ---------------------------------------------------------------------------------------------
// Skip or require
// ---------------------------------------------------------------------------------------------

/** Whether the browser tests can run here, and if not, why. */
export interface BrowserAvailability {
  readonly available: boolean
  /** Why not, when `available` is false. */
  readonly reason?: string
  /** Whether `RENDEZVOUS_REQUIRE_BROWSER=1` is set (then "not available" is a failure). */
  readonly required: boolean
}

/**
 * Checks that the Chromium binary ({@link chromiumPath}) exists and is executable.
 *
 * @returns availability, with a reason naming the path when it is missing.
 * @example
 * ```ts
 * const { available, reason } = browserAvailability()
 * if (!available) console.log(reason)
 * ```
 */
export function browserAvailability(): BrowserAvailability {
  const required = process.env.RENDEZVOUS_REQUIRE_BROWSER === '1'
  const path = chromiumPath()
  try {
    accessSync(path, fsConstants.X_OK)
    return { available: true, required }
  } catch {
    const reason = `no executable Chromium at ${path} (install Debian's "chromium" package or set RENDEZVOUS_CHROMIUM)`
    return { available: false, reason, required }
  }
}

/**
 * `describe` for browser tests, with the agreed policy in one place: when Chromium is available the
 * suite runs; when it is missing the suite is registered with `describe.skip` (its tests show as
 * skipped) and one line says why; when it is missing and `RENDEZVOUS_REQUIRE_BROWSER=1`, one test
 * named "Chromium is available" fails with the reason and the suite's tests show as skipped.
 *
 * @param name - The suite name.
 * @param fn - Registers the suite's hooks and tests.
 * @returns nothing.
 * @example
 * ```ts
 * describeBrowser('IndexedDB storage in Chromium', () => {
 *   it('...', async () => {})
 * })
 * ```
 */
export function describeBrowser(name: string, fn: () => void): void {
  const availability = browserAvailability()
  if (availability.available) {
    describe(name, fn)
    return
  }
  if (!availability.required) {
    console.log(`[browser tests] skipping "${name}": ${availability.reason}`)
    describe.skip(name, fn)
    return
  }
  // Required but missing: one test that fails with the reason (counted as a failure by every
  // reporter), and the suite's own tests shown as skipped.
  describe(name, () => {
    it('Chromium is available (RENDEZVOUS_REQUIRE_BROWSER=1)', () => {
      throw new Error(`RENDEZVOUS_REQUIRE_BROWSER=1 but ${availability.reason}`)
    })
    describe.skip('(needs Chromium)', fn)
  })
}

// ---------------------------------------------------------------------------------------------
// The import map
// ---------------------------------------------------------------------------------------------

/**
 * The import map a user without a bundler writes for the built package, with the repository root
 * served at `/`: every subpath of `nostr-rendezvous` to `/dist/**`, the noble packages by prefix
 * (their v2 files sit at the package root), and the three single-file dependencies.
 * `isomorphic-ws/browser.js` is ESM and exports the browser's own `WebSocket`.
 */
export const IMPORT_MAP: { readonly imports: Readonly<Record<string, string>> } = Object.freeze({
  imports: Object.freeze({
    'nostr-rendezvous': '/dist/index.js',
    'nostr-rendezvous/crypto': '/dist/crypto/index.js',
    'nostr-rendezvous/relay-pool': '/dist/relay-pool/index.js',
    'nostr-rendezvous/outbox': '/dist/outbox/index.js',
    'nostr-rendezvous/storage': '/dist/storage/index.js',
    'nostr-rendezvous/storage/indexeddb': '/dist/storage/indexeddb.js',
    '@noble/hashes/': '/node_modules/@noble/hashes/',
    '@noble/curves/': '/node_modules/@noble/curves/',
    '@noble/ciphers/': '/node_modules/@noble/ciphers/',
    '@scure/base': '/node_modules/@scure/base/index.js',
    'idb-keyval': '/node_modules/idb-keyval/dist/index.js',
    'isomorphic-ws': '/node_modules/isomorphic-ws/browser.js',
  }),
})

/**
 * The `<script type="importmap">` element for {@link IMPORT_MAP}, for pages a test generates.
 *
 * @returns the element's HTML.
 */
export function importMapScript(): string {
  return `<script type="importmap">\n${JSON.stringify(IMPORT_MAP, null, 2)}\n</script>`
}

/**
 * The import map written in an HTML document (the first `<script type="importmap">`), parsed, so a
 * test can check that a static page's map is {@link IMPORT_MAP}.
 *
 * @param html - The document.
 * @returns the parsed map, or `undefined` when there is none.
 * @throws SyntaxError when the map is not JSON.
 */
export function importMapOf(html: string): unknown {
  const match = /<script\s+type=["']importmap["'][^>]*>([\s\S]*?)<\/script>/i.exec(html)
  return match ? (JSON.parse(match[1]!) as unknown) : undefined
}

// ---------------------------------------------------------------------------------------------
// The static server
// ---------------------------------------------------------------------------------------------

/** The directories served from the repository, each under the same path in the URL. */
export const SERVED_DIRECTORIES: readonly string[] = ['dist', 'node_modules', 'test/browser/pages', 'examples']

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.cjs': 'text/javascript; charset=utf-8',
  '.html': 'text/html; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ts': 'text/plain; charset=utf-8',
}

/**
 * The content type served for a file name, by extension.
 *
 * @param path - A file name or URL path.
 * @returns the type; `application/octet-stream` for unknown extensions.
 */
export function contentTypeOf(path: string): string {
  return CONTENT_TYPES[extname(path).toLowerCase()] ?? 'application/octet-stream'
}

/** Options of {@link startStaticServer}. */
export interface StaticServerOptions {
  /** In-memory files to serve from the start, by URL path (`/bundle.js`). See {@link StaticServer.addFile}. */
  readonly files?: Readonly<Record<string, { readonly body: string | Uint8Array; readonly type?: string }>>
}

/** A static HTTP server on 127.0.0.1. */
export interface StaticServer {
  /** `http://127.0.0.1:PORT` (no trailing slash). */
  readonly url: string
  readonly port: number
  /** URL paths requested so far, in order (with their status), for diagnostics. */
  readonly requests: readonly { readonly path: string; readonly status: number }[]
  /**
   * Serves `contents` at `path` from now on (replacing any earlier file there). In-memory files
   * take precedence over files on disk.
   *
   * @param path - The URL path, starting with `/`.
   * @param contents - The body.
   * @param type - The content type. @default by extension ({@link contentTypeOf})
   */
  addFile(path: string, contents: string | Uint8Array, type?: string): void
  /** Stops listening and destroys every open connection. Idempotent. */
  close(): Promise<void>
}

/**
 * Starts a static file server on 127.0.0.1, port 0, serving {@link SERVED_DIRECTORIES} of the
 * repository under the same paths (`/dist/index.js`, `/node_modules/@noble/hashes/sha2.js`,
 * `/test/browser/pages/lab.html`, `/examples/browser/index.html`) plus in-memory files.
 *
 * Only regular files are served: no directory listings (a directory answers its `index.html` when
 * it has one, else 404), no path that leaves its directory (`..`, encoded or not, answers 404),
 * GET and HEAD only. Every response says `Connection: close` and `Cache-Control: no-store`, so no
 * idle connection outlives a test (the leak check counts sockets) and a reload fetches afresh.
 *
 * @param options - In-memory files to start with.
 * @returns the listening server; call `close()` when done.
 * @example
 * ```ts
 * const server = await startStaticServer()
 * server.addFile('/generated.html', `<!doctype html>${importMapScript()}<script type="module">...</script>`)
 * await page.goto(`${server.url}/generated.html`)
 * await server.close()
 * ```
 */
export async function startStaticServer(options: StaticServerOptions = {}): Promise<StaticServer> {
  const memory = new Map<string, { body: string | Uint8Array; type: string }>()
  const addFile = (path: string, contents: string | Uint8Array, type?: string): void => {
    if (typeof path !== 'string' || !path.startsWith('/')) throw new TypeError(`addFile: path must start with "/", got ${String(path)}`)
    memory.set(path, { body: contents, type: type ?? contentTypeOf(path) })
  }
  // Browsers ask for it on every page; an empty icon keeps a 404 out of every page's log.
  addFile('/favicon.ico', new Uint8Array(0), 'image/x-icon')
  for (const [path, file] of Object.entries(options.files ?? {})) addFile(path, file.body, file.type)

  const requests: { path: string; status: number }[] = []
  const tcp = new Set<Socket>()

  const send = (req: IncomingMessage, res: ServerResponse, status: number, body: string | Uint8Array, type: string): void => {
    res.writeHead(status, {
      'Content-Type': type,
      'Content-Length': Buffer.byteLength(body),
      'Cache-Control': 'no-store',
      Connection: 'close',
    })
    res.end(req.method === 'HEAD' ? undefined : body)
  }

  const onRequest = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    let path = '/'
    try {
      path = decodeURIComponent(new URL(req.url ?? '/', 'http://127.0.0.1').pathname)
    } catch {
      path = '\0' // undecodable: never a file
    }
    const answer = (status: number, body: string | Uint8Array, type: string): void => {
      requests.push({ path, status })
      send(req, res, status, body, type)
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') return answer(405, 'method not allowed', 'text/plain')
    const inMemory = memory.get(path)
    if (inMemory) return answer(200, inMemory.body, inMemory.type)
    const file = await resolveFile(path)
    if (file === undefined) return answer(404, `not found: ${path}`, 'text/plain; charset=utf-8')
    try {
      answer(200, await readFile(file), contentTypeOf(file))
    } catch {
      answer(404, `not found: ${path}`, 'text/plain; charset=utf-8')
    }
  }

  const server = createServer((req, res) => {
    onRequest(req, res).catch(() => {
      if (!res.headersSent) res.writeHead(500).end()
    })
  })
  server.on('connection', (socket: Socket) => {
    tcp.add(socket)
    socket.on('close', () => tcp.delete(socket))
  })
  await new Promise<void>((resolvePromise, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject)
      resolvePromise()
    })
  })
  const address = server.address()
  if (address === null || typeof address === 'string') throw new Error('startStaticServer: no TCP address')
  let closed = false
  return {
    url: `http://127.0.0.1:${address.port}`,
    port: address.port,
    requests,
    addFile,
    close: async () => {
      if (closed) return
      closed = true
      const done = new Promise<void>((resolvePromise) => server.close(() => resolvePromise()))
      for (const socket of tcp) socket.destroy()
      await done
    },
  }
}

/** The file on disk a URL path names, when it is a regular file inside a served directory. */
async function resolveFile(urlPath: string): Promise<string | undefined> {
  if (urlPath.includes('\0') || urlPath.split('/').includes('..')) return undefined
  const relative = urlPath.replace(/^\/+/, '')
  const root = SERVED_DIRECTORIES.find((dir) => relative === dir || relative.startsWith(`${dir}/`))
  if (root === undefined) return undefined
  const base = resolve(REPO_ROOT, root)
  let file = resolve(REPO_ROOT, relative)
  if (file !== base && !file.startsWith(base + sep)) return undefined
  try {
    let info = await stat(file)
    if (info.isDirectory()) {
      file = join(file, 'index.html')
      info = await stat(file)
    }
    return info.isFile() ? file : undefined
  } catch {
    return undefined
  }
}

// ---------------------------------------------------------------------------------------------
// Chromium
// ---------------------------------------------------------------------------------------------

/**
 * Chromium's switches: headless without the sandbox (containers), and every background network
 * feature off, since the machine has no internet and the tests must only ever reach 127.0.0.1.
 */
export const CHROMIUM_ARGS: readonly string[] = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-default-apps',
  '--disable-extensions',
  '--metrics-recording-only',
  '--no-default-browser-check',
]

/** A page with its own browser context and the log {@link watchPage} keeps for it. */
export interface WatchedPage {
  readonly page: Page
  /** The page's context: one per test, so IndexedDB survives `page.reload()` and nothing else leaks in. */
  readonly context: BrowserContext
  /** Console lines, page errors, failed requests and HTTP errors, in order. */
  readonly log: string[]
  /** Closes the context (and so its pages, workers and WebSockets). Idempotent, never throws. */
  close(): Promise<void>
}

/** Options of {@link ChromiumSession.newPage}. */
export interface NewPageOptions {
  /**
   * Scripts run in every document of the context before the page's own scripts (as an
   * extension's content script would), e.g. a fake `window.nostr`. A function is serialised with
   * its `arg`, so it must not close over anything.
   */
  readonly initScripts?: readonly (string | { readonly fn: (arg: never) => unknown; readonly arg?: unknown })[]
  /** Passed to `browser.newContext()`. */
  readonly context?: BrowserContextOptions
  /**
   * Runs on the new context before the page opens, e.g. `context.exposeFunction(...)` for a fake
   * extension that keeps its key in Node.
   */
  readonly setup?: (context: BrowserContext) => Promise<void>
}

/** A running Chromium. */
export interface ChromiumSession {
  readonly browser: Browser
  /**
   * Opens a fresh context with one page, watched by {@link watchPage}, with every Playwright step
   * bounded by {@link STEP_TIMEOUT_MS}.
   */
  newPage(options?: NewPageOptions): Promise<WatchedPage>
  /** Closes every context and the browser. Idempotent, never throws. */
  close(): Promise<void>
}

/**
 * Launches Chromium ({@link chromiumPath}) headless with {@link CHROMIUM_ARGS} and a fresh
 * temporary profile (Playwright makes and removes it).
 *
 * @returns the session; call `close()` in `afterAll`.
 * @throws Error when Chromium cannot start.
 * @example
 * ```ts
 * const session = await launchChromium()
 * const { page, close } = await session.newPage()
 * await page.goto(server.url + '/test/browser/pages/lab.html')
 * await close()
 * await session.close()
 * ```
 */
export async function launchChromium(): Promise<ChromiumSession> {
  const browser = await chromium.launch({
    executablePath: chromiumPath(),
    headless: true,
    chromiumSandbox: false,
    args: [...CHROMIUM_ARGS],
    timeout: 30_000,
  })
  let closed = false
  return {
    browser,
    newPage: async (options = {}) => {
      const context = await browser.newContext(options.context)
      context.setDefaultTimeout(STEP_TIMEOUT_MS)
      context.setDefaultNavigationTimeout(STEP_TIMEOUT_MS)
      let page: Page
      try {
        await options.setup?.(context)
        for (const script of options.initScripts ?? []) {
          if (typeof script === 'string') await context.addInitScript({ content: script })
          else await context.addInitScript(script.fn as (arg: unknown) => unknown, script.arg)
        }
        page = await context.newPage()
      } catch (err) {
        await context.close().catch(() => undefined)
        throw err
      }
      const log = watchPage(page)
      let contextClosed = false
      return {
        page,
        context,
        log,
        close: async () => {
          if (contextClosed) return
          contextClosed = true
          await context.close().catch(() => undefined)
        },
      }
    },
    close: async () => {
      if (closed) return
      closed = true
      await browser.close().catch(() => undefined)
    },
  }
}

/**
 * Collects what a page says: console messages (`console.<type>: text`), uncaught errors
 * (`pageerror: ...` with the stack), requests that failed (`requestfailed: URL (reason)`) and
 * responses with status 400 or more (`http 404: URL`), each as one line in order.
 *
 * @param page - The page to watch (its workers' console messages arrive through it too).
 * @returns the live log array.
 */
export function watchPage(page: Page): string[] {
  const log: string[] = []
  page.on('console', (message) => {
    log.push(`console.${message.type()}: ${message.text()}`)
  })
  page.on('pageerror', (error) => {
    log.push(`pageerror: ${error.stack ?? error.message}`)
  })
  page.on('requestfailed', (request) => {
    log.push(`requestfailed: ${request.method()} ${request.url()} (${request.failure()?.errorText ?? 'unknown'})`)
  })
  page.on('response', (response) => {
    if (response.status() >= 400) log.push(`http ${response.status()}: ${response.url()}`)
  })
  page.on('crash', () => {
    log.push('crash: the page crashed')
  })
  return log
}

/**
 * The file name a test's screenshot gets: its name with anything but letters, digits, `-` and `_`
 * turned into `-`.
 *
 * @param testName - The test's name.
 * @returns the absolute path under {@link OUTPUT_DIR}.
 */
export function screenshotPath(testName: string): string {
  const slug = testName.replace(/[^A-Za-z0-9_-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 120) || 'unnamed'
  return join(OUTPUT_DIR, `${slug}.png`)
}

/**
 * Makes a failed test explain itself: prints the page's log (console, errors, failed requests)
 * and saves a full-page screenshot to `test-output/browser/<test name>.png`. Never throws: a
 * crashed page still gets its log printed.
 *
 * @param testName - Names the screenshot and heads the printed log.
 * @param page - The page (may be closed or crashed).
 * @param log - From {@link watchPage}.
 * @returns the screenshot's path, or `undefined` when none could be taken.
 */
export async function explainFailure(testName: string, page: Page, log: readonly string[]): Promise<string | undefined> {
  const file = screenshotPath(testName)
  let saved: string | undefined
  let problem = ''
  try {
    await mkdir(OUTPUT_DIR, { recursive: true })
    await page.screenshot({ path: file, fullPage: true, timeout: 5_000 })
    saved = file
  } catch (err) {
    problem = ` (no screenshot: ${err instanceof Error ? err.message.split('\n')[0] : String(err)})`
  }
  let url = ''
  try {
    url = page.url()
  } catch {
    url = '(unknown)'
  }
  const lines = log.length > 0 ? log.map((line) => `  ${line}`).join('\n') : '  (the page logged nothing)'
  console.error(
    `\n[browser] "${testName}" failed at ${url}\n` +
      `[browser] page log (${log.length} lines):\n${lines}\n` +
      `[browser] screenshot: ${saved ?? 'none'}${problem}\n`,
  )
  return saved
}

/**
 * Runs `fn` with a fresh watched page (its own context) and always closes it; when `fn` throws,
 * calls {@link explainFailure} first (log printed, screenshot saved) and rethrows the error.
 * Doing this inside the test, rather than in a hook, keeps the page open for the screenshot.
 *
 * @param session - From {@link launchChromium}.
 * @param testName - Names the screenshot (use the test's name).
 * @param fn - The test body.
 * @param options - See {@link NewPageOptions}.
 * @returns what `fn` returns.
 * @throws whatever `fn` throws.
 * @example
 * ```ts
 * it('stores events', () =>
 *   withPage(session, 'stores events', async ({ page }) => {
 *     await page.goto(`${server.url}/test/browser/pages/lab.html`)
 *   }))
 * ```
 */
export async function withPage<T>(session: ChromiumSession, testName: string, fn: (watched: WatchedPage) => Promise<T>, options: NewPageOptions = {}): Promise<T> {
  const watched = await session.newPage(options)
  try {
    return await fn(watched)
  } catch (err) {
    await explainFailure(testName, watched.page, watched.log)
    throw err
  } finally {
    await watched.close()
  }
}

/**
 * Whether `dist/index.js` exists (the browser pages load the built package).
 *
 * @returns true when the build output is there.
 */
export function distIsBuilt(): boolean {
  return existsSync(join(REPO_ROOT, 'dist', 'index.js'))
}

/**
 * Builds the package (`npx tsup`) when `dist/index.js` is missing, for a test file run on its own
 * in a fresh checkout; `npm test` builds before the tests, so normally this does nothing. Call it
 * in `beforeAll` (with a hook timeout of a few minutes).
 *
 * @returns whether a build ran.
 * @throws Error with the build's output when it fails.
 */
export async function ensureDist(): Promise<boolean> {
  if (distIsBuilt()) return false
  const { execFile } = await import('node:child_process')
  await new Promise<void>((resolvePromise, reject) => {
    execFile('npx', ['tsup'], { cwd: REPO_ROOT, timeout: 300_000, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`npx tsup failed: ${error.message}\n${stdout}\n${stderr}`))
      else resolvePromise()
    })
  })
  if (!distIsBuilt()) throw new Error('npx tsup ran but dist/index.js is still missing')
  return true
}
