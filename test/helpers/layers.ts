import { readFileSync, readdirSync, statSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'

/**
 * The layer arrows of DESIGN.md: each layer may import only from the layers listed. `errors` is the
 * shared error module every layer uses. Storage may take *types* only from the layers beside it.
 */
export const ALLOWED: Record<string, { values: string[]; types: string[] }> = {
  errors: { values: [], types: [] },
  crypto: { values: ['crypto', 'errors'], types: ['crypto', 'errors'] },
  'relay-pool': { values: ['relay-pool', 'crypto', 'errors'], types: ['relay-pool', 'crypto', 'errors'] },
  storage: { values: ['storage', 'errors'], types: ['storage', 'crypto', 'relay-pool', 'errors'] },
  outbox: {
    values: ['outbox', 'relay-pool', 'storage', 'crypto', 'errors'],
    types: ['outbox', 'relay-pool', 'storage', 'crypto', 'errors'],
  },
  facade: {
    values: ['facade', 'nip46', 'outbox', 'relay-pool', 'storage', 'crypto', 'errors'],
    types: ['facade', 'nip46', 'outbox', 'relay-pool', 'storage', 'crypto', 'errors'],
  },
  // NIP-46 remote signing (`nostr-rendezvous/nip46`): a Signer that talks to a bunker over relays,
  // and a bunker that serves a local signer. It needs the relay pool, so it sits above crypto.
  nip46: {
    values: ['nip46', 'relay-pool', 'crypto', 'errors'],
    types: ['nip46', 'relay-pool', 'crypto', 'errors'],
  },
  // The SOCKS5 transport (`nostr-rendezvous/socks`): Node only, a WebSocket factory and a fetch.
  socks: {
    values: ['socks', 'relay-pool', 'errors'],
    types: ['socks', 'relay-pool', 'crypto', 'errors'],
  },
  // The optional WASM verifier (`nostr-rendezvous/verify-wasm`): a relay-pool verifier backed by
  // nostr-wasm, on its own subpath so the default bundle never loads it.
  'verify-wasm': {
    values: ['verify-wasm', 'relay-pool', 'crypto', 'errors'],
    types: ['verify-wasm', 'relay-pool', 'crypto', 'errors'],
  },
  // The `rendezvous` command line: Node only, on top of everything, and nothing imports it.
  cli: {
    values: ['cli', 'facade', 'nip46', 'socks', 'outbox', 'relay-pool', 'storage', 'crypto', 'errors'],
    types: ['cli', 'facade', 'nip46', 'socks', 'outbox', 'relay-pool', 'storage', 'crypto', 'errors'],
  },
}

/** Bare (package) imports each layer may use; anything else is a violation. */
export const ALLOWED_PACKAGES: Record<string, RegExp> = {
  errors: /^$/,
  // No I/O in crypto: worker_threads is the one Node module, loaded lazily to mine PoW off-thread.
  crypto: /^(@noble\/(curves|hashes|ciphers)\/|@scure\/base$|node:worker_threads$)/,
  'relay-pool': /^(@noble\/|@scure\/base$|isomorphic-ws$|ws$|node:)/,
  storage: /^(idb-keyval$|better-sqlite3$|node:)/,
  outbox: /^(@noble\/|@scure\/base$)/,
  facade: /^(@noble\/|@scure\/base$)/,
  'verify-wasm': /^(nostr-wasm$|node:)/,
  nip46: /^(@noble\/|@scure\/base$)/,
  socks: /^(node:|ws$|isomorphic-ws$)/,
  cli: /^(@noble\/|@scure\/base$|node:)/,
}

export interface ImportEdge {
  from: string
  specifier: string
  typeOnly: boolean
}

/** The layer a file under src/ belongs to. */
export function layerOf(srcRelative: string): string {
  const first = srcRelative.split('/')[0]!
  if (srcRelative === 'errors.ts') return 'errors'
  if (!srcRelative.includes('/') || first === 'client') return 'facade'
  return first
}

const IMPORT_RE = /(?:^|\n)\s*(import|export)\s+(type\s+)?(?:[^'"]*?\sfrom\s+)?['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g

/** Every import/export-from and dynamic import in `source`. */
export function importsOf(file: string, source: string): ImportEdge[] {
  const edges: ImportEdge[] = []
  // Comments go first: TSDoc @example blocks are full of imports that are not the file's own.
  const code = source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '')
  for (const m of code.matchAll(IMPORT_RE)) {
    const specifier = m[3] ?? m[4]
    if (specifier) edges.push({ from: file, specifier, typeOnly: Boolean(m[2]) })
  }
  return edges
}

/** Violations of the layer rules among `files` (paths relative to src/, with their sources). */
export function layerViolations(files: Map<string, string>): string[] {
  const problems: string[] = []
  for (const [file, source] of files) {
    const layer = layerOf(file)
    for (const edge of importsOf(file, source)) {
      if (edge.specifier.startsWith('.')) {
        const target = relative('/src', resolve('/src', dirname(file), edge.specifier)).replace(/\.js$/, '.ts')
        const targetLayer = layerOf(target)
        const allowed = edge.typeOnly ? ALLOWED[layer]!.types : ALLOWED[layer]!.values
        if (!allowed.includes(targetLayer)) {
          problems.push(`${file} (${layer}) imports ${edge.specifier} (${targetLayer})${edge.typeOnly ? ' [type]' : ''}`)
        }
      } else if (!ALLOWED_PACKAGES[layer]!.test(edge.specifier)) {
        problems.push(`${file} (${layer}) imports package ${edge.specifier}`)
      }
    }
  }
  return problems
}

/** Reads every .ts file under `srcDir` into a map keyed by its path relative to `srcDir`. */
export function readSources(srcDir: string): Map<string, string> {
  const out = new Map<string, string>()
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name)
      if (statSync(path).isDirectory()) walk(path)
      else if (name.endsWith('.ts')) out.set(relative(srcDir, path), readFileSync(path, 'utf8'))
    }
  }
  walk(srcDir)
  return out
}
