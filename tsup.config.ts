import { defineConfig } from 'tsup'

// The public entry points (package.json `exports`) and the CLI (bin/rendezvous.mjs). Type
// declarations are rolled up for these only; users never import the other files by path.
const publicEntries = {
  index: 'src/index.ts',
  'crypto/index': 'src/crypto/index.ts',
  'relay-pool/index': 'src/relay-pool/index.ts',
  'outbox/index': 'src/outbox/index.ts',
  'storage/index': 'src/storage/index.ts',
  'storage/sqlite': 'src/storage/sqlite.ts',
  'storage/indexeddb': 'src/storage/indexeddb.ts',
  // NIP-46 remote signing, both directions (a signer that talks to a bunker, and a bunker).
  'nip46/index': 'src/nip46/index.ts',
  // Node only: a SOCKS5 (Tor) transport for the pool's WebSockets and HTTP requests.
  'socks/index': 'src/socks/index.ts',
  // The optional WASM verifier (nostr-wasm, an optional peer): never reached from the other entries.
  'verify-wasm/index': 'src/verify-wasm/index.ts',
  // The `rendezvous` command line; Node only, not an export.
  'cli/index': 'src/cli/index.ts',
}

// Unbundled ESM: every source file becomes its own dist file (src/a/b.ts -> dist/a/b.js) with its
// relative imports kept, so an app's bundler sees the same module graph as src/ and drops every
// module and export the app does not use (`sideEffects: false`). Bundled output with shared chunks
// defeated that: a chunk holding `export * as nip19 ...` namespace objects, or several modules
// merged into one file, kept code that `import { createClient }` never reaches (9 KB gzipped).
//
// `RendezvousError` stays one class across subpaths: src/errors.ts is one module, dist/errors.js,
// which every subpath imports (test/package.test.ts checks `instanceof` across subpaths).
export default defineConfig({
  entry: ['src/**/*.ts'],
  bundle: false,
  format: ['esm'],
  target: 'es2022',
  platform: 'neutral',
  dts: { entry: publicEntries },
  sourcemap: true,
  clean: true,
})
