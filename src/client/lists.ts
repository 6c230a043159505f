/**
 * The client's NIP-51 lists (follow sets, bookmarks, pins, mutes, relay sets, blocked and search relays). SCAFFOLD: filled in by issue 9.
 *
 * @module
 */
import type { ClientContext } from './context.js'

/** The client's NIP-51 lists (follow sets, bookmarks, pins, mutes, relay sets, blocked and search relays). */
// eslint-disable-next-line @typescript-eslint/no-empty-interface
export interface ListsApi {}

/** @internal */
export function createListsApi(_context: ClientContext): ListsApi {
  return {}
}
