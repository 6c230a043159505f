/**
 * The client's per-relay flags and rank, and where the relay list is advertised. SCAFFOLD: filled in by issue 9.
 *
 * @module
 */
import type { ClientContext } from './context.js'

/** The client's per-relay flags and rank, and where the relay list is advertised. */
// eslint-disable-next-line @typescript-eslint/no-empty-interface
export interface RelayControlApi {}

/** @internal */
export function createRelayControlApi(_context: ClientContext): RelayControlApi {
  return {}
}
