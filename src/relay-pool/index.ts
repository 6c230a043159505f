/**
 * The relay pool: connections, subscriptions and publishing. Being built (issue: "The relay pool,
 * tested on the wire against a real relay"); today this entry exports its error class, which is
 * the same class as the one every other subpath exports.
 *
 * @example
 * ```ts
 * import { RelayError } from 'nostr-rendezvous/relay-pool'
 * err instanceof RelayError
 * ```
 *
 * @module
 */
export { RelayError, RendezvousError } from '../errors.js'
