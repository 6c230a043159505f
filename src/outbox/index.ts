/**
 * The outbox layer: relay lists, the person-relay scorer, the minimal-cover selector, the router
 * and the tracker. Being built; today this entry exports its error class, which is the same class
 * as the one every other subpath exports.
 *
 * @example
 * ```ts
 * import { OutboxError } from 'nostr-rendezvous/outbox'
 * err instanceof OutboxError
 * ```
 *
 * @module
 */
export { OutboxError, RendezvousError } from '../errors.js'
