/** Feeds. STUB: to be implemented. @module */
import type { ClientContext } from './context.js'
import type { FeedOptions, FeedPage, LiveFeed, LiveFeedOptions } from './types.js'

/** @internal */
export async function readFeed(_context: ClientContext, _options: FeedOptions = {}): Promise<FeedPage> {
  throw new Error('not implemented')
}

/** @internal */
export function liveFeed(_context: ClientContext, _options: LiveFeedOptions): LiveFeed {
  throw new Error('not implemented')
}
