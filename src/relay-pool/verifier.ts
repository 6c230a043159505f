/**
 * Where event signatures are checked: the {@link EventVerifier} the pool's intake hands its
 * batches to, a worker-backed implementation (the default) and a main-thread one.
 *
 * The default, {@link createWorkerVerifier}, runs the batch verifier of `verify-engine.ts` on a
 * small pool of workers — `node:worker_threads` in Node, Web Workers in browsers — sized to the
 * cores, so that signature checks (nearly the whole cost of reading from relays) neither block the
 * main thread nor use only one core. The workers are started lazily (the first batch), from source
 * text (`fn.toString()`, like the proof-of-work miners), so they need no bundler configuration and
 * no file to locate: the engine is self-contained and carries its own secp256k1 arithmetic. Where
 * no worker can start (no facility, a Content Security Policy refusing `blob:` workers, a crash at
 * start-up) verification falls back to the main thread and {@link VerifierStats.fallbackReason}
 * says why.
 *
 * Idle workers do not keep a Node process alive (they are `unref`'d between jobs); `close()` ends
 * them.
 *
 * @module
 */

import type { NostrEvent } from '../crypto/event.js'
import { verifyEvents } from '../crypto/signature.js'

/**
 * Checks event ids and signatures for the pool. Implementations must never reject and never
 * throw: anything that cannot be checked is invalid.
 */
export interface EventVerifier {
  /**
   * Checks a batch. The events of one call come from one relay: a batch verifier checks them
   * together (and may merge calls with the same `hint.key`), so that one relay's forged signatures
   * only cost that relay's batches.
   *
   * @param events - shape-checked events.
   * @param hint - where they came from, and whether to check them one by one.
   * @returns one boolean per event, in order.
   */
  verify(events: readonly NostrEvent[], hint?: VerifyHint): Promise<boolean[]>
  /**
   * What the verifier is doing.
   *
   * @returns a snapshot.
   */
  stats(): VerifierStats
  /**
   * Ends the workers. Pending and later calls resolve with `false` for every event.
   *
   * @returns once every worker has exited.
   */
  close(): Promise<void>
}

/** What the intake tells a verifier about a batch. */
export interface VerifyHint {
  /** The source (relay) of the events: batches with the same key may be checked together. */
  readonly key?: string
  /**
   * Check the signatures one by one: the source recently sent a forgery, so a batch would likely
   * fail and cost more than single checks.
   */
  readonly single?: boolean
}

/** A snapshot of a verifier's state and counters. */
export interface VerifierStats {
  /** What checks signatures: `'js-batch'` (the pure-JS batch engine), `'wasm'`, `'main-thread'`. */
  readonly backend: string
  /** `idle` before the first batch, `starting` while workers start, then `workers` or `main-thread`; `closed` at the end. */
  readonly mode: 'idle' | 'starting' | 'workers' | 'main-thread' | 'closed'
  /** Workers running now. */
  readonly workers: number
  /** Why verification runs on the main thread although workers were asked for, when it does. */
  readonly fallbackReason?: string
  /** Events checked so far (all backends). */
  readonly events: number
  /** Batches (one relay's events) checked so far. */
  readonly batches: number
  /** Of {@link events}, those checked on the main thread. */
  readonly mainThreadEvents: number
  /** Workers that failed (crashed, or could not start). */
  readonly workerFailures: number
}

/** A synchronous batch check: one boolean per event. */
export type VerifyBatch = (events: readonly NostrEvent[]) => boolean[]

/**
 * A verifier that checks every batch on the calling thread with `verify` (the crypto layer's
 * `verifyEvents` by default). Useful where workers are unwanted, and in tests.
 *
 * @param verify - the batch check. @default verifyEvents from `nostr-rendezvous/crypto`
 * @returns the verifier.
 * @example
 * ```ts
 * import { createMainThreadVerifier, createRelayPool } from 'nostr-rendezvous/relay-pool'
 * const pool = createRelayPool({ verifier: createMainThreadVerifier() })
 * ```
 */
export function createMainThreadVerifier(verify: VerifyBatch = verifyEvents): EventVerifier {
  let closed = false
  let events = 0
  let batches = 0
  return {
    async verify(batch) {
      if (closed) return batch.map(() => false)
      events += batch.length
      batches += 1
      return safeBatch(verify, batch)
    },
    stats: () => ({ backend: 'main-thread', mode: closed ? 'closed' : 'main-thread', workers: 0, events, batches, mainThreadEvents: events, workerFailures: 0 }),
    async close() {
      closed = true
    },
  }
}

/** Options of {@link createWorkerVerifier}. */
export interface WorkerVerifierOptions {
  /**
   * Workers to run. `0` checks on the main thread. @default the number of cores, at most 4
   */
  readonly workers?: number
  /**
   * Largest number of events sent to one worker at once (bigger batches are cheaper per event;
   * smaller ones spread over more workers sooner). @default 2048
   */
  readonly maxJobEvents?: number
}

/**
 * The default verifier: the pure-JS batch verifier on a pool of workers, with a main-thread
 * fallback (`verifyEvents` from the crypto layer) when workers cannot run.
 *
 * @param options - worker count and job size.
 * @returns the verifier; the pool closes it with itself.
 * @throws RangeError when `workers` is not an integer from 0 to 64 or `maxJobEvents` not a positive integer.
 * @example
 * ```ts
 * import { createRelayPool, createWorkerVerifier } from 'nostr-rendezvous/relay-pool'
 * const pool = createRelayPool({ verifier: createWorkerVerifier({ workers: 2 }) })
 * ```
 */
export function createWorkerVerifier(options: WorkerVerifierOptions = {}): EventVerifier {
  return new WorkerPoolVerifier({
    backend: 'js-batch',
    engineFactorySource: jsEngineFactory,
    init: undefined,
    fallback: async () => verifyEvents,
    ...(options.workers !== undefined && { workers: options.workers }),
    ...(options.maxJobEvents !== undefined && { maxJobEvents: options.maxJobEvents }),
  })
}

// ---------------------------------------------------------------------------------------------
// The worker side. Self-contained like the engine: it runs from its source text.

/** What the main thread sends a worker. @internal */
export type VerifyWorkerRequest =
  | { type: 'init'; init: unknown }
  | { type: 'verify'; job: number; groups: WireGroup[] }

/** Events a worker checks as one batch (or one by one). @internal */
export interface WireGroup {
  readonly events: NostrEvent[]
  readonly single: boolean
}

/** What a worker sends back. @internal */
export type VerifyWorkerReply =
  | { type: 'ready' }
  | { type: 'failed'; message: string }
  | { type: 'done'; job: number; verdicts: Uint8Array[] }

/** The channel between a worker and its parent (adapted to `worker_threads` or a Web Worker). @internal */
export interface VerifyPort {
  post(message: VerifyWorkerReply): void
  listen(handler: (request: VerifyWorkerRequest) => void): void
}

/** A verifying engine inside a worker. @internal */
export interface WorkerEngine {
  verify(events: readonly NostrEvent[], single?: boolean): Uint8Array
}

/**
 * The body of a verification worker: builds its engine from the first (`init`) message, then
 * answers each `verify` message with one verdict array per group. Self-contained.
 *
 * @param port - the channel to the main thread.
 * @param makeEngine - builds the engine (may be async, e.g. to load WebAssembly).
 * @param hooks - platform services for the engine (native hashing in Node).
 * @internal
 */
export function verifyWorkerLoop(
  port: VerifyPort,
  makeEngine: (init: unknown, hooks: unknown) => WorkerEngine | Promise<WorkerEngine>,
  hooks: unknown,
): void {
  let engine: Promise<WorkerEngine> | undefined
  port.listen((request) => {
    if (request.type === 'init') {
      engine = Promise.resolve().then(() => makeEngine(request.init, hooks))
      engine.then(
        () => port.post({ type: 'ready' }),
        (error: unknown) => port.post({ type: 'failed', message: error instanceof Error ? error.message : String(error) }),
      )
      return
    }
    const ready = engine ?? Promise.reject(new Error('not initialised'))
    ready.then(
      (e) => {
        const verdicts = request.groups.map((group) => {
          try {
            return e.verify(group.events, group.single)
          } catch {
            return new Uint8Array(group.events.length)
          }
        })
        port.post({ type: 'done', job: request.job, verdicts })
      },
      () => port.post({ type: 'done', job: request.job, verdicts: request.groups.map((group) => new Uint8Array(group.events.length)) }),
    )
  })
}

/**
 * The pure-JS engine as a factory expression for {@link verifyWorkerSource}. Loaded when the first
 * workers start, so that pages that never verify in bulk do not download it up front.
 */
async function jsEngineFactory(): Promise<string> {
  const { createVerifyEngine } = await import('./verify-engine.js')
  return `function (init, hooks) { return (${createVerifyEngine.toString()})(hooks || {}) }`
}

const NODE_PORT =
  "(function () { var p = require('node:worker_threads').parentPort; return { " +
  'post: function (m) { p.postMessage(m) }, listen: function (h) { p.on("message", h) } } })()'
const WEB_PORT = '{ post: function (m) { self.postMessage(m) }, listen: function (h) { self.onmessage = function (e) { h(e.data) } } }'
// Node hashes natively (measured: the id hash is about 4 times faster than a JS SHA-256).
const NODE_HOOKS =
  "(function () { var c = require('node:crypto'); return { sha256Hex: function (d) { return c.createHash('sha256').update(d).digest('hex') } } })()"

/**
 * The source text of a verification worker for Node's `worker_threads` (`eval: true`, CommonJS
 * scope) or for a browser Web Worker.
 *
 * @param platform - `'node'` or `'web'`.
 * @param engineFactorySource - a function expression `(init, hooks) => engine`, self-contained.
 * @returns JavaScript source.
 * @internal
 */
export function verifyWorkerSource(platform: 'node' | 'web', engineFactorySource: string): string {
  const port = platform === 'node' ? NODE_PORT : WEB_PORT
  const hooks = platform === 'node' ? NODE_HOOKS : 'undefined'
  return `"use strict";\n(${verifyWorkerLoop.toString()})(${port}, ${engineFactorySource}, ${hooks});\n`
}

// ---------------------------------------------------------------------------------------------
// The main-thread side.

interface WorkerHandle {
  post(request: VerifyWorkerRequest): void
  /** Keeps the process alive while a job runs (Node); no-op elsewhere. */
  ref(): void
  unref(): void
  terminate(): Promise<void>
}

interface WorkerEvents {
  message(reply: VerifyWorkerReply): void
  failure(cause: unknown): void
}

/** A way to start workers. */
interface WorkerFacility {
  readonly platform: 'node' | 'web'
  /** Throws synchronously when this environment cannot start one. */
  spawn(source: string, events: WorkerEvents): WorkerHandle
  dispose(): void
}

/** Options of the generic worker-backed verifier; backends (JS, WASM) differ only in these. @internal */
export interface WorkerPoolVerifierOptions {
  /** Name in {@link VerifierStats.backend}. */
  readonly backend: string
  /** A self-contained function expression `(init, hooks) => engine | Promise<engine>`, or a loader of it. */
  readonly engineFactorySource: string | (() => Promise<string>)
  /** Sent to each worker's engine factory (structured-cloneable). */
  readonly init: unknown
  /** The main-thread check used when workers cannot run. */
  readonly fallback: () => Promise<VerifyBatch>
  readonly workers?: number
  readonly maxJobEvents?: number
  /** How long workers may take to report ready before the main thread takes over. @default 10000 */
  readonly startTimeoutMs?: number
}

interface Group {
  /** Groups with the same key may be merged into one batch. */
  readonly key: string
  readonly single: boolean
  readonly events: readonly NostrEvent[]
  readonly verdicts: boolean[]
  /** Pieces still out (a big group may be split over several workers). */
  outstanding: number
  readonly resolve: (verdicts: boolean[]) => void
}

/** A contiguous part of a group, the unit sent to a worker. */
interface Piece {
  readonly group: Group
  readonly start: number
  readonly end: number
}

interface Slot {
  handle: WorkerHandle | undefined
  ready: boolean
  job: { readonly id: number; readonly pieces: Piece[]; readonly wire: ReadonlyArray<{ readonly pieces: Piece[] }> } | undefined
  dead: boolean
}

const DEFAULT_MAX_JOB_EVENTS = 2048
/** Pieces smaller than this are not split further to feed another idle worker. */
const MIN_PIECE = 64
const MAX_WORKERS = 64

/** The worker-backed verifier. @internal */
export class WorkerPoolVerifier implements EventVerifier {
  readonly #options: WorkerPoolVerifierOptions
  readonly #maxJobEvents: number
  #mode: VerifierStats['mode'] = 'idle'
  #fallbackReason: string | undefined
  #slots: Slot[] = []
  #queue: Piece[] = []
  #nextJob = 1
  #events = 0
  #batches = 0
  #mainThreadEvents = 0
  #workerFailures = 0
  #facility: WorkerFacility | undefined
  #fallback: Promise<VerifyBatch> | undefined
  #startTimer: ReturnType<typeof setTimeout> | undefined
  #draining = false

  constructor(options: WorkerPoolVerifierOptions) {
    if (options.workers !== undefined && (!Number.isInteger(options.workers) || options.workers < 0 || options.workers > MAX_WORKERS)) {
      throw new RangeError(`workers must be an integer from 0 to ${MAX_WORKERS}`)
    }
    if (options.maxJobEvents !== undefined && (!Number.isSafeInteger(options.maxJobEvents) || options.maxJobEvents < 1)) {
      throw new RangeError('maxJobEvents must be a positive integer')
    }
    this.#options = options
    this.#maxJobEvents = options.maxJobEvents ?? DEFAULT_MAX_JOB_EVENTS
  }

  verify(events: readonly NostrEvent[], hint?: VerifyHint): Promise<boolean[]> {
    if (this.#mode === 'closed') return Promise.resolve(events.map(() => false))
    if (events.length === 0) return Promise.resolve([])
    this.#events += events.length
    this.#batches += 1
    return new Promise<boolean[]>((resolve) => {
      const single = hint?.single === true
      const key = `${single ? 's' : 'b'}:${hint?.key ?? ''}`
      const group: Group = { key, single, events, verdicts: new Array<boolean>(events.length).fill(false), outstanding: 1, resolve }
      this.#queue.push({ group, start: 0, end: events.length })
      if (this.#mode === 'idle') void this.#start()
      else this.#pump()
    })
  }

  stats(): VerifierStats {
    return {
      backend: this.#mode === 'main-thread' ? 'main-thread' : this.#options.backend,
      mode: this.#mode,
      workers: this.#slots.filter((slot) => !slot.dead).length,
      ...(this.#fallbackReason !== undefined && { fallbackReason: this.#fallbackReason }),
      events: this.#events,
      batches: this.#batches,
      mainThreadEvents: this.#mainThreadEvents,
      workerFailures: this.#workerFailures,
    }
  }

  async close(): Promise<void> {
    if (this.#mode === 'closed') return
    this.#mode = 'closed'
    this.#clearStartTimer()
    const slots = this.#slots
    this.#slots = []
    for (const slot of slots) {
      if (slot.job !== undefined) for (const piece of slot.job.pieces) this.#finishPiece(piece, undefined)
      slot.job = undefined
      slot.dead = true
    }
    for (const piece of this.#queue.splice(0)) this.#finishPiece(piece, undefined)
    await Promise.all(slots.map((slot) => slot.handle?.terminate().catch(() => undefined)))
    this.#facility?.dispose()
    this.#facility = undefined
  }

  async #start(): Promise<void> {
    this.#mode = 'starting'
    const count = this.#options.workers ?? (await defaultWorkerCount())
    if (this.#mode !== 'starting') return
    if (count === 0) return this.#toMainThread('workers: 0')
    const facility = await detectFacility()
    if (this.#mode !== 'starting') {
      facility?.dispose()
      return
    }
    if (facility === undefined) return this.#toMainThread('no worker facility in this environment')
    this.#facility = facility
    let factory: string
    try {
      const given = this.#options.engineFactorySource
      factory = typeof given === 'string' ? given : await given()
    } catch (cause) {
      facility.dispose()
      return this.#toMainThread(`the worker code could not load: ${describe(cause)}`)
    }
    if (this.#mode !== 'starting') {
      facility.dispose()
      return
    }
    const source = verifyWorkerSource(facility.platform, factory)
    for (let i = 0; i < count; i++) {
      const slot: Slot = { handle: undefined, ready: false, job: undefined, dead: false }
      try {
        const handle = facility.spawn(source, {
          message: (reply) => this.#onReply(slot, reply),
          failure: (cause) => this.#onFailure(slot, cause),
        })
        slot.handle = handle
        this.#slots.push(slot)
        handle.post({ type: 'init', init: this.#options.init })
      } catch (cause) {
        this.#workerFailures += 1
        if (this.#slots.length === 0) return this.#toMainThread(`workers could not start: ${describe(cause)}`)
        break
      }
    }
    const timeoutMs = this.#options.startTimeoutMs ?? 10_000
    this.#startTimer = setTimeout(() => {
      this.#startTimer = undefined
      if (this.#mode === 'starting') void this.#toMainThread(`workers did not start within ${timeoutMs} ms`)
    }, timeoutMs)
    unrefTimer(this.#startTimer)
  }

  #onReply(slot: Slot, reply: VerifyWorkerReply): void {
    if (slot.dead || this.#mode === 'closed') return
    switch (reply.type) {
      case 'ready':
        slot.ready = true
        slot.handle?.unref()
        if (this.#mode === 'starting') {
          this.#mode = 'workers'
          this.#clearStartTimer()
        }
        this.#pump()
        return
      case 'failed':
        this.#onFailure(slot, new Error(reply.message))
        return
      case 'done': {
        const job = slot.job
        if (job === undefined || job.id !== reply.job) return
        slot.job = undefined
        slot.handle?.unref()
        job.wire.forEach((merged, i) => {
          const verdicts = reply.verdicts[i]
          let at = 0
          for (const piece of merged.pieces) {
            const size = piece.end - piece.start
            this.#finishPiece(piece, verdicts === undefined ? undefined : verdicts.subarray(at, at + size))
            at += size
          }
        })
        this.#pump()
        return
      }
    }
  }

  #onFailure(slot: Slot, cause: unknown): void {
    if (slot.dead || this.#mode === 'closed') return
    slot.dead = true
    this.#workerFailures += 1
    this.#slots = this.#slots.filter((s) => s !== slot)
    void slot.handle?.terminate().catch(() => undefined)
    // Its work goes back to the front of the queue, in order.
    if (slot.job !== undefined) this.#queue.unshift(...slot.job.pieces)
    slot.job = undefined
    if (this.#slots.length === 0) {
      void this.#toMainThread(`${slot.ready ? 'worker crashed' : 'worker could not start'}: ${describe(cause)}`)
      return
    }
    this.#pump()
  }

  async #toMainThread(reason: string): Promise<void> {
    if (this.#mode === 'closed') return
    this.#mode = 'main-thread'
    this.#fallbackReason = reason
    this.#clearStartTimer()
    const slots = this.#slots
    this.#slots = []
    for (const slot of slots) {
      slot.dead = true
      if (slot.job !== undefined) this.#queue.unshift(...slot.job.pieces)
      slot.job = undefined
      void slot.handle?.terminate().catch(() => undefined)
    }
    this.#fallback ??= this.#options.fallback().catch(() => verifyEvents)
    this.#pump()
  }

  /** Hands queued pieces to idle workers, or checks them here in fallback mode. */
  #pump(): void {
    if (this.#mode === 'main-thread') {
      void this.#drainOnMainThread()
      return
    }
    if (this.#mode !== 'workers') return
    let idle = this.#slots.filter((slot) => slot.ready && !slot.dead && slot.job === undefined)
    while (idle.length > 0 && this.#queue.length > 0) {
      const slot = idle.shift() as Slot
      const queued = this.#queue.reduce((sum, piece) => sum + (piece.end - piece.start), 0)
      // A share of what is queued per worker (busy ones included: they will be back for the rest),
      // in pieces worth a batch. Taking everything would leave the next free worker idle while this
      // one works through it all.
      const workers = this.#slots.filter((s) => s.ready && !s.dead).length
      const target = Math.min(this.#maxJobEvents, Math.max(MIN_PIECE, Math.ceil(queued / workers)))
      const pieces: Piece[] = []
      let taken = 0
      while (this.#queue.length > 0 && taken < target) {
        const piece = this.#queue[0] as Piece
        const size = piece.end - piece.start
        const room = target - taken
        if (size <= room || size - room < MIN_PIECE) {
          this.#queue.shift()
          pieces.push(piece)
          taken += size
        } else {
          // Split: the first `room` events go now, the rest stays queued.
          piece.group.outstanding += 1
          pieces.push({ group: piece.group, start: piece.start, end: piece.start + room })
          this.#queue[0] = { group: piece.group, start: piece.start + room, end: piece.end }
          taken += room
        }
      }
      // Pieces of one source (and mode) become one batch: bigger batches cost less per event.
      const merged = new Map<string, { pieces: Piece[]; events: NostrEvent[]; single: boolean }>()
      for (const piece of pieces) {
        let wire = merged.get(piece.group.key)
        if (wire === undefined) {
          wire = { pieces: [], events: [], single: piece.group.single }
          merged.set(piece.group.key, wire)
        }
        wire.pieces.push(piece)
        for (let i = piece.start; i < piece.end; i++) wire.events.push(piece.group.events[i] as NostrEvent)
      }
      const wire = [...merged.values()]
      const id = this.#nextJob++
      slot.job = { id, pieces, wire }
      slot.handle?.ref()
      try {
        slot.handle?.post({ type: 'verify', job: id, groups: wire.map((w) => ({ events: w.events, single: w.single })) })
      } catch (cause) {
        // An event that cannot be cloned (never from the pool's parser): fail over this worker.
        this.#onFailure(slot, cause)
        idle = this.#slots.filter((s) => s.ready && !s.dead && s.job === undefined)
      }
    }
  }

  async #drainOnMainThread(): Promise<void> {
    if (this.#draining) return
    this.#draining = true
    try {
      const verify = await (this.#fallback as Promise<VerifyBatch>)
      while (this.#queue.length > 0 && this.#mode === 'main-thread') {
        const piece = this.#queue.shift() as Piece
        const events = piece.group.events.slice(piece.start, piece.end)
        this.#mainThreadEvents += events.length
        const verdicts = safeBatch(verify, events)
        this.#finishPiece(piece, Uint8Array.from(verdicts, (ok) => (ok ? 1 : 0)))
      }
    } finally {
      this.#draining = false
    }
  }

  #finishPiece(piece: Piece, verdicts: Uint8Array | undefined): void {
    const group = piece.group
    if (verdicts !== undefined && verdicts.length === piece.end - piece.start) {
      for (let i = piece.start; i < piece.end; i++) group.verdicts[i] = verdicts[i - piece.start] === 1
    }
    group.outstanding -= 1
    if (group.outstanding === 0) group.resolve(group.verdicts)
  }

  #clearStartTimer(): void {
    if (this.#startTimer !== undefined) {
      clearTimeout(this.#startTimer)
      this.#startTimer = undefined
    }
  }
}

function safeBatch(verify: VerifyBatch, events: readonly NostrEvent[]): boolean[] {
  try {
    const result = verify(events)
    return events.map((_, i) => result[i] === true)
  } catch {
    return events.map(() => false)
  }
}

function describe(cause: unknown): string {
  return (cause instanceof Error ? cause.message : String(cause)).slice(0, 200)
}

function unrefTimer(timer: unknown): void {
  ;(timer as { unref?: () => void }).unref?.()
}

async function defaultWorkerCount(): Promise<number> {
  let cores: unknown = (globalThis as { navigator?: { hardwareConcurrency?: unknown } }).navigator?.hardwareConcurrency
  if (typeof cores !== 'number' && isNode()) {
    try {
      const os = await import(/* webpackIgnore: true */ /* @vite-ignore */ 'node:os')
      cores = typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length
    } catch {
      // No os module: assume two cores.
    }
  }
  return typeof cores === 'number' && cores >= 1 ? Math.min(4, Math.floor(cores)) : 2
}

function isNode(): boolean {
  const versions = (globalThis as { process?: { versions?: { node?: unknown } } }).process?.versions
  return typeof versions?.node === 'string'
}

/** The worker facility of this environment, detected at call time, or undefined. */
async function detectFacility(): Promise<WorkerFacility | undefined> {
  if (isNode()) {
    try {
      // The literal specifier lets bundlers see and ignore it; browsers never reach this line.
      const { Worker } = await import(/* webpackIgnore: true */ /* @vite-ignore */ 'node:worker_threads')
      return nodeFacility(Worker)
    } catch {
      // An edge runtime that looks like Node without worker_threads: try Web Workers below.
    }
  }
  if (typeof Worker === 'function' && typeof Blob === 'function' && typeof URL.createObjectURL === 'function') return webFacility()
  return undefined
}

function nodeFacility(NodeWorker: typeof import('node:worker_threads').Worker): WorkerFacility {
  return {
    platform: 'node',
    spawn(source, events) {
      // Ref'd while it starts (work is waiting for it); unref'd whenever it is idle after that.
      const worker = new NodeWorker(source, { eval: true })
      let exited = false
      worker.on('message', events.message)
      worker.on('error', events.failure)
      worker.on('messageerror', events.failure)
      worker.on('exit', (code) => {
        exited = true
        events.failure(new Error(`worker exited with code ${code}`))
      })
      return {
        post: (request) => worker.postMessage(request),
        ref: () => {
          if (!exited) worker.ref()
        },
        unref: () => worker.unref(),
        terminate: async () => {
          await worker.terminate()
        },
      }
    },
    dispose() {},
  }
}

function webFacility(): WorkerFacility {
  const urls = new Map<string, string>()
  return {
    platform: 'web',
    spawn(source, events) {
      let url = urls.get(source)
      if (url === undefined) {
        url = URL.createObjectURL(new Blob([source], { type: 'text/javascript' }))
        urls.set(source, url)
      }
      const worker = new Worker(url)
      worker.onmessage = (event: MessageEvent<VerifyWorkerReply>) => events.message(event.data)
      worker.onerror = (event: ErrorEvent) => {
        event.preventDefault()
        events.failure(event.error ?? new Error(event.message || 'worker error'))
      }
      worker.onmessageerror = (event: MessageEvent) => events.failure(event.data)
      return {
        post: (request) => worker.postMessage(request),
        ref: () => undefined,
        unref: () => undefined,
        terminate: async () => worker.terminate(),
      }
    },
    dispose() {
      for (const url of urls.values()) URL.revokeObjectURL(url)
      urls.clear()
    },
  }
}
