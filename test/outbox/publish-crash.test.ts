import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { build } from 'esbuild'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { bytesToHex, generateSecretKey, getPublicKey } from '../../src/crypto/index.js'
import { createRelayPool } from '../../src/relay-pool/pool.js'
import { startFleet, type TestFleet } from '../helpers/relay-fleet.js'

// The durable publish queue's promise, checked the hard way: a Node process publishing through
// SQLite is SIGKILLed mid-way while two of its five relays are down; a second process on the same
// database must finish the job, and the relays themselves are asked whether every note arrived.

const COUNT = 200
let dir: string
let script: string

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'rendezvous-crash-'))
  // Bundled inside the project so that better-sqlite3 and ws resolve from node_modules.
  script = join(resolve('node_modules'), `.crash-publisher-${process.pid}.mjs`)
  await build({
    entryPoints: ['test/helpers/crash-publisher.ts'],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    outfile: script,
    logLevel: 'warning',
  })
})

afterAll(() => {
  rmSync(dir, { recursive: true, force: true })
  rmSync(script, { force: true })
})

interface Child {
  process: ChildProcess
  lines: string[]
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
  /** Resolves when a line satisfying `test` is printed; rejects after `ms`. */
  waitForLine(test: (line: string) => boolean, ms: number): Promise<string>
}

function startChild(args: string[]): Child {
  const child = spawn(process.execPath, [script, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
  const lines: string[] = []
  const waiters = new Set<{ test: (line: string) => boolean; resolve: (line: string) => void }>()
  let buffered = ''
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    buffered += chunk
    const parts = buffered.split('\n')
    buffered = parts.pop()!
    for (const line of parts) {
      lines.push(line)
      for (const waiter of waiters) if (waiter.test(line)) waiter.resolve(line)
    }
  })
  const stderr: string[] = []
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => stderr.push(chunk))
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) =>
    child.on('exit', (code, signal) => done({ code, signal })),
  )
  return {
    process: child,
    lines,
    exited,
    waitForLine(test, ms) {
      const already = lines.find(test)
      if (already) return Promise.resolve(already)
      return new Promise((resolveLine, reject) => {
        const waiter = {
          test,
          resolve: (line: string) => {
            clearTimeout(timer)
            waiters.delete(waiter)
            resolveLine(line)
          },
        }
        const timer = setTimeout(() => {
          waiters.delete(waiter)
          reject(new Error(`no matching line within ${ms} ms; stdout tail: ${lines.slice(-5).join(' | ')}; stderr: ${stderr.join('').slice(-500)}`))
        }, ms)
        waiters.add(waiter)
        void exited.then(() => {
          if (waiters.has(waiter)) {
            clearTimeout(timer)
            waiters.delete(waiter)
            reject(new Error(`child exited first; stdout tail: ${lines.slice(-5).join(' | ')}; stderr: ${stderr.join('').slice(-800)}`))
          }
        })
      })
    },
  }
}

describe('durable publish queue across a crash (SQLite, child processes, 5 real relays)', () => {
  it(`${COUNT} notes reach every relay although the publisher is SIGKILLed mid-way with 2 relays down`, async () => {
    const fleet = await startFleet(5)
    try {
      await crashAndResume(fleet)
    } finally {
      await fleet.close()
    }
  }, 150_000)
})

async function crashAndResume(fleet: TestFleet): Promise<void> {
  const down = fleet.relays.slice(3)
  await Promise.all(down.map((relay) => relay.kill()))
  const secretKey = generateSecretKey()
  const args = [join(dir, 'queue.db'), bytesToHex(secretKey), String(COUNT), ...fleet.urls]

  const first = startChild(args)
  // Kill once a good part is queued: some notes are on the 3 live relays, others still in flight.
  await first.waitForLine((line) => line === `queued ${Math.floor(COUNT * 0.4)}`, 30_000)
  first.process.kill('SIGKILL')
  const firstExit = await first.exited
  expect(firstExit.signal).toBe('SIGKILL')
  expect(first.lines).not.toContain('done')

  await Promise.all(down.map((relay) => relay.restart()))
  const second = startChild(args)
  const resumedLine = await second.waitForLine((line) => line.startsWith('resumed '), 30_000)
  // The first run left unfinished publishes behind (the two dead relays at least).
  expect(Number(resumedLine.split(' ')[1])).toBeGreaterThan(0)
  await second.waitForLine((line) => line === 'done' || line.startsWith('timeout'), 90_000)
  expect(second.lines).toContain('done')
  expect((await second.exited).code).toBe(0)

  // Ask each relay directly for the author's notes.
  const author = getPublicKey(secretKey)
  const pool = createRelayPool({ connect: { allowPrivateHosts: ['127.0.0.1'] }, fetch: false })
  try {
    for (const url of fleet.urls) {
      const { events } = await pool.query([{ authors: [author], kinds: [1], limit: COUNT * 2 }], { relays: [url], origin: 'configured' })
      const numbers = new Set(events.map((e) => Number(e.content.replace('crash test note ', ''))))
      expect(numbers.size, url).toBe(COUNT)
      expect(events, url).toHaveLength(COUNT)
    }
  } finally {
    await pool.close()
  }
}
