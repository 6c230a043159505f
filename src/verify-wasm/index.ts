/**
 * An optional event verifier backed by libsecp256k1 compiled to WebAssembly
 * ({@link https://github.com/fiatjaf/nostr-wasm | nostr-wasm}), for the relay pool's `verifier`
 * option. It runs on the same worker pool as the default verifier, each worker with its own
 * WebAssembly instance.
 *
 * `nostr-wasm` is an optional peer dependency: install it to use this entry point. Nothing else in
 * the library imports it, and this module loads it only when the first batch arrives, so the
 * default bundle never contains it.
 *
 * How the workers find `nostr-wasm`: a worker cannot resolve a bare package name, so this module
 * asks the platform for its URL (`import.meta.resolve('nostr-wasm')`, which Node and browsers with
 * an import map answer) unless `moduleUrl` says where it is. When workers cannot load it (a bundled
 * browser app without an import map, say), the main thread loads it with an ordinary dynamic
 * `import('nostr-wasm')`, which bundlers understand, and verifies there; `stats().fallbackReason`
 * says so. If even that fails, the pure-JS batch verifier of the crypto layer takes over.
 *
 * @example
 * ```ts
 * import { createRelayPool } from 'nostr-rendezvous/relay-pool'
 * import { createWasmVerifier } from 'nostr-rendezvous/verify-wasm'
 * const pool = createRelayPool({ verifier: createWasmVerifier() })
 * ```
 *
 * @module
 */

import type { NostrEvent } from '../crypto/event.js'
import { WorkerPoolVerifier, type EventVerifier, type VerifyBatch } from '../relay-pool/verifier.js'

// Every subpath exports the one error base class, so `instanceof` works whichever a user imports.
export { RendezvousError } from '../errors.js'

/** Options of {@link createWasmVerifier}. */
export interface WasmVerifierOptions {
  /** Workers to run; `0` verifies on the main thread. @default the number of cores, at most 4 */
  readonly workers?: number
  /**
   * Where workers load `nostr-wasm` from (an absolute URL of its main module, e.g. a CDN URL).
   * @default import.meta.resolve('nostr-wasm') where the platform offers it
   */
  readonly moduleUrl?: string
  /** Largest number of events sent to one worker at once. @default 2048 */
  readonly maxJobEvents?: number
}

/**
 * Creates a verifier that checks signatures with libsecp256k1 (WebAssembly) on worker threads.
 *
 * @param options - worker count, where workers load `nostr-wasm` from, job size.
 * @returns the verifier, for `createRelayPool({ verifier })` (the pool closes it).
 * @throws RangeError when `workers` is not an integer from 0 to 64 or `maxJobEvents` not a
 * positive integer; TypeError when `moduleUrl` is not a string.
 * @example
 * ```ts
 * import { createRelayPool } from 'nostr-rendezvous/relay-pool'
 * import { createWasmVerifier } from 'nostr-rendezvous/verify-wasm'
 * const verifier = createWasmVerifier({ workers: 2 })
 * const pool = createRelayPool({ verifier })
 * // later: verifier.stats() -> { backend: 'wasm', mode: 'workers', workers: 2, ... }
 * ```
 */
export function createWasmVerifier(options: WasmVerifierOptions = {}): EventVerifier {
  if (options.moduleUrl !== undefined && typeof options.moduleUrl !== 'string') throw new TypeError('moduleUrl must be a string')
  const url = options.moduleUrl ?? resolveNostrWasm()
  return new WorkerPoolVerifier({
    backend: 'wasm',
    engineFactorySource: WASM_ENGINE_FACTORY,
    init: { url },
    fallback: loadMainThreadWasm,
    // Without a URL no worker can load the module: verify on the main thread from the start.
    ...(url === undefined ? { workers: 0 } : options.workers !== undefined && { workers: options.workers }),
    ...(options.maxJobEvents !== undefined && { maxJobEvents: options.maxJobEvents }),
  })
}

/** The subset of nostr-wasm's API used here. */
interface NostrWasmInstance {
  verifyEvent(event: NostrEvent): void
}

/**
 * The engine factory inside a worker, as source text: loads nostr-wasm from `init.url` and checks
 * one event at a time (its `verifyEvent` checks the id against the fields and the signature, and
 * throws when either is wrong; libsecp256k1 has no batch verification). Source text rather than a
 * function's `toString()` because test runners and bundlers rewrite `import()` in compiled code
 * into helpers that do not exist inside a worker.
 */
const WASM_ENGINE_FACTORY = `async function (init) {
  var mod = await import(init.url);
  var nw = await mod.initNostrWasm();
  return {
    verify: function (events) {
      var out = new Uint8Array(events.length);
      for (var i = 0; i < events.length; i++) {
        try { nw.verifyEvent(events[i]); out[i] = 1 } catch (e) { /* invalid */ }
      }
      return out;
    }
  };
}`

/** nostr-wasm's URL, or undefined where the platform cannot say. */
function resolveNostrWasm(): string | undefined {
  try {
    const resolve = (import.meta as { resolve?: (specifier: string) => string }).resolve
    return typeof resolve === 'function' ? resolve('nostr-wasm') : undefined
  } catch {
    return undefined
  }
}

/** nostr-wasm on the main thread, for when workers cannot load it. */
async function loadMainThreadWasm(): Promise<VerifyBatch> {
  const { initNostrWasm } = (await import('nostr-wasm')) as unknown as { initNostrWasm(): Promise<NostrWasmInstance> }
  const nw = await initNostrWasm()
  return (events) =>
    events.map((event) => {
      try {
        nw.verifyEvent(event)
        return true
      } catch {
        return false
      }
    })
}
