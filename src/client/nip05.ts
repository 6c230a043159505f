/**
 * The client's NIP-05 identifiers (resolve, verify, relays as evidence). SCAFFOLD: filled in by issue 9.
 *
 * @module
 */
import type { ClientContext } from './context.js'

/** The client's NIP-05 identifiers (resolve, verify, relays as evidence). */
// eslint-disable-next-line @typescript-eslint/no-empty-interface
export interface Nip05Api {}

/** @internal */
export function createNip05Api(_context: ClientContext): Nip05Api {
  return {}
}
