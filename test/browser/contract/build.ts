/**
 * Node side of the browser contract run: bundles `entry.ts` for the browser with esbuild (the
 * `vitest` import aliased to the shim), lists its cases by importing that same bundle in Node
 * (registration only, nothing runs), and maps the bundle's stack frames back to the TypeScript
 * sources, so a failure in Chromium points at `test/storage/contract.ts:LINE`.
 *
 * @module
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { SourceMap, type SourceMapPayload } from 'node:module'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { build } from 'esbuild'
import type { CaseResult, RegisteredCase, RunOptions } from './shim.js'

const HERE = fileURLToPath(new URL('.', import.meta.url))
const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url))

/** The bundle as the page loads it. */
export interface ContractBundle {
  /** ESM JavaScript. */
  readonly code: string
  /** Its source map (JSON). */
  readonly map: string
}

/** What the bundle exports (see `entry.ts`). */
export interface ContractModule {
  readonly ADAPTER_TITLE: string
  readonly NAME_SEPARATOR: string
  registeredCases(): RegisteredCase[]
  runRegistered(options: RunOptions): Promise<CaseResult[]>
  databaseNames(): string[]
}

/**
 * Bundles the browser entry: ESM for the browser, everything inlined (the suite, fast-check,
 * chai, `@vitest/expect`, the adapter's sources and `idb-keyval`), `vitest` replaced by the shim.
 *
 * @returns the code and its source map.
 * @throws Error with esbuild's messages when the build fails (an import the shim lacks, say).
 */
export async function buildContractBundle(): Promise<ContractBundle> {
  const result = await build({
    entryPoints: [join(HERE, 'entry.ts')],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    alias: { vitest: join(HERE, 'shim.ts') },
    sourcemap: 'external',
    outfile: join(HERE, 'contract-bundle.js'),
    write: false,
    logLevel: 'silent',
  })
  const code = result.outputFiles.find((f) => f.path.endsWith('.js'))
  const map = result.outputFiles.find((f) => f.path.endsWith('.js.map'))
  if (!code || !map) throw new Error('esbuild produced no bundle or no source map')
  return { code: code.text, map: map.text }
}

/**
 * Imports the bundle in Node and lists its cases. Importing registers the suite with the shim;
 * nothing runs (the adapter is only created by `beforeEach`), so Node needs no IndexedDB.
 *
 * @param bundle - From {@link buildContractBundle}.
 * @returns the module's exports and its cases in run order.
 */
export async function loadInNode(bundle: ContractBundle): Promise<{ module: ContractModule; cases: RegisteredCase[] }> {
  const dir = await mkdtemp(join(tmpdir(), 'rendezvous-contract-'))
  try {
    const file = join(dir, 'contract-bundle.mjs')
    await writeFile(file, bundle.code)
    const module = (await import(/* @vite-ignore */ pathToFileURL(file).href)) as ContractModule
    return { module, cases: module.registeredCases() }
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

/**
 * Rewrites `.../contract-bundle.js:LINE:COLUMN` frames of a stack from the page into the source
 * positions (`test/storage/contract.ts:LINE:COLUMN`, relative to the repository). Frames that do
 * not map are left as they are.
 *
 * @param stack - A stack string from Chromium.
 * @param bundle - The bundle the page ran.
 * @returns the mapped stack.
 */
export function mapStack(stack: string, bundle: ContractBundle): string {
  const sourceMap = new SourceMap(JSON.parse(bundle.map) as SourceMapPayload)
  return stack.replace(/(?:https?:\/\/[^\s()]*\/)?contract-bundle\.js:(\d+):(\d+)/g, (whole, line: string, column: string) => {
    const entry = sourceMap.findEntry(Number(line) - 1, Number(column) - 1) as Partial<{ originalSource: string; originalLine: number; originalColumn: number }>
    if (entry.originalSource === undefined || entry.originalLine === undefined || entry.originalColumn === undefined) return whole
    const source = entry.originalSource.startsWith('file:') ? fileURLToPath(entry.originalSource) : join(HERE, entry.originalSource)
    return `${relative(REPO_ROOT, source)}:${entry.originalLine + 1}:${entry.originalColumn + 1}`
  })
}
