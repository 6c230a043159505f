/**
 * Waiting with a way out: a caller's `AbortSignal` or a deadline ends the wait without touching the
 * promise waited on (which others may share). Internal to the relay pool.
 *
 * @module
 */

/** A signal that never aborts, shared by internal work no caller can cancel. @internal */
export const NEVER_ABORTED: AbortSignal = /* @__PURE__ */ new AbortController().signal

/**
 * Awaits `promise`, but rejects with `abortError()` as soon as `signal` aborts.
 *
 * @internal
 */
export function raceAbort<T>(promise: Promise<T>, signal: AbortSignal, abortError: () => unknown): Promise<T> {
  // A signal that can never fire needs no listener: many parallel waits on one shared signal
  // would otherwise pile up listeners on it (Node warns past 10).
  if (signal === NEVER_ABORTED) return promise
  if (signal.aborted) return Promise.reject(abortError())
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(abortError())
    signal.addEventListener('abort', onAbort, { once: true })
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort)
        resolve(value)
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort)
        reject(error)
      },
    )
  })
}

/**
 * Awaits `promise`, but rejects when it has not settled after `ms` (the timer is always cleared).
 *
 * @internal
 */
export function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  const controller = new AbortController()
  const timer = setTimeout(() => controller.abort(), ms)
  return raceAbort(promise, controller.signal, () => new Error(`no answer within ${ms} ms`)).finally(() => clearTimeout(timer))
}
