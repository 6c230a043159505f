import { getEventListeners } from 'node:events'
import { describe, expect, it } from 'vitest'
import { NEVER_ABORTED, raceAbort } from '../../src/relay-pool/abort.js'

describe('raceAbort', () => {
  it('adds no listener to the shared never-aborting signal, however many waits share it', async () => {
    let release!: () => void
    const gate = new Promise<void>((resolve) => (release = resolve))
    const waits = Array.from({ length: 20 }, () => raceAbort(gate, NEVER_ABORTED, () => new Error('aborted')))
    expect(getEventListeners(NEVER_ABORTED, 'abort')).toHaveLength(0)
    release()
    await Promise.all(waits)
  })

  it('rejects as soon as a real signal aborts, and removes its listener when the promise settles', async () => {
    const controller = new AbortController()
    const settled = raceAbort(Promise.resolve(1), controller.signal, () => new Error('aborted'))
    expect(await settled).toBe(1)
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0)
    const pending = raceAbort(new Promise(() => {}), controller.signal, () => new Error('aborted'))
    controller.abort()
    await expect(pending).rejects.toThrow('aborted')
  })
})
