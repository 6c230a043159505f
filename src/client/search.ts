/** NIP-50 search. STUB: to be implemented. @module */
import type { ClientContext } from './context.js'
import type { SearchOptions, SearchResult } from './types.js'

/** @internal */
export async function searchRelay(_context: ClientContext, _relay: string, _query: string, _options: SearchOptions = {}): Promise<SearchResult> {
  throw new Error('not implemented')
}
