/**
 * Builds the `rendezvous` command for the tests without `dist/`: esbuild bundles
 * `bin/rendezvous.mjs` itself, with its import of `../dist/cli/index.js` pointed at
 * `src/cli/index.ts`, so the tests run the real bin file on the current sources. Packages stay
 * external, and the bundle lives under `node_modules/` so that they resolve (as in
 * scripts/run-ts.mjs).
 *
 * @module
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build, type Plugin } from 'esbuild'

const root = fileURLToPath(new URL('../../', import.meta.url))

/** A built command line: its file, and `remove()` to delete it. */
export interface CliBundle {
  readonly file: string
  remove(): void
}

/**
 * Bundles bin/rendezvous.mjs with the CLI sources.
 *
 * @returns the bundle.
 */
export async function bundleCli(): Promise<CliBundle> {
  const dir = mkdtempSync(join(root, 'node_modules', '.cli-test-'))
  const file = join(dir, 'rendezvous.mjs')
  const sources: Plugin = {
    name: 'cli-sources',
    setup(b) {
      b.onResolve({ filter: /\/dist\/cli\/index\.js$/ }, () => ({ path: resolve(root, 'src/cli/index.ts') }))
    },
  }
  try {
    await build({
      entryPoints: [resolve(root, 'bin/rendezvous.mjs')],
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      packages: 'external',
      outfile: file,
      plugins: [sources],
      logLevel: 'warning',
    })
  } catch (error) {
    rmSync(dir, { recursive: true, force: true })
    throw error
  }
  return { file, remove: () => rmSync(dir, { recursive: true, force: true }) }
}
