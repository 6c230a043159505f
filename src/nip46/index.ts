/**
 * NIP-46 remote signing, both directions (`nostr-rendezvous/nip46`):
 *
 * - a {@link RemoteSigner}: a `Signer` whose key lives in a remote signer ("bunker"), reached with a
 *   `bunker://` token ({@link connectBunker}) or a `nostrconnect://` token ({@link startNostrConnect});
 * - a {@link Bunker}: serves another app from a local signer, with per-permission approval
 *   ({@link createBunker}).
 *
 * See `docs/remote-signing.md` for both flows, permissions, approvals, timeouts and what relays see.
 *
 * @example
 * ```ts
 * import { connectBunker } from 'nostr-rendezvous/nip46'
 * const signer = await connectBunker('bunker://…?relay=wss%3A%2F%2Frelay.example.com&secret=…', {
 *   perms: ['sign_event:1'],
 *   metadata: { name: 'My app' },
 * })
 * const note = await signer.signEvent({ kind: 1, content: 'signed remotely' })
 * await signer.close()
 * ```
 *
 * @see https://github.com/nostr-protocol/nips/blob/master/46.md
 * @module
 */
export { CryptoError, RendezvousError } from '../errors.js'
export {
  type NostrConnectOptions,
  type NostrConnectSession,
  type RemoteSigner,
  type RemoteSignerOptions,
  type RemoteSignerStats,
  DEFAULT_AUTH_TIMEOUT_MS,
  DEFAULT_NOSTRCONNECT_TIMEOUT_MS,
  DEFAULT_REQUEST_TIMEOUT_MS,
  connectBunker,
  startNostrConnect,
} from './remote-signer.js'
export {
  type ApprovalRequest,
  type Bunker,
  type BunkerOptions,
  type BunkerSession,
  type BunkerStats,
  DEFAULT_APPROVAL_TIMEOUT_MS,
  DEFAULT_CLIENT_RATE_LIMIT,
  DEFAULT_STRANGER_RATE_LIMIT,
  createBunker,
} from './bunker.js'
export {
  type BunkerPointer,
  type ClientMetadata,
  type NostrConnectToken,
  type NostrConnectUriParams,
  MAX_LINK_LENGTH,
  MAX_NAME_LENGTH,
  MAX_SECRET_LENGTH,
  MAX_URI_LENGTH,
  MAX_URI_RELAYS,
  buildBunkerUri,
  buildNostrConnectUri,
  parseBunkerUri,
  parseNostrConnectUri,
  sanitizeClientMetadata,
} from './uri.js'
export { MAX_PERMISSIONS, formatPermissions, normalizePermissions, parsePermissions, permits } from './permissions.js'
export {
  type CipherScheme,
  type Nip46Method,
  type Nip46Request,
  type Nip46Response,
  type ParsedRequest,
  DEFAULT_MAX_CONTENT_LENGTH,
  NIP46_KIND,
  NIP46_METHODS,
  cipherSchemeOf,
  newRequestId,
  newSecret,
  parseRequest,
  parseResponse,
  sanitizeRemoteText,
} from './protocol.js'
export type { DropCounts, DropReason } from './channel.js'
export type { RateLimit } from './rate-limit.js'
