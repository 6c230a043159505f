/** Private messages. STUB: to be implemented. @module */
import type { ClientContext } from './context.js'
import type { DmInbox, DmQueryOptions, LegacyConversation, LiveDmOptions, LiveDms, ReadOptions, SendDmOptions, SendDmResult } from './types.js'

/** @internal */
export async function sendDm(_context: ClientContext, _to: readonly string[], _content: string, _options: SendDmOptions = {}): Promise<SendDmResult> {
  throw new Error('not implemented')
}

/** @internal */
export async function readDms(_context: ClientContext, _options: DmQueryOptions = {}): Promise<DmInbox> {
  throw new Error('not implemented')
}

/** @internal */
export function liveDms(_context: ClientContext, _options: LiveDmOptions): LiveDms {
  throw new Error('not implemented')
}

/** @internal */
export async function readLegacyDms(_context: ClientContext, _peer: string, _options: ReadOptions = {}): Promise<LegacyConversation> {
  throw new Error('not implemented')
}
