/**
 * NIP-13 proof of work ({@link https://github.com/nostr-protocol/nips/blob/master/13.md | NIP-13}):
 * the difficulty of an id (its leading zero bits) and mining an event to a target difficulty.
 *
 * Mining runs off the main thread — `worker_threads` in Node, Web Workers in browsers — spawned from
 * source text, so it needs no bundler configuration. It can use several workers, is abortable
 * through an `AbortSignal` (the workers are terminated before the promise rejects) and reports
 * progress. Where no worker facility exists it mines on the calling thread in short slices that
 * yield to the event loop. The nonce tag commits to the target (`["nonce", "<n>", "<target>"]`), as
 * the NIP recommends, so a lucky low-target miner cannot pass for a high-target one.
 *
 * Measured on a 2-core machine (`bench/pow.bench.ts`, quiet), per worker, with the WebAssembly
 * SIMD kernel: about 10 M hashes/s for a short note, 3 M for a 280-byte note, 1 M for 1 KB — 18 to
 * 64 times nostr-tools' `minePow` in the same run, 33 to 110 times with two workers; the pure
 * JavaScript fallback does about a quarter of that (`pow-miner.ts` says why). The mining core is
 * loaded on the first call (a separate chunk for bundlers).
 *
 * @module
 */
import { CryptoError } from '../errors.js'
import { type UnsignedEvent, getEventHash, nowSeconds, serializeEvent } from './event.js'
import { utf8Encoder } from './bytes.js'
import type { PowJob, PowWorkerMessage, PowWorkerRequest } from './pow-miner.js'

/**
 * The mining core, loaded on the first `minePow`: with its SHA-256 and the generator of its
 * WebAssembly kernel it is most of this module's size, and most apps never mine, so bundlers put it
 * in a chunk of its own that only mining fetches.
 */
type MinerModule = typeof import('./pow-miner.js')
let minerModule: Promise<MinerModule> | undefined
function loadMiner(): Promise<MinerModule> {
  // A failed load (a chunk a browser could not fetch) is not remembered: the next call tries again.
  minerModule ??= import('./pow-miner.js').catch((err: unknown) => {
    minerModule = undefined
    throw err
  })
  return minerModule
}

/** The event to mine: an event template plus its author. */
export interface PowEventTemplate {
  /** Lower-case hex public key of the author (it is part of the id). */
  pubkey: string
  /** Unix seconds; defaults to the time mining starts and stays fixed while mining. */
  created_at?: number
  kind: number
  /** Tags; any existing `nonce` tag is replaced. */
  tags?: string[][]
  content: string
}

/** A progress report while mining. */
export interface PowProgress {
  /** Hashes tried so far, all workers together. */
  hashes: number
  /** Average rate since mining started. */
  hashesPerSecond: number
  /**
   * Expected seconds until a hit: `2^target / hashesPerSecond`. The search is memoryless, so this
   * does not shrink as hashes accumulate (`Infinity` before the rate is known).
   */
  estimatedSecondsLeft: number
}

/** Options of {@link minePow}. */
export interface MinePowOptions {
  /** Aborts mining: the promise rejects with `NIP13_ABORTED` once the workers have stopped. */
  signal?: AbortSignal
  /**
   * How many workers mine in parallel; `0` mines on the calling thread (in slices that yield to
   * the event loop).
   * @default min(2, navigator.hardwareConcurrency), or 2 where that is unknown
   */
  workers?: number
  /** Called at most every `progressIntervalMs` while mining. Throwing from it aborts mining. */
  onProgress?: (progress: PowProgress) => void
  /**
   * Minimum time between two `onProgress` calls, in milliseconds.
   * @default 250
   */
  progressIntervalMs?: number
}

const MAX_DIFFICULTY = 256
const MAX_WORKERS = 256
const DEFAULT_PROGRESS_MS = 250
/** Main-thread mining works in slices this long before yielding (keeps frames and I/O flowing). */
const SLICE_MS = 10
/** Hashes per `run` call on the main thread: small enough to check the clock often on slow CPUs. */
const SLICE_STEP = 1000

/**
 * The difficulty of an id: its number of leading zero bits (NIP-13).
 *
 * @param idHex - an event id in hex (normally 64 characters; any length is counted).
 * @returns leading zero bits, 0..4 × length.
 * @throws TypeError when `idHex` is not a hex string.
 * @example
 * ```ts
 * import { nip13 } from 'nostr-rendezvous/crypto'
 * nip13.getPow('000000000e9d97a1ab09fc381030b346cdd7a142ad57e6df0b46dc9bef6c7e2d') // 36
 * ```
 */
export function getPow(idHex: string): number {
  if (typeof idHex !== 'string' || !/^[0-9a-fA-F]*$/.test(idHex)) throw new TypeError('idHex must be a hex string')
  for (let i = 0; i < idHex.length; i++) {
    const nibble = Number.parseInt(idHex[i]!, 16)
    if (nibble !== 0) return i * 4 + Math.clz32(nibble) - 28
  }
  return idHex.length * 4
}

/**
 * The target difficulty an event commits to in its `nonce` tag (third entry), if any. A client
 * requiring N bits can reject an event whose committed target is below N even when its id happens
 * to have N bits (NIP-13, "Mining").
 *
 * @param event - anything with tags.
 * @returns the committed target, or `undefined` when there is no nonce tag or no valid target.
 * @example
 * ```ts
 * import { nip13 } from 'nostr-rendezvous/crypto'
 * nip13.getCommittedTarget({ tags: [['nonce', '776797', '20']] }) // 20
 * ```
 */
export function getCommittedTarget(event: { tags: string[][] }): number | undefined {
  const tag = event.tags.find((t) => t[0] === 'nonce')
  const target = tag?.[2]
  return target !== undefined && /^\d{1,3}$/.test(target) ? Number(target) : undefined
}

/**
 * Mines `event` until its id has at least `targetDifficulty` leading zero bits, off the main
 * thread. Adds (or replaces) the tag `["nonce", "<n>", "<target>"]`, placed last; `<n>` is a
 * decimal of 12 digits or more, its length chosen so the digits that change from one attempt to the
 * next fill one word of one SHA-256 block (the speed comes from that).
 *
 * @param event - pubkey, kind, content, optional tags and created_at (default now).
 * @param targetDifficulty - leading zero bits wanted, 0..256. Each bit doubles the expected work:
 * 20 bits is about a million hashes.
 * @param options - abort signal, worker count, progress callback and interval.
 * @returns the event with its nonce tag and its id (not signed: sign it next).
 * @throws CryptoError `NIP13_ABORTED` when `options.signal` aborts (before or during mining),
 * `NIP13_WORKER_FAILED` when a worker crashes, `INVALID_EVENT` for a malformed event;
 * RangeError/TypeError for bad arguments; whatever `onProgress` throws.
 * @example
 * ```ts
 * import { finalizeEvent, generateSecretKey, getPublicKey, nip13 } from 'nostr-rendezvous/crypto'
 * const sk = generateSecretKey()
 * const controller = new AbortController()
 * const mined = await nip13.minePow({ pubkey: getPublicKey(sk), kind: 1, content: 'gm' }, 20, {
 *   signal: controller.signal,
 *   onProgress: ({ hashes, estimatedSecondsLeft }) => console.log(hashes, estimatedSecondsLeft),
 * })
 * const signed = finalizeEvent(mined, sk) // same id: finalizeEvent hashes the same fields
 * ```
 */
export async function minePow(
  event: PowEventTemplate,
  targetDifficulty: number,
  options: MinePowOptions = {},
): Promise<UnsignedEvent> {
  if (!Number.isInteger(targetDifficulty) || targetDifficulty < 0 || targetDifficulty > MAX_DIFFICULTY) {
    throw new RangeError(`targetDifficulty must be an integer from 0 to ${MAX_DIFFICULTY}`)
  }
  const { signal, onProgress } = options
  const workers = options.workers ?? defaultWorkerCount()
  const intervalMs = options.progressIntervalMs ?? DEFAULT_PROGRESS_MS
  if (!Number.isInteger(workers) || workers < 0 || workers > MAX_WORKERS) {
    throw new RangeError(`workers must be an integer from 0 to ${MAX_WORKERS}`)
  }
  if (typeof intervalMs !== 'number' || !(intervalMs >= 0)) {
    throw new RangeError('progressIntervalMs must be a non-negative number')
  }
  if (onProgress !== undefined && typeof onProgress !== 'function') throw new TypeError('onProgress must be a function')
  if (signal !== undefined && typeof signal?.addEventListener !== 'function') {
    throw new TypeError('signal must be an AbortSignal')
  }

  const prepared = prepare(event, targetDifficulty)
  const miner = await loadMiner()
  throwIfAborted(signal)
  const report = progressReporter(targetDifficulty, intervalMs, onProgress)
  const run: MiningRun = { job: prepared.job, signal, report, reportMs: workerReportMs(intervalMs, onProgress) }

  let nonce: string | undefined
  if (workers > 0) {
    for (const facility of await workerFacilities(miner)) {
      nonce = await mineWithWorkers(facility, workers, run)
      if (nonce !== undefined) break
    }
  }
  nonce ??= await mineOnThisThread(miner, run)
  return finish(prepared, nonce)
}

// ---------------------------------------------------------------------------------------------
// Preparation and result

interface Prepared {
  fields: Omit<UnsignedEvent, 'id'>
  target: string
  job: Omit<PowJob, 'lane' | 'lanes'>
}

/** Validates the event and splits its serialization around the nonce digits. */
function prepare(event: PowEventTemplate, targetDifficulty: number): Prepared {
  if (typeof event !== 'object' || event === null) throw new TypeError('event must be an object')
  if (event.tags !== undefined && !Array.isArray(event.tags)) {
    throw new CryptoError('INVALID_EVENT', 'Malformed event', { details: 'tags must be an array' })
  }
  const target = String(targetDifficulty)
  const tags = (event.tags ?? []).filter((tag) => !(Array.isArray(tag) && tag[0] === 'nonce'))
  const fields = {
    pubkey: event.pubkey,
    created_at: event.created_at ?? nowSeconds(),
    kind: event.kind,
    tags: tags.map((tag) => (Array.isArray(tag) ? [...tag] : tag)),
    content: event.content,
  }
  // With an empty nonce the serialization ends `["nonce","","<target>"]],<content>]`: everything
  // before the empty string is the fixed prefix, everything after it the suffix.
  const serialized = serializeEvent({ ...fields, tags: [...fields.tags, ['nonce', '', target]] })
  const suffix = `","${target}"]],${JSON.stringify(fields.content)}]`
  return {
    fields,
    target,
    job: {
      prefix: utf8Encoder.encode(serialized.slice(0, serialized.length - suffix.length)),
      suffix: utf8Encoder.encode(suffix),
      target: targetDifficulty,
    },
  }
}

/** Builds the mined event and checks its id with the canonical hash, not the miner's. */
function finish(prepared: Prepared, nonce: string): UnsignedEvent {
  const { fields, target, job } = prepared
  const unsigned = { ...fields, tags: [...fields.tags, ['nonce', nonce, target]] }
  const id = getEventHash(unsigned)
  if (getPow(id) < job.target) {
    throw new CryptoError('NIP13_WORKER_FAILED', 'Proof-of-work miner returned a nonce below the target')
  }
  return { id, ...unsigned }
}

// ---------------------------------------------------------------------------------------------
// Progress and abort

interface MiningRun {
  job: Omit<PowJob, 'lane' | 'lanes'>
  signal: AbortSignal | undefined
  /** Takes the total hash count; calls onProgress when the interval has passed. May throw. */
  report: (hashes: number) => void
  /** How often workers send their hash count. */
  reportMs: number
}

function progressReporter(
  target: number,
  intervalMs: number,
  onProgress: ((progress: PowProgress) => void) | undefined,
): (hashes: number) => void {
  const started = Date.now()
  let last = started
  return (hashes) => {
    if (!onProgress) return
    const now = Date.now()
    if (now - last < intervalMs) return
    last = now
    const hashesPerSecond = now > started ? (hashes * 1000) / (now - started) : 0
    const estimatedSecondsLeft = hashesPerSecond > 0 ? 2 ** target / hashesPerSecond : Number.POSITIVE_INFINITY
    onProgress({ hashes, hashesPerSecond, estimatedSecondsLeft })
  }
}

/** Workers report twice per interval so the main thread always has a fresh count to pass on. */
function workerReportMs(intervalMs: number, onProgress: unknown): number {
  return onProgress ? Math.max(10, intervalMs / 2) : 2 ** 31
}

function abortedError(signal: AbortSignal): CryptoError {
  return new CryptoError('NIP13_ABORTED', 'Proof-of-work mining was aborted', { cause: signal.reason })
}

function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw abortedError(signal)
}

/** What a throwing onProgress becomes: rejections are always Errors. */
function asError(value: unknown): Error {
  return value instanceof Error ? value : new Error(String(value))
}

// ---------------------------------------------------------------------------------------------
// Calling thread

/** Mines in slices of about {@link SLICE_MS}, yielding to the event loop between them. */
async function mineOnThisThread({ createPowMiner }: MinerModule, run: MiningRun): Promise<string> {
  const miner = createPowMiner({ ...run.job, lane: 0, lanes: 1 })
  for (;;) {
    throwIfAborted(run.signal)
    const sliceEnd = Date.now() + SLICE_MS
    do {
      const nonce = miner.run(SLICE_STEP)
      if (nonce !== undefined) return nonce
    } while (Date.now() < sliceEnd)
    run.report(miner.hashes)
    await new Promise((resolve) => setTimeout(resolve, 0))
  }
}

// ---------------------------------------------------------------------------------------------
// Workers

interface WorkerEvents {
  message(message: PowWorkerMessage): void
  failure(cause: unknown): void
}

interface MiningWorker {
  post(request: PowWorkerRequest): void
  terminate(): Promise<void>
}

/** A way to start workers (Node `worker_threads` or Web Workers). */
interface WorkerFacility {
  /** Starts a worker; throws synchronously when this environment cannot. */
  spawn(events: WorkerEvents): MiningWorker
  /** Releases what spawning needed (a Blob URL). */
  dispose(): void
}

function defaultWorkerCount(): number {
  const cores = (globalThis as { navigator?: { hardwareConcurrency?: unknown } }).navigator?.hardwareConcurrency
  return typeof cores === 'number' && cores >= 1 ? Math.min(2, Math.floor(cores)) : 2
}

/** The worker facilities of this environment, best first, detected at call time. */
async function workerFacilities({ powWorkerSource }: MinerModule): Promise<WorkerFacility[]> {
  const facilities: WorkerFacility[] = []
  const versions = (globalThis as { process?: { versions?: { node?: unknown } } }).process?.versions
  if (typeof versions?.node === 'string') {
    try {
      // The literal specifier lets bundlers see and ignore it; browsers never reach this line.
      const { Worker } = await import(/* webpackIgnore: true */ /* @vite-ignore */ 'node:worker_threads')
      facilities.push(nodeFacility(Worker, powWorkerSource('node')))
    } catch {
      // An edge runtime that looks like Node without worker_threads: try Web Workers below.
    }
  }
  if (typeof Worker === 'function' && typeof Blob === 'function' && typeof URL.createObjectURL === 'function') {
    facilities.push(webFacility(powWorkerSource('web')))
  }
  return facilities
}

function nodeFacility(NodeWorker: typeof import('node:worker_threads').Worker, source: string): WorkerFacility {
  return {
    spawn(events) {
      const worker = new NodeWorker(source, { eval: true })
      worker.on('message', events.message)
      worker.on('error', events.failure)
      worker.on('messageerror', events.failure)
      worker.on('exit', (code) => events.failure(new Error(`worker exited with code ${code}`)))
      return {
        post: (request) => worker.postMessage(request),
        terminate: async () => {
          await worker.terminate()
        },
      }
    },
    dispose() {},
  }
}

function webFacility(source: string): WorkerFacility {
  let url: string | undefined
  return {
    spawn(events) {
      url ??= URL.createObjectURL(new Blob([source], { type: 'text/javascript' }))
      const worker = new Worker(url)
      worker.onmessage = (event: MessageEvent<PowWorkerMessage>) => events.message(event.data)
      worker.onerror = (event: ErrorEvent) => {
        event.preventDefault()
        events.failure(event.error ?? new Error(event.message || 'worker error'))
      }
      worker.onmessageerror = (event: MessageEvent) => events.failure(event.data)
      return {
        post: (request) => worker.postMessage(request),
        terminate: async () => worker.terminate(),
      }
    },
    dispose() {
      if (url !== undefined) URL.revokeObjectURL(url)
      url = undefined
    },
  }
}

/**
 * Mines with `count` workers, each on its own lane of the nonce space. Resolves with the first
 * nonce found, or `undefined` when this facility cannot start a worker (the caller tries the next
 * one). Settles only after every worker has been terminated.
 */
function mineWithWorkers(facility: WorkerFacility, count: number, run: MiningRun): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const workers: MiningWorker[] = []
    const hashes = new Array<number>(count).fill(0)
    let settled = false

    const settle = (error: Error | undefined, nonce?: string): void => {
      if (settled) return
      settled = true
      run.signal?.removeEventListener('abort', onAbort)
      void Promise.all(workers.map((worker) => worker.terminate().catch(() => undefined))).then(() => {
        facility.dispose()
        if (error) reject(error)
        else resolve(nonce)
      })
    }
    const onAbort = (): void => settle(abortedError(run.signal!))
    const failed = (cause: unknown, details?: string): void =>
      settle(new CryptoError('NIP13_WORKER_FAILED', 'Proof-of-work worker failed', { cause, details }))
    const onMessage = (lane: number, message: PowWorkerMessage): void => {
      if (message.type === 'found') return settle(undefined, message.nonce)
      if (message.type === 'error') return failed(undefined, message.message)
      hashes[lane] = message.hashes
      try {
        run.report(hashes.reduce((sum, n) => sum + n, 0))
      } catch (err) {
        settle(asError(err))
      }
    }

    if (run.signal?.aborted) return settle(abortedError(run.signal))
    run.signal?.addEventListener('abort', onAbort)
    for (let lane = 0; lane < count && !settled; lane++) {
      let worker: MiningWorker
      try {
        worker = facility.spawn({ message: (m) => onMessage(lane, m), failure: (cause) => failed(cause) })
      } catch {
        // This environment cannot start workers this way (a CSP forbidding blob:, a stub Worker).
        return settle(undefined, undefined)
      }
      workers.push(worker)
      worker.post({ job: { ...run.job, lane, lanes: count }, reportMs: run.reportMs })
    }
  })
}
