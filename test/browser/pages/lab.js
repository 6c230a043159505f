// The browser tests' page script: imports the built package through the page's import map (bare
// specifiers, as an app would) and exposes a small API on `window.lab` for `page.evaluate`. Every
// function returns plain JSON (errors as { name, code, message }), since that is what crosses back
// to Node. Secret keys stay in the page: functions take and return public keys.
import { createClient, finalizeEvent, generateSecretKey, getPublicKey, isRendezvousError, verifyEvent } from 'nostr-rendezvous'
import { createNip07Signer, createSecretKeySigner, nip13, nip17 } from 'nostr-rendezvous/crypto'
import { createPublishQueue } from 'nostr-rendezvous/outbox'
import { createRelayPool } from 'nostr-rendezvous/relay-pool'
import { indexedDbStorage } from 'nostr-rendezvous/storage/indexeddb'

/** Secret keys made in this page, by public key. */
const keys = new Map()
/** Events received by live subscriptions, by subscription name. */
const live = new Map()
/** Everything to close in `closeAll()`. */
const closers = []

/** The pool options a page talking to local test relays needs: 127.0.0.1 allowed, no NIP-11. */
const POOL_OPTIONS = {
  connect: { allowPrivateHosts: ['127.0.0.1'] },
  fetch: false,
  connectTimeoutMs: 3_000,
  eoseTimeoutMs: 3_000,
  publishTimeoutMs: 3_000,
}

function makePool() {
  const pool = createRelayPool(POOL_OPTIONS)
  closers.push(() => pool.close())
  return pool
}

function secretKeyOf(pubkey) {
  const sk = keys.get(pubkey)
  if (!sk) throw new Error(`no key for ${pubkey} in this page`)
  return sk
}

/** An error as JSON, keeping the library's stable code. */
function describeError(err) {
  return {
    name: err?.name ?? 'Error',
    code: err?.code,
    message: String(err?.message ?? err),
    isRendezvousError: isRendezvousError(err),
  }
}

function summarizeReport(report) {
  return {
    state: report.state,
    accepted: report.accepted,
    targets: report.targets.map((t) => ({ url: t.url, status: t.status, attempts: t.attempts })),
  }
}

const queues = new Map()

window.lab = {
  /** A new key pair; the secret stays here. @returns the public key (hex). */
  newKey() {
    const sk = generateSecretKey()
    const pubkey = getPublicKey(sk)
    keys.set(pubkey, sk)
    return pubkey
  },

  /** Signs a kind 1 with a page key and publishes it with a relay pool. */
  async publishNote(pubkey, relayUrl, content) {
    const event = finalizeEvent({ kind: 1, content, tags: [], created_at: Math.floor(Date.now() / 1000) }, secretKeyOf(pubkey))
    const pool = makePool()
    const report = await pool.publish(event, { relays: [relayUrl], origin: 'configured' })
    return { event, accepted: report.accepted, relays: report.relays.map((r) => ({ url: r.url, status: r.status })) }
  },

  /**
   * Opens a live subscription named `name`; resolves at EOSE with what was stored already. Later
   * events are collected and read with `received(name)`.
   */
  async subscribe(name, relayUrl, filter) {
    const pool = makePool()
    const events = []
    live.set(name, events)
    const eose = new Promise((resolve) => {
      const sub = pool.subscribe([filter], {
        relays: [relayUrl],
        origin: 'configured',
        onEvent: (event) => events.push(event),
        onEose: (report) => resolve(report.relays.map((r) => ({ url: r.url, status: r.status }))),
      })
      closers.push(() => sub.close())
    })
    const relays = await eose
    return { relays, before: events.length }
  },

  /** Events a live subscription has received so far. */
  received(name) {
    return live.get(name) ?? []
  },

  /** Gift-wraps a NIP-17 DM from a page key to `recipient` (hex). @returns every wrap. */
  async wrapDm(senderPubkey, recipient, content) {
    const { wraps } = await nip17.wrapDirectMessage({
      signer: createSecretKeySigner(secretKeyOf(senderPubkey)),
      recipients: [recipient],
      content,
    })
    return wraps.map((w) => ({ recipient: w.recipient, self: w.self, wrap: w.wrap }))
  },

  /** Unwraps a gift wrap with a page key. */
  async unwrapDm(recipientPubkey, wrap) {
    try {
      const dm = await nip17.unwrapDirectMessage(wrap, createSecretKeySigner(secretKeyOf(recipientPubkey)))
      return { ok: true, content: dm.rumor.content, kind: dm.rumor.kind, sender: dm.sender, participants: dm.participants }
    } catch (err) {
      return { ok: false, error: describeError(err) }
    }
  },

  /**
   * Mines `bits` of NIP-13 PoW in one Web Worker, reporting progress as often as the worker
   * reports, then signs. @returns the signed event and the progress reports seen.
   */
  async minePow(pubkey, bits, content) {
    const progress = []
    const mined = await nip13.minePow({ pubkey, kind: 1, content, tags: [] }, bits, {
      workers: 1,
      progressIntervalMs: 0,
      onProgress: (p) => progress.push({ hashes: p.hashes, hashesPerSecond: p.hashesPerSecond }),
    })
    const event = finalizeEvent(mined, secretKeyOf(pubkey))
    return { event, minedId: mined.id, progress, verified: verifyEvent(event) }
  },

  /** Stores events in IndexedDB database `name` (a fresh adapter each call, as after a reload). */
  async idbPut(name, events, seenOn) {
    const storage = indexedDbStorage({ name })
    try {
      const results = await storage.putEvents(events, seenOn ? { seenOn } : undefined)
      return results
    } finally {
      await storage.close()
    }
  },

  /** Queries IndexedDB database `name` with a fresh adapter. @returns events and where each was seen. */
  async idbQuery(name, filters) {
    const storage = indexedDbStorage({ name })
    try {
      const events = await storage.queryEvents(filters)
      const seen = await storage.seenOn(events.map((e) => e.id))
      return { events, seenOn: Object.fromEntries(seen) }
    } finally {
      await storage.close()
    }
  },

  /**
   * Opens a durable publish queue on IndexedDB database `name` and a fresh pool, as an app does at
   * start-up. Retries are slow (`baseDelayMs`), so after a failure the publish stays pending.
   */
  openQueue(name) {
    const storage = indexedDbStorage({ name })
    const pool = makePool()
    const queue = createPublishQueue({ pool, storage, baseDelayMs: 60_000, maxAttempts: 8, timeoutMs: 3_000 })
    queues.set(name, queue)
    closers.push(async () => {
      await queue.close()
      await storage.close()
    })
    return true
  },

  /** Signs a kind 1 with a page key and queues it for `relayUrl`; resolves once the first attempt has ended. */
  async queuePublish(name, pubkey, relayUrl, content) {
    const queue = queues.get(name)
    const event = finalizeEvent({ kind: 1, content, tags: [], created_at: Math.floor(Date.now() / 1000) }, secretKeyOf(pubkey))
    const handle = await queue.publish(event, [{ url: relayUrl, reason: 'my-outbox' }])
    const deadline = Date.now() + 10_000
    // The first attempt ends with the connect failure; bounded poll.
    while (handle.report().targets.every((t) => t.attempts === 0) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
    return { event, report: summarizeReport(handle.report()) }
  },

  /** Resumes the queue's unfinished publishes. @returns how many were resumed. */
  async queueResume(name) {
    return queues.get(name).resume()
  },

  /** The report of one publish, from memory or IndexedDB. */
  async queueReport(name, eventId) {
    const report = await queues.get(name).report(eventId)
    return report ? summarizeReport(report) : undefined
  },

  /** Publishes a kind 1 with a client whose signer is the NIP-07 extension (`window.nostr`). */
  async nip07Publish(indexerRelay, content) {
    const signer = createNip07Signer({ timeoutMs: 5_000 })
    const client = createClient({ signer, indexerRelays: [indexerRelay], pool: POOL_OPTIONS, onError: () => {} })
    try {
      const result = await client.publish({ kind: 1, content, tags: [] }, { wait: 'first-answers' })
      return { ok: true, event: result.event, report: summarizeReport(result.report) }
    } catch (err) {
      return { ok: false, error: describeError(err) }
    } finally {
      await client.close()
    }
  },

  /** Closes every pool, subscription and queue this page opened. */
  async closeAll() {
    for (const close of closers.splice(0)) await close()
  },
}

// Every call is logged to the console and listed on the page, so a failed test's printed console
// and screenshot show what the page was asked to do and how far it got.
function brief(value) {
  const text = JSON.stringify(value) ?? String(value)
  return text.length > 100 ? `${text.slice(0, 100)}…` : text
}
function note(line) {
  console.info(`[lab] ${line}`)
  const item = document.createElement('li')
  item.textContent = line
  document.getElementById('log').append(item)
}
for (const [name, fn] of Object.entries(window.lab)) {
  window.lab[name] = (...args) => {
    if (name !== 'received') note(`${name}(${args.map(brief).join(', ')})`)
    const settle = (result) => {
      if (name !== 'received') note(`  ${name} -> ${brief(result)}`)
      return result
    }
    const fail = (err) => {
      note(`  ${name} threw ${err?.name ?? 'Error'}${err?.code ? ` ${err.code}` : ''}: ${err?.message ?? err}`)
      throw err
    }
    try {
      const result = fn(...args)
      return result instanceof Promise ? result.then(settle, fail) : settle(result)
    } catch (err) {
      return fail(err)
    }
  }
}

document.getElementById('status').textContent = 'ready'
window.labReady = true
