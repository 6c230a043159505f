import { existsSync, readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { IMPORT_MAP } from './browser/harness.js'

// These tests read the built package (dist/), the way a user's bundler or Node sees it. `npm test`
// builds before it runs them; run `npm run build` first when running vitest alone.
const distUrl = new URL('../dist/', import.meta.url)
const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'))
const subpaths = Object.keys(pkg.exports).filter((p) => p !== './package.json')

async function load(subpath: string): Promise<Record<string, unknown>> {
  const target = pkg.exports[subpath].default as string
  return import(new URL(target, new URL('../', import.meta.url)).href)
}

/** Every built file reachable from `entry` through static relative imports. */
function chunkGraph(entry: string): Set<string> {
  const root = new URL('../', import.meta.url)
  const seen = new Set<string>()
  const queue = [new URL(entry, root).pathname]
  while (queue.length > 0 && seen.size < 500) {
    const file = queue.pop()!
    if (seen.has(file)) continue
    seen.add(file)
    const code = readFileSync(file, 'utf8')
    for (const m of code.matchAll(/(?:from|import)\s*["'](\.{1,2}\/[^"']+)["']/g)) queue.push(new URL(m[1]!, `file://${file}`).pathname)
  }
  return seen
}

/** The bare (package) specifiers a built file imports statically. */
function bareStaticImports(file: string): string[] {
  const code = readFileSync(file, 'utf8')
  const found = new Set<string>()
  // `import x from 'p'`, `export * from 'p'`, `import 'p'` at the start of a statement; a dynamic
  // import( ... ) is excluded (Node-only modules are loaded that way behind a runtime check).
  for (const m of code.matchAll(/^\s*(?:import|export)\b[^;'"()]*?(?:from\s*)?["']([^"'.][^"']*)["']/gm)) found.add(m[1]!)
  return [...found]
}

/** Whether a built file imports `name` (statically or dynamically). */
function importsPackage(file: string, name: string): boolean {
  const code = readFileSync(file, 'utf8')
  return new RegExp(`(?:from|import)\\s*\\(?\\s*["']${name}["']`).test(code)
}

describe('the built package', () => {
  it('has been built', () => {
    expect(existsSync(distUrl), 'dist/ is missing: run `npm run build`').toBe(true)
  })

  it('exports map: every condition lists types first and points at files that exist', () => {
    expect(subpaths).toEqual(['.', './crypto', './relay-pool', './outbox', './storage', './storage/sqlite', './storage/indexeddb', './nip46', './socks', './verify-wasm'])
    for (const subpath of subpaths) {
      const conditions = Object.keys(pkg.exports[subpath])
      expect(conditions[0]).toBe('types')
      for (const file of Object.values(pkg.exports[subpath]) as string[]) {
        expect(existsSync(new URL(file, new URL('../', import.meta.url))), file).toBe(true)
      }
    }
    expect(pkg.type).toBe('module')
    expect(pkg.sideEffects).toBe(false)
  })

  it('RendezvousError is one class across every subpath (one dist/errors.js module for all)', async () => {
    const classes = await Promise.all(subpaths.map(async (s) => (await load(s)).RendezvousError))
    expect(classes.every((c) => typeof c === 'function')).toBe(true)
    expect(new Set(classes).size).toBe(1)
    const root = await load('.')
    const crypto = await load('./crypto')
    expect(root.CryptoError).toBe(crypto.CryptoError)
    const nip44 = crypto.nip44 as { decrypt: (p: string, k: Uint8Array) => string }
    let caught: unknown
    try {
      nip44.decrypt('AAAA', new Uint8Array(32))
    } catch (err) {
      caught = err
    }
    expect(caught).toBeInstanceOf(root.RendezvousError as new () => Error)
  })

  it('drivers stay on their own subpaths: no other entry reaches better-sqlite3 or idb-keyval', () => {
    const driverOf: Record<string, string> = { './storage/sqlite': 'better-sqlite3', './storage/indexeddb': 'idb-keyval', './verify-wasm': 'nostr-wasm' }
    for (const subpath of subpaths) {
      const reached = chunkGraph(pkg.exports[subpath].default as string)
      for (const [driverSubpath, driver] of Object.entries(driverOf)) {
        const imports = [...reached].some((file) => importsPackage(file, driver))
        expect(imports, `${subpath} -> ${driver}`).toBe(subpath === driverSubpath)
      }
    }
  })

  it('is unbundled ESM: each src module is one dist file, and every subpath reaches the one errors.js', () => {
    const errorsFile = new URL('../dist/errors.js', import.meta.url).pathname
    for (const subpath of subpaths) {
      // chunkGraph reads every file it reaches: a relative import of a missing file throws here.
      const reached = chunkGraph(pkg.exports[subpath].default as string)
      expect(reached.has(errorsFile), subpath).toBe(true)
      expect([...reached].some((file) => /\/chunk-[A-Z0-9]+\.js$/.test(file)), `${subpath} reaches a merged chunk`).toBe(false)
    }
    // The miner and the client are separate files a bundler can leave out one by one.
    for (const file of ['crypto/pow-miner.js', 'crypto/nip19.js', 'client/client.js', 'relay-pool/pool.js']) {
      expect(existsSync(new URL(file, distUrl)), file).toBe(true)
    }
  })

  it('every package a browser subpath imports is in the browser tests\' import map', () => {
    // test/browser/harness.ts serves dist/ to Chromium through IMPORT_MAP; a bare import missing
    // from it would break every page that loads the subpath.
    const mapped = (specifier: string): boolean =>
      Object.keys(IMPORT_MAP.imports).some((key) => key === specifier || (key.endsWith('/') && specifier.startsWith(key)))
    // Node only: better-sqlite3, and the SOCKS5 transport (node:net, node:tls).
    const browserSubpaths = subpaths.filter((s) => s !== './storage/sqlite' && s !== './socks')
    const unmapped = new Set<string>()
    for (const subpath of browserSubpaths) {
      for (const file of chunkGraph(pkg.exports[subpath].default as string)) {
        for (const specifier of bareStaticImports(file)) if (!mapped(specifier)) unmapped.add(`${specifier} (${subpath})`)
      }
    }
    expect([...unmapped]).toEqual([])
  })

  it('the public API of each subpath changes only deliberately', async () => {
    const surface: Record<string, string[]> = {}
    for (const s of subpaths) {
      const mod = await load(s)
      surface[s] = Object.keys(mod).sort()
      for (const [name, value] of Object.entries(mod)) {
        // Namespaces (nip19, nip44, ...) are part of the surface too.
        if (value && typeof value === 'object' && /^nip\d+$/.test(name)) surface[`${s} ${name}`] = Object.keys(value).sort()
      }
    }
    expect(surface).toMatchSnapshot()
  })
})
