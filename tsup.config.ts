import { defineConfig } from 'tsup'

// One build with every subpath as an entry and code splitting on: shared modules (errors.ts above
// all) become shared chunks, so `RendezvousError` imported from any subpath is one class and
// `instanceof` works across subpaths — the mistake nostr-tools makes by bundling each separately.
export default defineConfig({
  entry: {
    index: 'src/index.ts',
    'crypto/index': 'src/crypto/index.ts',
    'relay-pool/index': 'src/relay-pool/index.ts',
    'outbox/index': 'src/outbox/index.ts',
    'storage/index': 'src/storage/index.ts',
    'storage/sqlite': 'src/storage/sqlite.ts',
    'storage/indexeddb': 'src/storage/indexeddb.ts',
    // The `rendezvous` command line (bin/rendezvous.mjs); Node only, not an export.
    'cli/index': 'src/cli/index.ts',
  },
  format: ['esm'],
  target: 'es2022',
  platform: 'neutral',
  splitting: true,
  treeshake: true,
  dts: true,
  sourcemap: true,
  clean: true,
  external: [/^@noble\//, /^@scure\//, /^node:/, 'better-sqlite3', 'idb-keyval'],
})
