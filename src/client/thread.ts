/** Threads. STUB: to be implemented. @module */
import type { NostrEvent } from '../crypto/event.js'
import type { ClientContext } from './context.js'
import type { Thread, ThreadOptions } from './types.js'

/** @internal */
export async function readThread(_context: ClientContext, _target: string | NostrEvent, _options: ThreadOptions = {}): Promise<Thread> {
  throw new Error('not implemented')
}
