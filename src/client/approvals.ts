/**
 * The client's approval decisions before connecting to a new relay and before AUTH. SCAFFOLD: filled in by issue 9.
 *
 * @module
 */
import type { ClientContext } from './context.js'

/** The client's approval decisions before connecting to a new relay and before AUTH. */
// eslint-disable-next-line @typescript-eslint/no-empty-interface
export interface ApprovalsApi {}

/** @internal */
export function createApprovalsApi(_context: ClientContext): ApprovalsApi {
  return {}
}
