/**
 * The verifiers in a real browser (Chromium): Web Workers started from a Blob URL, with no bundler
 * configuration and no file to locate, and the WebAssembly backend loading `nostr-wasm` in its
 * workers through the page's import map. The page loads an esbuild bundle of the source (the
 * library's own modules and noble bundled in; `nostr-wasm` left to the import map, as a user
 * without a bundler would have it).
 *
 * Without Chromium the tests show as skipped (see `describeBrowser` in test/browser/harness.ts).
 */
import { join } from 'node:path'
import { build } from 'esbuild'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { finalizeEvent, generateSecretKey, verifyEvent, type NostrEvent } from '../../src/crypto/index.js'
import { REPO_ROOT, describeBrowser, launchChromium, startStaticServer, withPage, type ChromiumSession, type StaticServer } from '../browser/harness.js'
import { withBadSignature, withForgedContent } from '../helpers/scripted-relay.js'

const keys = Array.from({ length: 3 }, () => generateSecretKey())
const events: NostrEvent[] = Array.from({ length: 30 }, (_, i) =>
  finalizeEvent({ kind: 1, content: `browser ${i} ✓`, created_at: 1_700_000_000 + i }, keys[i % keys.length] as Uint8Array),
).map((e, i) => (i === 7 ? withBadSignature(e) : i === 19 ? withForgedContent(e) : e))
const expected = events.map((e) => verifyEvent(e))

const page = (head = ''): string => `<!doctype html>${head}
<script type="importmap">{ "imports": { "nostr-wasm": "/node_modules/nostr-wasm/dist/main.js" } }</script>
<script type="module">
  import { createWorkerVerifier, createWasmVerifier } from '/verifiers.js'
  window.check = async (kind, events) => {
    const verifier = kind === 'wasm' ? createWasmVerifier({ workers: 2 }) : createWorkerVerifier({ workers: 2 })
    try {
      const verdicts = await verifier.verify(events)
      return { verdicts, stats: verifier.stats() }
    } finally {
      await verifier.close()
    }
  }
  window.ready = true
</script>`

describeBrowser('verifiers in Chromium', () => {
  let server: StaticServer | undefined
  let session: ChromiumSession | undefined

  beforeAll(async () => {
    const bundle = await build({
      stdin: {
        contents: "export { createWorkerVerifier } from './src/relay-pool/verifier.ts'\nexport { createWasmVerifier } from './src/verify-wasm/index.ts'\n",
        resolveDir: REPO_ROOT,
        loader: 'ts',
      },
      bundle: true,
      format: 'esm',
      platform: 'browser',
      target: 'es2022',
      write: false,
      // Node-only branches (never taken in a browser) and the optional peer, from the import map.
      external: ['node:*', 'nostr-wasm'],
      logLevel: 'silent',
    })
    server = await startStaticServer({
      files: {
        '/verifiers.js': { body: bundle.outputFiles[0]!.text },
        '/verifiers.html': { body: page() },
        // A Content Security Policy that forbids workers, as some sites set.
        '/no-workers.html': { body: page(`<meta http-equiv="Content-Security-Policy" content="worker-src 'none'">`) },
      },
    })
    session = await launchChromium()
  }, 120_000)

  afterAll(async () => {
    await session?.close()
    await server?.close()
  })

  for (const kind of ['js', 'wasm'] as const) {
    it(`${kind === 'js' ? 'the default verifier' : 'the WebAssembly verifier'} runs on Web Workers and rejects exactly the forged events`, () =>
      withPage(session!, `verifier ${kind}`, async ({ page }) => {
        await page.goto(`${server!.url}/verifiers.html`)
        await page.waitForFunction(() => (window as unknown as { ready?: boolean }).ready === true)
        const result = await page.evaluate(
          ([k, batch]) => (window as unknown as { check(kind: string, events: unknown[]): Promise<{ verdicts: boolean[]; stats: Record<string, unknown> }> }).check(k, batch),
          [kind, events] as const,
        )
        expect(result.verdicts).toEqual(expected)
        expect(expected.filter((ok) => !ok)).toHaveLength(2)
        expect(result.stats).toMatchObject({ backend: kind === 'js' ? 'js-batch' : 'wasm', mode: 'workers', workers: 2, mainThreadEvents: 0 })
      }))
  }

  it('where the page forbids workers, verification runs on the main thread and says why', () =>
    withPage(session!, 'verifier without workers', async ({ page }) => {
      await page.goto(`${server!.url}/no-workers.html`)
      await page.waitForFunction(() => (window as unknown as { ready?: boolean }).ready === true)
      const result = await page.evaluate(
        (batch) => (window as unknown as { check(kind: string, events: unknown[]): Promise<{ verdicts: boolean[]; stats: Record<string, unknown> }> }).check('js', batch),
        events,
      )
      expect(result.verdicts).toEqual(expected)
      expect(result.stats).toMatchObject({ mode: 'main-thread', mainThreadEvents: events.length })
      expect(String(result.stats.fallbackReason)).toMatch(/could not start/)
    }))
})

// The served nostr-wasm file must exist where the page's import map points.
it('nostr-wasm is where the browser page expects it', async () => {
  const { access } = await import('node:fs/promises')
  await expect(access(join(REPO_ROOT, 'node_modules/nostr-wasm/dist/main.js'))).resolves.toBeUndefined()
})
