/**
 * SQLite storage for Node, on `better-sqlite3` (an optional peer dependency: install it to use this
 * entry). Events live in real tables with indexes for the NIP-01 filters the library asks for;
 * records are JSON text in one table keyed by collection and key.
 *
 * Nothing here touches the driver when the module is imported: the factory returns at once and the
 * database is opened (driver loaded, pragmas set, migrations run) on the first call. A missing
 * driver, a file that is not a database, a full disk or a corrupt row each reject with a
 * `StorageError` carrying a stable code, never with the driver's own error.
 *
 * Choices worth knowing:
 * - WAL journal with `synchronous=NORMAL`: readers do not block the writer, and a crash loses at
 *   most the last transactions, never consistency.
 * - One transaction per `putEvents` batch and per `putRecords` call: a failure (disk full, ...)
 *   rolls the whole batch back.
 * - `PRAGMA user_version` holds the schema version; migrations run in order in one transaction. A
 *   file written by a newer version is refused (`STORAGE_SCHEMA_TOO_NEW`) and left untouched.
 * - A file that is not an SQLite database is `STORAGE_UNAVAILABLE` (the backend cannot be opened;
 *   the file is not modified). `STORAGE_CORRUPT` is kept for rows that cannot be decoded and for
 *   damage SQLite itself reports as corruption.
 * - Single-letter tags are indexed by their first value, interned in `tag_values`, so the `tags`
 *   index holds small integers rather than 64-character pubkeys: measured on 100,000 events with
 *   contact lists, inserts ran 1.5-2x faster and the file was 40% smaller than with the values
 *   inline. Interned values are never collected; they are bounded by the distinct values seen.
 * - List conditions (`ids`, `authors`, `kinds`, tag values) are bound as one JSON array and read
 *   back with `json_each`, so a filter with thousands of authors never meets SQLite's limit on
 *   bound parameters.
 * - `search` is evaluated inside SQL by a function registered on the connection that applies the
 *   same rule as `matchesFilter` in the shared event rules (every word, case-insensitive, Unicode-aware), so `limit`
 *   still applies in SQL. SQLite's `LIKE` was not used: it folds case for ASCII only.
 *
 * @example
 * ```ts
 * import { sqliteStorage } from 'nostr-rendezvous/storage/sqlite'
 * const storage = sqliteStorage({ path: './rendezvous.db' })
 * await storage.putEvents([event], { seenOn: 'wss://relay.example/' })
 * const notes = await storage.queryEvents([{ kinds: [1], limit: 20 }])
 * await storage.close()
 * ```
 *
 * @module
 */
import type BetterSqlite3 from 'better-sqlite3'
import type { NostrEvent } from '../crypto/event.js'
import { StorageError, type StorageErrorCode } from '../errors.js'
import { addressOf, deletionTargets, eventProblem, isNewerVersion, kindClass, newestFirst, replaceKey } from './event-rules.js'
import { copyJson } from './json.js'
import type {
  JsonValue,
  PutEventsOptions,
  PutResult,
  QueryEventsOptions,
  RecordCollection,
  Storage,
  StorageFilter,
} from './types.js'
import { assertFilters, checkCollection, checkKey, checkRelay, checkStrings, throwIfAborted } from './arguments.js'

type Database = BetterSqlite3.Database
type Statement<P extends unknown[] = unknown[], R = unknown> = BetterSqlite3.Statement<P, R>
type DatabaseConstructor = new (filename: string, options?: BetterSqlite3.Options) => Database

export { RendezvousError, StorageError } from '../errors.js'

/** Options of {@link sqliteStorage}. */
export interface SqliteStorageOptions {
  /**
   * The database file (created when missing unless `readonly`), or `':memory:'` for a private
   * in-memory database. Required unless `database` is given.
   */
  path?: string
  /**
   * An already-open `better-sqlite3` `Database` to use instead of opening `path`. The caller owns
   * it: {@link Storage.close} leaves it open. Its schema is migrated like a file's.
   */
  database?: unknown
  /**
   * Keep at most this many events: after each batch the oldest regular events (then, if still
   * over, the oldest of any kind) are evicted. Unbounded when omitted.
   * @default undefined
   */
  maxEvents?: number
  /**
   * Open read-only: queries work, every write rejects with `STORAGE_WRITE_FAILED`. The file must
   * exist and already hold the current schema.
   * @default false
   */
  readonly?: boolean
  /**
   * How long a statement waits for another connection's lock before failing, in milliseconds.
   * @default 5000
   */
  busyTimeoutMs?: number
  /**
   * Cap the database at this many pages (`PRAGMA max_page_count`; pages are 4 KiB): a write past
   * it fails with `STORAGE_FULL` and is rolled back, as on a full disk. Unbounded when omitted.
   * @default undefined
   */
  maxPageCount?: number
}

/**
 * The schema version this module writes (`PRAGMA user_version`). A file with a higher version was
 * written by a newer release and is refused.
 *
 * @example
 * ```ts
 * import { SQLITE_SCHEMA_VERSION } from 'nostr-rendezvous/storage/sqlite'
 * console.log(`schema v${SQLITE_SCHEMA_VERSION}`)
 * ```
 */
export const SQLITE_SCHEMA_VERSION = 1

/**
 * The migrations, in order: entry `i` takes a database from version `i` to `i + 1`. Never edit a
 * shipped migration; append a new one. Plain `CREATE TABLE` (no `IF NOT EXISTS`) on purpose: a
 * version-0 file that already has a table of that name belongs to someone else and is refused.
 */
const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE events (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    pubkey TEXT NOT NULL,
    kind INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    content TEXT NOT NULL,
    tags TEXT NOT NULL,
    sig TEXT NOT NULL,
    replace_key TEXT
  );
  CREATE UNIQUE INDEX events_replace_key ON events(replace_key) WHERE replace_key IS NOT NULL;
  CREATE INDEX events_pubkey_kind_created ON events(pubkey, kind, created_at);
  CREATE INDEX events_kind_created ON events(kind, created_at);
  CREATE INDEX events_created ON events(created_at);
  CREATE TABLE tag_values (
    vid INTEGER PRIMARY KEY,
    letter TEXT NOT NULL,
    value TEXT NOT NULL,
    UNIQUE (letter, value)
  );
  CREATE TABLE tags (
    event_seq INTEGER NOT NULL,
    vid INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (event_seq, vid)
  ) WITHOUT ROWID;
  CREATE INDEX tags_value_created ON tags(vid, created_at);
  CREATE TABLE seen_on (
    event_seq INTEGER NOT NULL,
    relay TEXT NOT NULL,
    position INTEGER NOT NULL,
    PRIMARY KEY (event_seq, relay)
  ) WITHOUT ROWID;
  CREATE TABLE deletions (
    author TEXT NOT NULL,
    target TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    deletion_seq INTEGER NOT NULL,
    PRIMARY KEY (author, target, deletion_seq)
  ) WITHOUT ROWID;
  CREATE INDEX deletions_by_event ON deletions(deletion_seq);
  CREATE TABLE records (
    collection TEXT NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (collection, key)
  ) WITHOUT ROWID;
  CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
  INSERT INTO counters (name, value) VALUES ('events', 0);
  CREATE TRIGGER events_inserted AFTER INSERT ON events BEGIN
    UPDATE counters SET value = value + 1 WHERE name = 'events';
  END;
  CREATE TRIGGER events_removed AFTER DELETE ON events BEGIN
    DELETE FROM tags WHERE event_seq = old.seq;
    DELETE FROM seen_on WHERE event_seq = old.seq;
    UPDATE counters SET value = value - 1 WHERE name = 'events';
  END;
  CREATE TRIGGER deletion_removed AFTER DELETE ON events WHEN old.kind = 5 BEGIN
    DELETE FROM deletions WHERE deletion_seq = old.seq;
  END;
  `,
]

/**
 * Eviction order over `maxEvents`, as the memory adapter does it: plain events first, then
 * replaceable and addressable versions (the router needs them), deletions last (they keep deleted
 * events out). Oldest first inside a tier, ties to the id queries list last.
 */
const EVICTION_TIERS = ['replace_key IS NULL AND kind != 5', 'replace_key IS NOT NULL', 'kind = 5 AND replace_key IS NULL'] as const

const EVENT_COLUMNS = 'e.id, e.pubkey, e.created_at, e.kind, e.tags, e.content, e.sig'
/**
 * Relays remembered per event, as in the memory adapter: the scorer wants to know that an event
 * travels through a relay, and a popular event must not grow without bound.
 */
const MAX_SEEN_ON = 20
const SEARCH_FUNCTION = 'rendezvous_search'
const STATEMENT_CACHE_SIZE = 64

interface EventRow {
  id: string
  pubkey: string
  created_at: number
  kind: number
  tags: unknown
  content: string
  sig: string
}

/** Statements prepared once per connection. */
interface Statements {
  eventById: Statement<[string], EventRow>
  seqById: Statement<[string], { seq: number }>
  currentVersion: Statement<[string], { seq: number; id: string; created_at: number }>
  ownedById: Statement<[string, string], { seq: number; id: string }>
  versionsUpTo: Statement<[string, number], { seq: number; id: string }>
  deletedId: Statement<[string, string], { one: number }>
  deletedAddress: Statement<[string, string, number], { one: number }>
  insertEvent: Statement<[string, string, number, number, string, string, string, string | null]>
  tagValueId: Statement<[string, string], { vid: number }>
  insertTagValue: Statement<[string, string]>
  insertTag: Statement<[number | bigint, number | bigint, number]>
  insertSeen: Statement<[number | bigint, string, number | bigint]>
  insertDeletion: Statement<[string, string, number, number | bigint]>
  deleteSeq: Statement<[number]>
  deleteIds: Statement<[string]>
  count: Statement<[], { value: number }>
  evictTiers: ReadonlyArray<Statement<[number]>>
  seenOn: Statement<[string], { id: string; relay: string }>
  getRecord: Statement<[string, string], { value: unknown }>
  getRecords: Statement<[string, string], { key: string; value: unknown }>
  listFrom: Statement<[string, string], { key: string; value: unknown }>
  putRecord: Statement<[string, string, string]>
  deleteRecord: Statement<[string, string]>
}

interface Connection {
  readonly db: Database
  readonly owned: boolean
  readonly readonly: boolean
  readonly statements: Statements
  readonly queries: Map<string, Statement>
  readonly putBatch: (events: readonly NostrEvent[], seenOn: string | undefined) => PutResult[]
  readonly putRecordsTx: (collection: string, rows: ReadonlyArray<readonly [string, string]>) => void
  readonly addSeenTx: (ids: readonly string[], relay: string) => void
}

type Phase = 'open' | 'read' | 'write'

/**
 * Create a {@link Storage} backed by SQLite through `better-sqlite3`. Returns at once; the
 * database is opened on the first call, and a failed open is tried again on the next call.
 *
 * Operational faults reject the storage's methods (never throw) with a `StorageError`:
 * `STORAGE_UNAVAILABLE` (driver not installed, file or directory cannot be opened, not a database,
 * a read-only file that still needs migrating), `STORAGE_SCHEMA_TOO_NEW`, `STORAGE_FULL`,
 * `STORAGE_CORRUPT` (naming the row), `STORAGE_WRITE_FAILED` (read-only, or any other failed write;
 * rolled back), `STORAGE_FILTER_INVALID`, `STORAGE_ABORTED`, `STORAGE_CLOSED`. Wrong argument
 * types reject with `TypeError`.
 *
 * @param options - where the database is and how it is bounded.
 * @returns a storage named `sqlite`.
 * @throws TypeError when neither `path` nor `database` is given, or an option has the wrong type.
 * @throws RangeError when `maxEvents`, `busyTimeoutMs` or `maxPageCount` is out of range.
 * @example
 * ```ts
 * import { sqliteStorage } from 'nostr-rendezvous/storage/sqlite'
 * const storage = sqliteStorage({ path: './rendezvous.db', maxEvents: 500_000 })
 * const [result] = await storage.putEvents([event])
 * result.status // 'stored'
 * ```
 */
export function sqliteStorage(options: SqliteStorageOptions): Storage {
  const settings = checkOptions(options)
  let opening: Promise<Connection> | undefined
  let closed = false

  const connection = async (): Promise<Connection> => {
    if (closed) throw closedError()
    if (!opening) {
      const attempt = open(settings)
      opening = attempt
      // A failed open is not memoised: the file may be fixed (or the lock released) by the next call.
      attempt.catch(() => {
        if (opening === attempt) opening = undefined
      })
    }
    const conn = await opening
    if (closed) throw closedError()
    return conn
  }

  const write = async <T>(action: string, fn: (conn: Connection) => T): Promise<T> => {
    const conn = await connection()
    if (conn.readonly) {
      throw new StorageError('STORAGE_WRITE_FAILED', 'Storage is read-only', { details: `${action} on ${settings.label}` })
    }
    return guard('write', `${action} on ${settings.label}`, () => fn(conn))
  }

  const read = async <T>(action: string, fn: (conn: Connection) => T): Promise<T> => {
    const conn = await connection()
    return guard('read', `${action} on ${settings.label}`, () => fn(conn))
  }

  return {
    name: 'sqlite',

    async putEvents(events: readonly NostrEvent[], putOptions: PutEventsOptions = {}): Promise<PutResult[]> {
      if (!Array.isArray(events)) throw new TypeError('events must be an array')
      const seenOn = putOptions.seenOn
      if (seenOn !== undefined) checkRelay(seenOn, 'options.seenOn')
      if (events.length === 0) {
        await connection()
        return []
      }
      return write('putEvents', (conn) => conn.putBatch(events, seenOn))
    },

    async queryEvents(filters: readonly StorageFilter[], queryOptions: QueryEventsOptions = {}): Promise<NostrEvent[]> {
      assertFilters(filters)
      const signal = queryOptions.signal
      throwIfAborted(signal)
      const conn = await connection()
      throwIfAborted(signal)
      return guard('read', `queryEvents on ${settings.label}`, () => {
        const seen = new Map<string, NostrEvent>()
        for (const filter of filters) {
          for (const event of runFilter(conn, filter)) seen.set(event.id, event)
          throwIfAborted(signal)
        }
        const events = [...seen.values()]
        if (filters.length > 1) events.sort(newestFirst)
        return events
      })
    },

    async getEvent(id: string): Promise<NostrEvent | undefined> {
      if (typeof id !== 'string') throw new TypeError('id must be a string')
      return read('getEvent', (conn) => {
        const row = conn.statements.eventById.get(id)
        return row ? decodeEvent(row) : undefined
      })
    },

    async countEvents(): Promise<number> {
      return read('countEvents', (conn) => conn.statements.count.get()?.value ?? 0)
    },

    async addSeenOn(ids: readonly string[], relay: string): Promise<void> {
      checkStrings(ids, 'ids')
      checkRelay(relay, 'relay')
      if (ids.length === 0) {
        await connection()
        return
      }
      await write('addSeenOn', (conn) => conn.addSeenTx(ids, relay))
    },

    async seenOn(ids: readonly string[]): Promise<Map<string, string[]>> {
      checkStrings(ids, 'ids')
      return read('seenOn', (conn) => {
        const out = new Map<string, string[]>(ids.map((id) => [id, []]))
        if (ids.length === 0) return out
        for (const row of conn.statements.seenOn.iterate(JSON.stringify(ids))) out.get(row.id)?.push(row.relay)
        return out
      })
    },

    async removeEvents(ids: readonly string[]): Promise<number> {
      checkStrings(ids, 'ids')
      if (ids.length === 0) {
        await connection()
        return 0
      }
      return write('removeEvents', (conn) => conn.statements.deleteIds.run(JSON.stringify(ids)).changes)
    },

    async getRecord(collection: RecordCollection, key: string): Promise<JsonValue | undefined> {
      checkCollection(collection)
      checkKey(key)
      return read('getRecord', (conn) => {
        const row = conn.statements.getRecord.get(collection, key)
        return row ? decodeRecord(collection, key, row.value) : undefined
      })
    },

    async getRecords(collection: RecordCollection, keys: readonly string[]): Promise<Map<string, JsonValue>> {
      checkCollection(collection)
      checkStrings(keys, 'keys')
      return read('getRecords', (conn) => {
        const out = new Map<string, JsonValue>()
        if (keys.length === 0) return out
        for (const row of conn.statements.getRecords.iterate(collection, JSON.stringify(keys))) {
          out.set(row.key, decodeRecord(collection, row.key, row.value))
        }
        return out
      })
    },

    async putRecords(collection: RecordCollection, entries: ReadonlyArray<readonly [string, JsonValue]>): Promise<void> {
      checkCollection(collection)
      if (!Array.isArray(entries)) throw new TypeError('entries must be an array')
      const rows = entries.map((entry, i): [string, string] => {
        if (!Array.isArray(entry) || entry.length !== 2) throw new TypeError(`entries[${i}] must be a [key, value] pair`)
        checkKey(entry[0], `entries[${i}][0]`)
        return [entry[0], encodeRecord(entry[1], entry[0])]
      })
      if (rows.length === 0) {
        await connection()
        return
      }
      await write('putRecords', (conn) => conn.putRecordsTx(collection, rows))
    },

    async putRecord(collection: RecordCollection, key: string, value: JsonValue): Promise<void> {
      checkCollection(collection)
      checkKey(key)
      const text = encodeRecord(value, key)
      await write('putRecord', (conn) => conn.statements.putRecord.run(collection, key, text))
    },

    async deleteRecord(collection: RecordCollection, key: string): Promise<void> {
      checkCollection(collection)
      checkKey(key)
      await write('deleteRecord', (conn) => conn.statements.deleteRecord.run(collection, key))
    },

    async listRecords(collection: RecordCollection, prefix = ''): Promise<Array<[string, JsonValue]>> {
      checkCollection(collection)
      if (typeof prefix !== 'string') throw new TypeError('prefix must be a string')
      return read('listRecords', (conn) => {
        const out: Array<[string, JsonValue]> = []
        // Keys sharing a prefix are contiguous in SQLite's byte order and start at the prefix itself.
        for (const row of conn.statements.listFrom.iterate(collection, prefix)) {
          if (!row.key.startsWith(prefix)) break
          out.push([row.key, decodeRecord(collection, row.key, row.value)])
        }
        // SQLite orders by UTF-8 bytes; JavaScript (and the other adapters) by UTF-16 code units.
        return out.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
      })
    },

    async close(): Promise<void> {
      if (closed) return
      closed = true
      const pending = opening
      opening = undefined
      if (!pending) return
      let conn: Connection
      try {
        conn = await pending
      } catch {
        return
      }
      if (!conn.owned) return
      try {
        // Lets the query planner keep statistics current; cheap when nothing changed.
        if (!conn.readonly) conn.db.pragma('optimize')
      } catch {
        // A failed optimise must not keep the file open.
      }
      try {
        conn.db.close()
      } catch (err) {
        throw toStorageError(err, 'read', `close ${settings.label}`)
      }
    },
  }
}

interface Settings {
  readonly path: string | undefined
  readonly database: Database | undefined
  readonly label: string
  readonly maxEvents: number | undefined
  readonly readonly: boolean
  readonly busyTimeoutMs: number
  readonly maxPageCount: number | undefined
}

function checkOptions(options: SqliteStorageOptions): Settings {
  if (typeof options !== 'object' || options === null) throw new TypeError('options must be an object')
  const { path, database, maxEvents, readonly = false, busyTimeoutMs = 5000, maxPageCount } = options
  if (path !== undefined && typeof path !== 'string') throw new TypeError('options.path must be a string')
  if (database !== undefined && !isDatabase(database)) {
    throw new TypeError('options.database must be an open better-sqlite3 Database')
  }
  if (path === undefined && database === undefined) throw new TypeError('options.path or options.database is required')
  if (typeof readonly !== 'boolean') throw new TypeError('options.readonly must be a boolean')
  positiveInteger(maxEvents, 'options.maxEvents', 1)
  positiveInteger(busyTimeoutMs, 'options.busyTimeoutMs', 0)
  positiveInteger(maxPageCount, 'options.maxPageCount', 1)
  const label = database !== undefined ? `database ${JSON.stringify((database as Database).name)}` : `database ${JSON.stringify(path)}`
  return {
    path,
    database: database as Database | undefined,
    label,
    maxEvents,
    readonly: readonly || (database as Database | undefined)?.readonly === true,
    busyTimeoutMs,
    maxPageCount,
  }
}

function positiveInteger(value: unknown, field: string, min: number): void {
  if (value === undefined) return
  if (typeof value !== 'number') throw new TypeError(`${field} must be a number`)
  if (!Number.isSafeInteger(value) || value < min) throw new RangeError(`${field} must be an integer >= ${min}`)
}

function isDatabase(value: unknown): value is Database {
  if (typeof value !== 'object' || value === null) return false
  const db = value as Record<string, unknown>
  return typeof db.prepare === 'function' && typeof db.pragma === 'function' && typeof db.transaction === 'function'
}

async function loadDriver(): Promise<DatabaseConstructor> {
  let mod: unknown
  try {
    mod = await import('better-sqlite3')
  } catch (err) {
    throw new StorageError('STORAGE_UNAVAILABLE', 'SQLite driver is not installed', {
      details: 'sqliteStorage needs the optional peer dependency better-sqlite3: npm install better-sqlite3',
      cause: err,
    })
  }
  const ctor = (mod as { default?: unknown }).default ?? mod
  if (typeof ctor !== 'function') {
    throw new StorageError('STORAGE_UNAVAILABLE', 'SQLite driver is not usable', {
      details: 'better-sqlite3 did not export a Database constructor',
    })
  }
  return ctor as DatabaseConstructor
}

async function open(settings: Settings): Promise<Connection> {
  let db = settings.database
  const owned = db === undefined
  if (db === undefined) {
    const Driver = await loadDriver()
    try {
      db = new Driver(settings.path!, {
        readonly: settings.readonly,
        fileMustExist: settings.readonly,
        timeout: settings.busyTimeoutMs,
      })
    } catch (err) {
      throw toStorageError(err, 'open', `open ${settings.label}`)
    }
  }
  try {
    return prepareConnection(db, owned, settings)
  } catch (err) {
    if (owned) {
      try {
        db.close()
      } catch {
        // The open already failed; that is the error worth reporting.
      }
    }
    throw toStorageError(err, 'open', `open ${settings.label}`)
  }
}

function prepareConnection(db: Database, owned: boolean, settings: Settings): Connection {
  if (!owned) db.pragma(`busy_timeout = ${settings.busyTimeoutMs}`)
  // Read the version before changing anything, so that a newer file is left exactly as it was.
  const version = Number(db.pragma('user_version', { simple: true }))
  if (version > SQLITE_SCHEMA_VERSION) {
    throw new StorageError('STORAGE_SCHEMA_TOO_NEW', 'Database was written by a newer version', {
      details: `${settings.label} has schema version ${version}; this release reads up to ${SQLITE_SCHEMA_VERSION}`,
    })
  }
  if (settings.readonly) {
    if (version < SQLITE_SCHEMA_VERSION) {
      throw new StorageError('STORAGE_UNAVAILABLE', 'Read-only database needs a schema upgrade', {
        details: `${settings.label} has schema version ${version}; open it writable once to migrate to ${SQLITE_SCHEMA_VERSION}`,
      })
    }
  } else {
    // WAL cannot be switched on inside a transaction, so it comes before the migrations.
    db.pragma('journal_mode = WAL')
    db.pragma('synchronous = NORMAL')
    if (settings.maxPageCount !== undefined) db.pragma(`max_page_count = ${settings.maxPageCount}`)
    if (version < SQLITE_SCHEMA_VERSION) migrate(db, version, settings.label)
  }
  db.function(SEARCH_FUNCTION, { deterministic: true }, createSearchMatcher())
  const statements = prepareStatements(db)
  const conn: Connection = {
    db,
    owned,
    readonly: settings.readonly,
    statements,
    queries: new Map(),
    putBatch: db.transaction((events: readonly NostrEvent[], seenOn: string | undefined) =>
      putBatch(statements, events, seenOn, settings.maxEvents),
    ),
    putRecordsTx: db.transaction((collection: string, rows: ReadonlyArray<readonly [string, string]>) => {
      for (const [key, value] of rows) statements.putRecord.run(collection, key, value)
    }),
    addSeenTx: db.transaction((ids: readonly string[], relay: string) => {
      for (const id of ids) {
        const row = statements.seqById.get(id)
        if (row) statements.insertSeen.run(row.seq, relay, row.seq)
      }
    }),
  }
  return conn
}

function migrate(db: Database, from: number, label: string): void {
  db.transaction(() => {
    for (let version = from; version < SQLITE_SCHEMA_VERSION; version++) {
      try {
        db.exec(MIGRATIONS[version]!)
      } catch (err) {
        throw new StorageError('STORAGE_UNAVAILABLE', 'Database schema could not be migrated', {
          details: `${label}: migration to version ${version + 1} failed (${(err as Error).message}); a file with foreign tables is not adopted`,
          cause: err,
        })
      }
      // Inside the transaction: the version moves only if the migration's tables commit with it.
      db.pragma(`user_version = ${version + 1}`)
    }
  })()
}

function prepareStatements(db: Database): Statements {
  return {
    eventById: db.prepare(`SELECT ${EVENT_COLUMNS} FROM events e WHERE e.id = ?`),
    seqById: db.prepare('SELECT seq FROM events WHERE id = ?'),
    currentVersion: db.prepare('SELECT seq, id, created_at FROM events WHERE replace_key = ?'),
    ownedById: db.prepare('SELECT seq, id FROM events WHERE id = ? AND pubkey = ? AND kind != 5'),
    versionsUpTo: db.prepare('SELECT seq, id FROM events WHERE replace_key = ? AND created_at <= ?'),
    deletedId: db.prepare('SELECT 1 AS one FROM deletions WHERE author = ? AND target = ? LIMIT 1'),
    deletedAddress: db.prepare('SELECT 1 AS one FROM deletions WHERE author = ? AND target = ? AND created_at >= ? LIMIT 1'),
    insertEvent: db.prepare(
      'INSERT INTO events (id, pubkey, kind, created_at, content, tags, sig, replace_key) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
    ),
    tagValueId: db.prepare('SELECT vid FROM tag_values WHERE letter = ? AND value = ?'),
    insertTagValue: db.prepare('INSERT INTO tag_values (letter, value) VALUES (?, ?)'),
    insertTag: db.prepare('INSERT OR IGNORE INTO tags (event_seq, vid, created_at) VALUES (?, ?, ?)'),
    // The position is one past the event's last, so `seenOn` returns relays in first-seen order.
    insertSeen: db.prepare(
      `INSERT OR IGNORE INTO seen_on (event_seq, relay, position)
       SELECT ?, ?, coalesce(max(position) + 1, 0) FROM seen_on WHERE event_seq = ?
       HAVING count(*) < ${MAX_SEEN_ON}`,
    ),
    insertDeletion: db.prepare('INSERT OR IGNORE INTO deletions (author, target, created_at, deletion_seq) VALUES (?, ?, ?, ?)'),
    deleteSeq: db.prepare('DELETE FROM events WHERE seq = ?'),
    deleteIds: db.prepare('DELETE FROM events WHERE id IN (SELECT value FROM json_each(?))'),
    count: db.prepare("SELECT value FROM counters WHERE name = 'events'"),
    evictTiers: EVICTION_TIERS.map((tier) =>
      db.prepare(`DELETE FROM events WHERE seq IN (SELECT seq FROM events WHERE ${tier} ORDER BY created_at ASC, id DESC LIMIT ?)`),
    ),
    seenOn: db.prepare(
      `SELECT e.id AS id, s.relay AS relay FROM seen_on s JOIN events e ON e.seq = s.event_seq
       WHERE e.id IN (SELECT value FROM json_each(?)) ORDER BY s.event_seq, s.position`,
    ),
    getRecord: db.prepare('SELECT value FROM records WHERE collection = ? AND key = ?'),
    getRecords: db.prepare('SELECT key, value FROM records WHERE collection = ? AND key IN (SELECT value FROM json_each(?))'),
    listFrom: db.prepare('SELECT key, value FROM records WHERE collection = ? AND key >= ? ORDER BY key'),
    putRecord: db.prepare('INSERT OR REPLACE INTO records (collection, key, value) VALUES (?, ?, ?)'),
    deleteRecord: db.prepare('DELETE FROM records WHERE collection = ? AND key = ?'),
  } as Statements
}

/** The body of one `putEvents` transaction: the NIP-01/NIP-09 rules, event by event, in order. */
function putBatch(s: Statements, events: readonly NostrEvent[], seenOn: string | undefined, maxEvents: number | undefined): PutResult[] {
  const results: PutResult[] = []
  let inserted = false
  for (const event of events) {
    const problem = eventProblem(event)
    if (problem) {
      results.push({ id: idOf(event), status: 'invalid', reason: problem })
      continue
    }
    if (kindClass(event.kind) === 'ephemeral') {
      results.push({ id: event.id, status: 'invalid', reason: 'ephemeral kinds are not stored' })
      continue
    }
    const existing = s.seqById.get(event.id)
    if (existing) {
      if (seenOn !== undefined) s.insertSeen.run(existing.seq, seenOn, existing.seq)
      results.push({ id: event.id, status: 'duplicate' })
      continue
    }
    if (isDeleted(s, event)) {
      results.push({ id: event.id, status: 'deleted' })
      continue
    }
    const replaced: string[] = []
    const key = replaceKey(event)
    if (key !== undefined) {
      const current = s.currentVersion.get(key)
      if (current) {
        if (!isNewerVersion(event, { ...event, id: current.id, created_at: current.created_at })) {
          results.push({ id: event.id, status: 'superseded' })
          continue
        }
        s.deleteSeq.run(current.seq)
        replaced.push(current.id)
      }
    }
    const seq = s.insertEvent.run(
      event.id,
      event.pubkey,
      event.kind,
      event.created_at,
      event.content,
      JSON.stringify(event.tags),
      event.sig,
      key ?? null,
    ).lastInsertRowid
    inserted = true
    for (const [letter, value] of indexedTags(event)) {
      const vid = s.tagValueId.get(letter, value)?.vid ?? s.insertTagValue.run(letter, value).lastInsertRowid
      s.insertTag.run(seq, vid, event.created_at)
    }
    if (seenOn !== undefined) s.insertSeen.run(seq, seenOn, seq)
    if (event.kind === 5) replaced.push(...applyDeletion(s, event, seq))
    results.push(replaced.length > 0 ? { id: event.id, status: 'stored', replaced } : { id: event.id, status: 'stored' })
  }
  if (inserted && maxEvents !== undefined) evict(s, maxEvents)
  return results
}

function idOf(value: unknown): string {
  const id = typeof value === 'object' && value !== null ? (value as { id?: unknown }).id : undefined
  return typeof id === 'string' ? id : ''
}

/** NIP-09: refused when its author already deleted this id, or this coordinate at or after it. */
function isDeleted(s: Statements, event: NostrEvent): boolean {
  // A deletion of a deletion has no effect (NIP-09).
  if (event.kind === 5) return false
  if (s.deletedId.get(event.pubkey, event.id)) return true
  const address = addressOf(event)
  return address !== undefined && s.deletedAddress.get(event.pubkey, address, event.created_at) !== undefined
}

/** Remove what a kind 5 event deletes and remember its targets; returns the removed ids. */
function applyDeletion(s: Statements, deletion: NostrEvent, seq: number | bigint): string[] {
  const removed: string[] = []
  const { ids, addresses } = deletionTargets(deletion)
  for (const id of ids) {
    s.insertDeletion.run(deletion.pubkey, id, deletion.created_at, seq)
    const target = s.ownedById.get(id, deletion.pubkey)
    if (target) {
      s.deleteSeq.run(target.seq)
      removed.push(target.id)
    }
  }
  for (const address of addresses) {
    s.insertDeletion.run(deletion.pubkey, address, deletion.created_at, seq)
    const key = replaceKeyOfAddress(address)
    if (key === undefined) continue
    for (const target of s.versionsUpTo.all(key, deletion.created_at)) {
      s.deleteSeq.run(target.seq)
      removed.push(target.id)
    }
  }
  return removed
}

/** The `replace_key` of the events a `kind:pubkey:d` coordinate names, if it can name any. */
function replaceKeyOfAddress(address: string): string | undefined {
  const first = address.indexOf(':')
  const second = address.indexOf(':', first + 1)
  const kind = Number(address.slice(0, first))
  const cls = kindClass(kind)
  if (cls === 'addressable') return address
  if (cls === 'replaceable' && second === address.length - 1) return address.slice(0, second)
  return undefined
}

/** The (letter, first value) pairs of single-letter tags, without repeats. */
function indexedTags(event: NostrEvent): Array<[string, string]> {
  const seen = new Set<string>()
  const out: Array<[string, string]> = []
  for (const tag of event.tags) {
    const letter = tag[0]
    const value = tag[1]
    if (letter === undefined || letter.length !== 1 || value === undefined) continue
    const key = `${letter}\u0000${value}`
    if (seen.has(key)) continue
    seen.add(key)
    out.push([letter, value])
  }
  return out
}

function evict(s: Statements, maxEvents: number): void {
  let excess = (s.count.get()?.value ?? 0) - maxEvents
  for (const tier of s.evictTiers) {
    if (excess <= 0) return
    excess -= tier.run(excess).changes
  }
}

/** Run one filter as one SQL statement; every value is a bound parameter. */
function runFilter(conn: Connection, filter: StorageFilter): NostrEvent[] {
  const where: string[] = []
  const params: Array<string | number> = []
  const list = (column: string, values: readonly (string | number)[] | undefined): boolean => {
    if (values === undefined) return true
    if (values.length === 0) return false
    where.push(`${column} IN (SELECT value FROM json_each(?))`)
    params.push(JSON.stringify(values))
    return true
  }
  if (!list('e.id', filter.ids) || !list('e.pubkey', filter.authors) || !list('e.kind', filter.kinds)) return []
  if (filter.since !== undefined) {
    where.push('e.created_at >= ?')
    params.push(filter.since)
  }
  if (filter.until !== undefined) {
    where.push('e.created_at <= ?')
    params.push(filter.until)
  }
  for (const key of Object.keys(filter).sort()) {
    if (key.length !== 2 || key[0] !== '#') continue
    const values = filter[key as `#${string}`]
    if (values === undefined) continue
    if (values.length === 0) return []
    where.push(
      'e.seq IN (SELECT t.event_seq FROM tags t WHERE t.vid IN ' +
        '(SELECT v.vid FROM tag_values v WHERE v.letter = ? AND v.value IN (SELECT value FROM json_each(?))))',
    )
    params.push(key[1]!, JSON.stringify(values))
  }
  if (filter.search !== undefined && searchWords(filter.search).length > 0) {
    where.push(`${SEARCH_FUNCTION}(e.content, ?)`)
    params.push(filter.search)
  }
  if (filter.limit === 0) return []
  const conditions = where.length > 0 ? ` WHERE ${where.join(' AND ')}` : ''
  const order = ' ORDER BY e.created_at DESC, e.id ASC'
  let sql: string
  if (filter.limit === undefined) {
    sql = `SELECT ${EVENT_COLUMNS} FROM events e${conditions}${order}`
  } else {
    // Two steps: rank the candidates on small keys, then read only the rows that made the cut.
    // Sorting whole rows (contact lists carry kilobytes of tags) was measured 1.3-2.6x slower.
    sql = `SELECT ${EVENT_COLUMNS} FROM events e WHERE e.seq IN (SELECT e.seq FROM events e${conditions}${order} LIMIT ?)${order}`
    params.push(filter.limit)
  }
  const rows = statement(conn, sql).all(...params) as EventRow[]
  return rows.map(decodeEvent)
}

function statement(conn: Connection, sql: string): Statement {
  let stmt = conn.queries.get(sql)
  if (!stmt) {
    stmt = conn.db.prepare(sql)
    if (conn.queries.size >= STATEMENT_CACHE_SIZE) conn.queries.delete(conn.queries.keys().next().value!)
    conn.queries.set(sql, stmt)
  }
  return stmt
}

/** The lower-cased words of a NIP-50 search string. */
function searchWords(search: string): string[] {
  return search.toLowerCase().split(/\s+/).filter((w) => w.length > 0)
}

/**
 * The SQL side of NIP-50 search: 1 when the content holds every word, case-insensitively. SQLite
 * calls it once per candidate row with the same search string, so the split words are memoised.
 */
function createSearchMatcher(): (content: unknown, search: unknown) => number {
  let lastSearch = ''
  let lastWords: string[] = []
  return (content, search) => {
    if (typeof content !== 'string' || typeof search !== 'string') return 0
    if (search !== lastSearch) {
      lastSearch = search
      lastWords = searchWords(search)
    }
    const text = content.toLowerCase()
    for (const word of lastWords) if (!text.includes(word)) return 0
    return 1
  }
}

function decodeEvent(row: EventRow): NostrEvent {
  let tags: unknown
  try {
    tags = typeof row.tags === 'string' ? JSON.parse(row.tags) : undefined
  } catch {
    tags = undefined
  }
  const event = {
    id: row.id,
    pubkey: row.pubkey,
    created_at: row.created_at,
    kind: row.kind,
    tags,
    content: row.content,
    sig: row.sig,
  }
  const problem = tags === undefined ? 'tags column is not JSON' : eventProblem(event)
  if (problem) {
    throw new StorageError('STORAGE_CORRUPT', 'Stored event could not be decoded', {
      details: `event ${JSON.stringify(String(row.id).slice(0, 64))}: ${problem}`,
    })
  }
  return event as NostrEvent
}

function decodeRecord(collection: string, key: string, value: unknown): JsonValue {
  if (typeof value === 'string') {
    try {
      return JSON.parse(value) as JsonValue
    } catch {
      // fall through to the error below
    }
  }
  throw new StorageError('STORAGE_CORRUPT', 'Stored record could not be decoded', {
    details: `record ${JSON.stringify(key.slice(0, 200))} in ${collection} is not JSON`,
  })
}

/**
 * A record value as JSON text. Checked with the memory adapter's rules first, so a value JSON
 * cannot hold (`NaN`, a `Map`, `undefined` inside) is refused the same way by every adapter rather
 * than silently changed by `JSON.stringify`.
 */
function encodeRecord(value: JsonValue, key: string): string {
  return JSON.stringify(copyJson(value, key))
}

function closedError(): StorageError {
  return new StorageError('STORAGE_CLOSED', 'Storage is closed')
}

/** Run a synchronous driver call and turn whatever it throws into a `StorageError`. */
function guard<T>(phase: Phase, action: string, fn: () => T): T {
  try {
    return fn()
  } catch (err) {
    throw toStorageError(err, phase, action)
  }
}

/**
 * Map a driver error to a stable code. SQLite's extended codes (`SQLITE_IOERR_WRITE`, ...) share
 * the prefix of their primary code, which is what is matched.
 */
function toStorageError(err: unknown, phase: Phase, action: string): StorageError {
  if (err instanceof StorageError) return err
  const sqliteCode = typeof (err as { code?: unknown })?.code === 'string' ? ((err as { code: string }).code) : ''
  const message = err instanceof Error ? err.message : String(err)
  const details = `${action}: ${sqliteCode ? `${sqliteCode} ` : ''}${message}`
  let code: StorageErrorCode
  let short: string
  if (sqliteCode.startsWith('SQLITE_FULL')) {
    code = 'STORAGE_FULL'
    short = 'Database or disk is full; the write was rolled back'
  } else if (sqliteCode.startsWith('SQLITE_CORRUPT')) {
    code = 'STORAGE_CORRUPT'
    short = 'Database file is damaged'
  } else if (sqliteCode.startsWith('SQLITE_NOTADB')) {
    code = 'STORAGE_UNAVAILABLE'
    short = 'File is not an SQLite database'
  } else if (sqliteCode.startsWith('SQLITE_READONLY')) {
    code = 'STORAGE_WRITE_FAILED'
    short = 'Database is read-only'
  } else if (phase === 'open') {
    code = 'STORAGE_UNAVAILABLE'
    short = 'Database could not be opened'
  } else if (phase === 'write') {
    code = 'STORAGE_WRITE_FAILED'
    short = 'Write failed and was rolled back'
  } else {
    code = 'STORAGE_UNAVAILABLE'
    short = 'Database could not be read'
  }
  return new StorageError(code, short, { details, cause: err })
}
