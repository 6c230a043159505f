/** Profiles and follow lists. STUB: to be implemented. @module */
import type { ClientContext } from './context.js'
import type { EditOptions, FollowChange, FollowList, Profile, PublishResult, ReadOptions } from './types.js'

/** @internal */
export async function readProfile(_context: ClientContext, _pubkey: string, _options: ReadOptions = {}): Promise<Profile | undefined> {
  throw new Error('not implemented')
}

/** @internal */
export async function updateProfile(_context: ClientContext, _changes: Readonly<Record<string, unknown>>, _options: EditOptions = {}): Promise<PublishResult> {
  throw new Error('not implemented')
}

/** @internal */
export async function readFollows(_context: ClientContext, _pubkey: string, _options: ReadOptions = {}): Promise<FollowList> {
  throw new Error('not implemented')
}

/** @internal */
export async function editFollows(_context: ClientContext, _change: FollowChange, _options: EditOptions = {}): Promise<PublishResult> {
  throw new Error('not implemented')
}
