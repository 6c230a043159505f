import { expect } from 'vitest'
import { RendezvousError } from '../../src/errors.js'

/**
 * The `RendezvousError` code (any layer's) `fn` throws, or `undefined` when it does not throw. Anything thrown that is
 * not a `RendezvousError` is rethrown, so a raw library error fails the test instead of matching.
 */
export function codeOf(fn: () => unknown): string | undefined {
  try {
    fn()
  } catch (err) {
    if (err instanceof RendezvousError) return err.code
    throw err
  }
  return undefined
}

/** Like {@link codeOf} for a promise: the code it rejects with, or `undefined` when it resolves. */
export async function rejectionCodeOf(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise
  } catch (err) {
    if (err instanceof RendezvousError) return err.code
    throw err
  }
  return undefined
}

/** Asserts that `promise` rejects with a `RendezvousError` of `code`, and returns that error. */
export async function expectRejectionCode(promise: Promise<unknown>, code: string): Promise<RendezvousError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(err).toBeInstanceOf(RendezvousError)
  expect((err as RendezvousError).code).toBe(code)
  return err as RendezvousError
}

/** The `RendezvousError` `fn` throws (to check `details` too), or `undefined`; anything else is rethrown. */
export function errorOf(fn: () => unknown): RendezvousError | undefined {
  try {
    fn()
  } catch (err) {
    if (err instanceof RendezvousError) return err
    throw err
  }
  return undefined
}
