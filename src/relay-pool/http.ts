/**
 * Reading HTTP answers from strangers, bounded: a relay's NIP-11 document, a NIP-05 document, an
 * LNURL answer. One place for the size cap and the abort race, so that every HTTP reader of the
 * library stops at the same limits. Internal to the library.
 *
 * @module
 */
import { raceAbort } from './abort.js'

/**
 * Releases a body nobody will read, so its connection is not held open.
 *
 * @internal
 */
export function discardBody(response: Response | undefined): void {
  try {
    response?.body?.cancel().catch(() => {})
  } catch {
    // A body that is locked or already gone holds nothing.
  }
}

/**
 * Reads a response body, at most `maxBytes` of it: a declared `Content-Length` over the cap fails
 * before reading, and the bytes are counted as they arrive (the header may be absent or a lie).
 * Every read is raced with `signal`, so a stream that ignores cancellation cannot outlast a timeout.
 * On any failure the body is cancelled.
 *
 * @param response - the response whose body to read.
 * @param maxBytes - the most bytes accepted.
 * @param signal - aborts the read (it rejects with `signal.reason`).
 * @param tooLarge - the error thrown when the body is over `maxBytes`.
 * @returns the body's bytes.
 * @example
 * ```ts
 * const bytes = await readBodyCapped(response, 65_536, controller.signal, () => new Error('too large'))
 * const text = new TextDecoder().decode(bytes)
 * ```
 * @internal
 */
export async function readBodyCapped(response: Response, maxBytes: number, signal: AbortSignal, tooLarge: () => unknown): Promise<Uint8Array> {
  const declared = Number(response.headers.get('content-length') ?? Number.NaN)
  if (declared > maxBytes) {
    discardBody(response)
    throw tooLarge()
  }
  const body = response.body
  if (!body) return new Uint8Array(0)
  const reader = body.getReader()
  const chunks: Uint8Array[] = []
  let total = 0
  try {
    // Ends when the stream does, when the cap is passed, or when `signal` aborts (a timeout).
    for (;;) {
      const { done, value } = await raceAbort(reader.read(), signal, () => signal.reason)
      if (done) break
      total += value.byteLength
      if (total > maxBytes) throw tooLarge()
      chunks.push(value)
    }
  } catch (error) {
    reader.cancel().catch(() => {})
    throw error
  }
  const bytes = new Uint8Array(total)
  let offset = 0
  for (const chunk of chunks) {
    bytes.set(chunk, offset)
    offset += chunk.byteLength
  }
  return bytes
}
