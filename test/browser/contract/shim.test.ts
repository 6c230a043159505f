/**
 * The browser runner (`shim.ts`) runs a suite the way vitest would: hook order, failures in hooks,
 * timeouts, skips. Checked here in Node, on fresh registries, because a runner that passed cases
 * it should fail would make the browser contract run worthless.
 */
import { describe, expect, it } from 'vitest'
import { createRegistry, NAME_SEPARATOR, serialize, type CaseResult, type Registry } from './shim.js'

/** Runs a registry with a short timeout; returns the results by case title (the last path segment). */
async function run(registry: Registry, timeoutMs = 1_000): Promise<Map<string, CaseResult>> {
  const results = await registry.runRegistered({ timeoutMs })
  return new Map(results.map((r) => [r.name.split(NAME_SEPARATOR).at(-1)!, r]))
}

describe('browser vitest shim: registration', () => {
  it('lists cases in registration order with their full names, running nothing', () => {
    const r = createRegistry()
    const ran: string[] = []
    r.describe('outer', () => {
      r.beforeEach(() => void ran.push('hook'))
      r.it('a', () => void ran.push('a'))
      r.describe('inner', () => {
        r.it('b', () => void ran.push('b'))
      })
      r.it.skip('c', () => void ran.push('c'))
    })
    r.it('top', () => void ran.push('top'))
    expect(r.registeredCases()).toEqual([
      { path: ['outer', 'a'], name: 'outer > a', skip: false },
      { path: ['outer', 'inner', 'b'], name: 'outer > inner > b', skip: false },
      { path: ['outer', 'c'], name: 'outer > c', skip: true },
      { path: ['top'], name: 'top', skip: false },
    ])
    expect(ran).toEqual([])
  })

  it('refuses what it does not implement instead of running the suite differently', async () => {
    const r = createRegistry()
    expect(() => (r.it as unknown as { only(): void }).only()).toThrow(/does not support it\.only/)
    expect(() => (r.describe as unknown as { each(): void }).each()).toThrow(/does not support describe\.each/)
    expect(() => r.describe('async', (async () => undefined) as unknown as () => void)).toThrow(/async describe/)
    expect(() => r.beforeEach(() => undefined, 5)).toThrow(/timeout on beforeEach/)
    expect(() => r.it('options', () => undefined, { timeout: 5 } as unknown as number)).toThrow(/options object/)
    r.it('registers late', () => r.it('too late', () => undefined))
    const results = await run(r)
    expect(results.get('registers late')!.error!.message).toMatch(/while the suite runs/)
    await expect(r.runRegistered({ timeoutMs: 100 })).rejects.toThrow(/already called/)
  })
})

describe('browser vitest shim: running', () => {
  it('runs hooks in vitest order: beforeAll once, beforeEach outer first, afterEach inner first and reversed, cleanups, afterAll', async () => {
    const r = createRegistry()
    const log: string[] = []
    const hook = (name: string) => () => void log.push(name)
    r.describe('outer', () => {
      r.beforeAll(hook('outer beforeAll'))
      r.afterAll(hook('outer afterAll'))
      r.beforeEach(() => {
        log.push('outer beforeEach')
        return () => void log.push('outer cleanup')
      })
      r.afterEach(hook('outer afterEach 1'))
      r.afterEach(hook('outer afterEach 2'))
      r.it('a', async () => {
        await Promise.resolve()
        log.push('a')
      })
      r.describe('inner', () => {
        r.beforeAll(hook('inner beforeAll'))
        r.beforeEach(hook('inner beforeEach'))
        r.afterEach(hook('inner afterEach'))
        r.afterAll(hook('inner afterAll'))
        r.it('b', hook('b'))
      })
    })
    const results = await run(r)
    expect([...results.values()].map((x) => x.status)).toEqual(['passed', 'passed'])
    expect(log).toEqual([
      'outer beforeAll',
      'outer beforeEach',
      'a',
      'outer afterEach 2',
      'outer afterEach 1',
      'outer cleanup',
      'inner beforeAll',
      'outer beforeEach',
      'inner beforeEach',
      'b',
      'inner afterEach',
      'outer afterEach 2',
      'outer afterEach 1',
      'outer cleanup',
      'inner afterAll',
      'outer afterAll',
    ])
  })

  it('a failing beforeEach skips the body but not afterEach; a failing afterEach fails a passing body; errors are kept in order', async () => {
    const r = createRegistry()
    const log: string[] = []
    let breakBeforeEach = true
    r.describe('suite', () => {
      r.beforeEach(() => {
        if (breakBeforeEach) {
          breakBeforeEach = false
          throw new Error('beforeEach broke')
        }
      })
      r.afterEach(() => void log.push('afterEach'))
      r.it('first', () => void log.push('first body'))
      r.it('second', () => {
        log.push('second body')
        throw new TypeError('body broke')
      })
    })
    r.describe('other', () => {
      r.afterEach(() => {
        throw new RangeError('afterEach broke')
      })
      r.it('third', () => undefined)
    })
    const results = await run(r)
    expect(log).toEqual(['afterEach', 'second body', 'afterEach'])
    expect(results.get('first')).toMatchObject({ status: 'failed', error: { name: 'Error', message: 'beforeEach broke' } })
    expect(results.get('second')).toMatchObject({ status: 'failed', error: { name: 'TypeError', message: 'body broke' } })
    expect(results.get('third')).toMatchObject({ status: 'failed', error: { name: 'RangeError', message: 'afterEach broke' } })
  })

  it('a body that never settles fails at the timeout and the run goes on', async () => {
    const r = createRegistry()
    r.it('hangs', () => new Promise(() => undefined))
    r.it('own timeout', () => new Promise(() => undefined), 20)
    r.it('next', () => undefined)
    const results = await run(r, 50)
    expect(results.get('hangs')!.error!.message).toBe('the test timed out after 50 ms')
    expect(results.get('own timeout')!.error!.message).toBe('the test timed out after 20 ms')
    expect(results.get('next')!.status).toBe('passed')
  })

  it('beforeAll failing fails its suite only; afterAll failing fails the cases that had passed; skips run nothing', async () => {
    const r = createRegistry()
    const ran: string[] = []
    r.describe('broken setup', () => {
      r.beforeAll(() => {
        throw new Error('no database')
      })
      r.it('x', () => void ran.push('x'))
    })
    r.describe('broken teardown', () => {
      r.afterAll(() => Promise.reject(new Error('teardown failed')))
      r.it('y', () => void ran.push('y'))
      r.it('z', () => {
        throw new Error('z failed itself')
      })
    })
    r.describe.skip('skipped suite', () => {
      r.beforeAll(() => void ran.push('skipped beforeAll'))
      r.it('s', () => void ran.push('s'))
    })
    const results = await run(r)
    expect(ran).toEqual(['y'])
    expect(results.get('x')).toMatchObject({ status: 'failed', error: { message: 'no database' } })
    expect(results.get('y')).toMatchObject({ status: 'failed', error: { message: 'teardown failed' } })
    expect(results.get('z')).toMatchObject({ status: 'failed', error: { message: 'z failed itself' } })
    expect(results.get('s')).toMatchObject({ status: 'skipped' })
  })

  it('serializes a matcher failure with its diff, and anything thrown that is not an Error', () => {
    let thrown: unknown
    try {
      expect({ a: [1, 2] }).toEqual({ a: [1, 3] })
    } catch (error) {
      thrown = error
    }
    const serialized = serialize(thrown)
    expect(serialized.name).toBe('AssertionError')
    expect(serialized.message).toMatch(/deeply equal/)
    expect(serialized.diff).toMatch(/- Expected[\s\S]*\+ Received/)
    expect(serialize('a string')).toEqual({ name: 'Error', message: 'a non-Error was thrown: a string' })
  })
})
