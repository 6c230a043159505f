/**
 * NIP-46 permission strings: a comma-separated list of `method[:param]`, e.g.
 * `nip44_encrypt,sign_event:1,sign_event:7`. The only parameter NIP-46 defines is the kind of
 * `sign_event`; a permission without a parameter covers every call of its method.
 *
 * Two readers: {@link parsePermissions} for text from the network (a `connect` request, a
 * `nostrconnect://` token), which drops what it does not understand, and {@link normalizePermissions}
 * for the app's own options, which throws on junk (a typo in code should not silently ask for less).
 *
 * @see https://github.com/nostr-protocol/nips/blob/master/46.md#requested-permissions
 * @module
 */
import { MAX_KIND } from '../crypto/event.js'

/** Permissions read from one string or list; more are dropped (a client asks for a handful). */
export const MAX_PERMISSIONS = 64

/** Longest single permission kept (`method:param`). */
export const MAX_PERMISSION_LENGTH = 64

const PERMISSION = /^([a-z][a-z0-9_]{0,31})(?::([A-Za-z0-9_.-]{1,31}))?$/

/**
 * The canonical spelling of one permission, or `undefined` when it is not one.
 * `sign_event:<kind>` needs an integer kind in 0..65535 (written without leading zeros).
 */
function canonical(entry: string): string | undefined {
  const text = entry.trim()
  if (text.length === 0 || text.length > MAX_PERMISSION_LENGTH) return undefined
  const match = PERMISSION.exec(text)
  if (!match) return undefined
  const [, method, param] = match
  if (method === 'sign_event' && param !== undefined) {
    if (!/^\d{1,5}$/.test(param)) return undefined
    const kind = Number(param)
    if (kind > MAX_KIND) return undefined
    return `sign_event:${kind}`
  }
  return text
}

function entriesOf(input: string | readonly string[]): string[] {
  return typeof input === 'string' ? input.split(',') : input.flatMap((entry) => (typeof entry === 'string' ? entry.split(',') : ['\u0000']))
}

/**
 * Reads a permission list received from the network: entries that are not `method[:param]` are
 * dropped, duplicates merged, at most {@link MAX_PERMISSIONS} kept. Never throws.
 *
 * @param input - `"nip44_encrypt,sign_event:1"`, or a list of entries; anything else reads as none.
 * @returns the canonical entries, in the order first seen.
 * @example
 * ```ts
 * import { parsePermissions } from 'nostr-rendezvous/nip46'
 * parsePermissions('sign_event:1, nip44_encrypt,,bad perm') // ['sign_event:1', 'nip44_encrypt']
 * ```
 */
export function parsePermissions(input: unknown): string[] {
  if (typeof input !== 'string' && !Array.isArray(input)) return []
  const out = new Set<string>()
  for (const entry of entriesOf(input as string | readonly string[])) {
    const perm = canonical(entry)
    if (perm !== undefined) out.add(perm)
    if (out.size >= MAX_PERMISSIONS) break
  }
  return [...out]
}

/**
 * Checks a permission list given by the app (options) and returns it canonical. Unlike
 * {@link parsePermissions} it refuses junk: a misspelt permission in code should fail loudly.
 *
 * @param input - a comma-separated string or a list of entries.
 * @param field - the option's name, for the error message.
 * @returns the canonical entries, duplicates merged.
 * @throws TypeError when `input` is not a string or a list of strings; RangeError naming the first
 * entry that is not `method[:param]`, or when there are more than {@link MAX_PERMISSIONS}.
 * @example
 * ```ts
 * import { normalizePermissions } from 'nostr-rendezvous/nip46'
 * normalizePermissions(['sign_event:1', 'nip44_encrypt'], 'perms') // ['sign_event:1', 'nip44_encrypt']
 * ```
 */
export function normalizePermissions(input: string | readonly string[], field = 'perms'): string[] {
  if (typeof input !== 'string' && !(Array.isArray(input) && input.every((e) => typeof e === 'string'))) {
    throw new TypeError(`${field} must be a string or a list of strings`)
  }
  const out = new Set<string>()
  for (const entry of entriesOf(input)) {
    if (entry.trim() === '') continue
    const perm = canonical(entry)
    if (perm === undefined) throw new RangeError(`${field}: ${JSON.stringify(entry.slice(0, 80))} is not a NIP-46 permission (method or method:param)`)
    out.add(perm)
  }
  if (out.size > MAX_PERMISSIONS) throw new RangeError(`${field}: at most ${MAX_PERMISSIONS} permissions`)
  return [...out]
}

/**
 * The comma-separated form of a permission list, as sent in `connect` and `nostrconnect://`.
 *
 * @param perms - canonical entries (from {@link normalizePermissions} or {@link parsePermissions}).
 * @returns e.g. `"sign_event:1,nip44_encrypt"`.
 * @example
 * ```ts
 * import { formatPermissions } from 'nostr-rendezvous/nip46'
 * formatPermissions(['sign_event:1', 'nip44_encrypt']) // 'sign_event:1,nip44_encrypt'
 * ```
 */
export function formatPermissions(perms: readonly string[]): string {
  return perms.join(',')
}

/**
 * Whether a set of granted permissions covers a call. `sign_event` covers every kind,
 * `sign_event:1` only kind 1; other methods match by name.
 *
 * @param granted - canonical permissions.
 * @param method - the NIP-46 method called.
 * @param kind - for `sign_event`, the kind of the event to sign.
 * @returns whether the call is pre-approved.
 * @example
 * ```ts
 * import { permits } from 'nostr-rendezvous/nip46'
 * permits(['sign_event:1'], 'sign_event', 1) // true
 * permits(['sign_event:1'], 'sign_event', 4) // false
 * ```
 */
export function permits(granted: ReadonlySet<string> | readonly string[], method: string, kind?: number): boolean {
  const has = (perm: string): boolean => (Array.isArray(granted) ? granted.includes(perm) : (granted as ReadonlySet<string>).has(perm))
  if (has(method)) return true
  return method === 'sign_event' && kind !== undefined && has(`sign_event:${kind}`)
}
