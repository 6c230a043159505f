/**
 * Record values are JSON: one checked deep copy shared by every adapter, so all of them accept and
 * refuse the same values.
 *
 * @module
 */
import type { JsonValue } from './types.js'

/**
 * A deep copy of a record value, checked to be JSON on the way. Throws a `TypeError` naming the
 * record key and the path inside the value, because a value JSON cannot hold would be stored
 * differently by every adapter (dropped, turned into `null`, or refused).
 *
 * @param value - the value to copy.
 * @param key - the record key, for the error message.
 * @returns a fresh copy.
 * @throws TypeError when the value (or anything inside it) is not JSON.
 * @example
 * ```ts
 * // Inside an adapter in src/storage/ (not part of the public API):
 * import { copyJson } from './json.js'
 * copyJson({ relays: ['wss://a.example'] }, 'alice') // a fresh copy
 * copyJson({ seen: new Map() }, 'alice') // TypeError: record "alice" is not JSON: value at .seen is a Map
 * ```
 */
export function copyJson(value: unknown, key: string): JsonValue {
  return copyAt(value, key, '', new Set())
}

function copyAt(value: unknown, key: string, path: string, ancestors: Set<object>): JsonValue {
  const fail = (what: string): never => {
    throw new TypeError(`record ${JSON.stringify(key)} is not JSON: ${path ? `value at ${path}` : 'value'} is ${what}`)
  }
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value
    case 'number':
      if (!Number.isFinite(value)) fail(String(value))
      return value === 0 ? 0 : value // -0 becomes 0, as it would through JSON
    case 'object':
      break
    default:
      return fail(typeof value)
  }
  if (value === null) return null
  if (ancestors.has(value)) fail('a cycle')
  ancestors.add(value)
  let out: JsonValue
  if (Array.isArray(value)) {
    const array: JsonValue[] = []
    for (let i = 0; i < value.length; i++) {
      if (!(i in value)) fail(`a sparse array (hole at ${path}[${i}])`)
      array.push(copyAt(value[i], key, `${path}[${i}]`, ancestors))
    }
    out = array
  } else {
    const proto: unknown = Object.getPrototypeOf(value)
    if (proto !== Object.prototype && proto !== null) fail(`a ${(value as object).constructor?.name ?? 'non-plain object'}`)
    const object: { [k: string]: JsonValue } = {}
    for (const [k, v] of Object.entries(value)) {
      const copy = copyAt(v, key, `${path}.${k}`, ancestors)
      // An own "__proto__" key (JSON.parse makes them) must stay data, not become the prototype.
      if (k === '__proto__') Object.defineProperty(object, k, { value: copy, enumerable: true, writable: true, configurable: true })
      else object[k] = copy
    }
    out = object
  }
  ancestors.delete(value)
  return out
}
