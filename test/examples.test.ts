import { spawnSync } from 'node:child_process'
import { readdirSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

// Every example runs against the built package (`npm test` builds first) and must exit 0.
const dir = fileURLToPath(new URL('../examples/', import.meta.url))
const examples = readdirSync(dir).filter((f) => f.endsWith('.mjs'))

describe('examples', () => {
  it('there are examples to run', () => {
    expect(examples.length).toBeGreaterThan(0)
  })

  for (const file of examples) {
    it(`${file} runs to completion`, () => {
      const run = spawnSync(process.execPath, [file], { cwd: dir, encoding: 'utf8', timeout: 60_000 })
      expect(run.stderr).toBe('')
      expect(run.status).toBe(0)
      expect(run.stdout).toMatch(/finished/)
    })
  }

  it('the crypto tour shows what it claims', () => {
    const run = spawnSync(process.execPath, ['crypto-tour.mjs'], { cwd: dir, encoding: 'utf8', timeout: 60_000 })
    expect(run.stdout).toMatch(/signed note verifies\s+true/)
    expect(run.stdout).toMatch(/tampered note verifies\s+false/)
    expect(run.stdout).toMatch(/bob reads\s+"Hola, que tal\?" from alice \(verified\)/)
    expect(run.stdout).toMatch(/restored key matches\s+true/)
    expect(run.stdout).toMatch(/mined note verifies\s+true/)
  })
})
