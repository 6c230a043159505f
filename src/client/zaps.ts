/**
 * The client's NIP-57 zaps (LNURL-pay, zap requests, receipts). SCAFFOLD: filled in by issue 9.
 *
 * @module
 */
import type { ClientContext } from './context.js'

/** The client's NIP-57 zaps (LNURL-pay, zap requests, receipts). */
// eslint-disable-next-line @typescript-eslint/no-empty-interface
export interface ZapsApi {}

/** @internal */
export function createZapsApi(_context: ClientContext): ZapsApi {
  return {}
}
