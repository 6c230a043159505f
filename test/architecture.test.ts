import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { importsOf, layerViolations, readSources } from './helpers/layers.js'

const srcDir = fileURLToPath(new URL('../src', import.meta.url))

describe('layer arrows (DESIGN.md) point down only', () => {
  it('no file in src/ imports from a layer above it or an unexpected package', () => {
    const sources = readSources(srcDir)
    expect(sources.size).toBeGreaterThan(5)
    expect(layerViolations(sources)).toEqual([])
  })

  it('the checker catches an upward import, a value import storage may not make, and a stray package', () => {
    const files = new Map([
      ['crypto/bad.ts', "import { x } from '../relay-pool/index.js'\n"],
      ['storage/bad.ts', "import { verifyEvent } from '../crypto/index.js'\n"],
      ['storage/ok.ts', "import type { NostrEvent } from '../crypto/event.js'\n"],
      ['crypto/io.ts', "/** import { no } from '../outbox/index.js' */\nconst fs = await import('node:fs')\n"],
      ['relay-pool/up.ts', "export { selectRelays } from '../outbox/index.js'\n"],
    ])
    expect(layerViolations(files)).toEqual([
      'crypto/bad.ts (crypto) imports ../relay-pool/index.js (relay-pool)',
      'storage/bad.ts (storage) imports ../crypto/index.js (crypto)',
      'crypto/io.ts (crypto) imports package node:fs',
      'relay-pool/up.ts (relay-pool) imports ../outbox/index.js (outbox)',
    ])
  })

  it('sees multi-line imports and type-only imports', () => {
    const edges = importsOf('a.ts', "import {\n  a,\n  b,\n} from './x.js'\nimport type { T } from './y.js'\n")
    expect(edges).toEqual([
      { from: 'a.ts', specifier: './x.js', typeOnly: false },
      { from: 'a.ts', specifier: './y.js', typeOnly: true },
    ])
  })
})
