// The phone's local store in IndexedDB — the same model as sync/client.py's SQLite file:
//   meta     device id, token, install id, op counter, HLC, cursor, settings, last successful sync
//   outbox   queued edits in order (seq), each with op_id = <install><hex seq> and an HLC
//   records  the replica: last known server state per (collection, id)
//   states   per-record outcome of its last push: synced | merged | refused (+ what lost and why)
//   log      every merged/conflict/rejected result, for the 同步 screen
// An op leaves the outbox only in the transaction that stores its result and the new cursor.
import { Clock, format, parse, parseOrZero } from './hlc.js';
import { applyResult, overlay } from './results.js';

const DB_NAME = 'gridpatrol-app';
let dbPromise = null;

export class StoreError extends Error {
  constructor(message, quota = false) { super(message); this.quota = quota; }
}

function req(request) {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

function done(tx) {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    const fail = () => {
      const err = tx.error;
      const quota = err && (err.name === 'QuotaExceededError');
      reject(new StoreError(quota ? 'quota' : (err ? `${err.name}: ${err.message}` : 'transaction aborted'), quota));
    };
    tx.onerror = fail;
    tx.onabort = fail;
  });
}

export function openDb() {
  if (!dbPromise) {
    dbPromise = new Promise((resolve, reject) => {
      const open = indexedDB.open(DB_NAME, 1);
      open.onupgradeneeded = () => {
        const db = open.result;
        db.createObjectStore('meta', { keyPath: 'key' });
        db.createObjectStore('outbox', { keyPath: 'seq', autoIncrement: true }).createIndex('record', ['collection', 'id']);
        db.createObjectStore('records', { keyPath: ['collection', 'id'] }).createIndex('collection', 'collection');
        db.createObjectStore('states', { keyPath: ['collection', 'id'] });
        db.createObjectStore('log', { keyPath: 'n', autoIncrement: true });
      };
      open.onsuccess = () => {
        open.result.onversionchange = () => open.result.close();
        resolve(open.result);
      };
      open.onerror = () => reject(open.error);
    });
  }
  return dbPromise;
}

async function tx(stores, mode, body) {
  const db = await openDb();
  const t = db.transaction(stores, mode);
  const finished = done(t);
  let value;
  try {
    value = await body(t);
  } catch (err) {
    try { t.abort(); } catch { /* already finished */ }
    await finished.catch(() => {});
    if (err && err.name === 'QuotaExceededError') throw new StoreError('quota', true);
    throw err;
  }
  await finished;
  return value;
}

export async function getMeta(key, fallback = null) {
  const row = await tx(['meta'], 'readonly', (t) => req(t.objectStore('meta').get(key)));
  return row ? row.value : fallback;
}

export function setMeta(key, value) {
  return tx(['meta'], 'readwrite', (t) => req(t.objectStore('meta').put({ key, value })));
}

export async function allMeta() {
  const rows = await tx(['meta'], 'readonly', (t) => req(t.objectStore('meta').getAll()));
  return Object.fromEntries(rows.map((r) => [r.key, r.value]));
}

function randomHex(bytes) {
  return Array.from(crypto.getRandomValues(new Uint8Array(bytes)), (b) => b.toString(16).padStart(2, '0')).join('');
}

export function newId() { return crypto.randomUUID(); }

// Queue one edit: op id, clock and outbox row in one transaction.
export function enqueue(collection, id, op, fields) {
  return tx(['meta', 'outbox'], 'readwrite', async (t) => {
    const meta = t.objectStore('meta');
    let install = (await req(meta.get('install')))?.value;
    if (!install) { install = randomHex(3); meta.put({ key: 'install', value: install }); }
    const seq = ((await req(meta.get('seq')))?.value || 0) + 1;
    const clock = new Clock(install, parseOrZero((await req(meta.get('hlc')))?.value));
    const hlc = format(clock.tick());
    meta.put({ key: 'seq', value: seq });
    meta.put({ key: 'hlc', value: hlc });
    const row = { op_id: install + seq.toString(16), collection, id, op, fields, hlc, created_at: Date.now() };
    await req(t.objectStore('outbox').add(row));
    return row;
  });
}

export function outboxFirst(limit) {
  return tx(['outbox'], 'readonly', (t) => req(t.objectStore('outbox').getAll(null, limit)));
}
export function outboxAll() { return outboxFirst(undefined); }
export function pendingCount() { return tx(['outbox'], 'readonly', (t) => req(t.objectStore('outbox').count())); }

// What the app shows for one collection: replica ⊕ outbox, plus each record's sync state.
export async function view(collection) {
  return tx(['records', 'outbox', 'states'], 'readonly', async (t) => {
    const rows = await req(t.objectStore('records').index('collection').getAll(collection));
    const ops = (await req(t.objectStore('outbox').getAll())).filter((o) => o.collection === collection);
    const states = (await req(t.objectStore('states').getAll())).filter((s) => s.collection === collection);
    const out = new Map();
    for (const r of rows) out.set(r.id, { base: r.fields, ops: [] });
    for (const o of ops) { if (!out.has(o.id)) out.set(o.id, { base: null, ops: [] }); out.get(o.id).ops.push(o); }
    const stateOf = new Map(states.map((s) => [s.id, s]));
    const result = [];
    for (const [id, { base, ops: pending }] of out) {
      const fields = overlay(base, pending);
      if (fields === null) continue;
      const st = stateOf.get(id);
      result.push({ id, fields, waiting: pending.length, waitingSince: pending.length ? pending[0].created_at : null,
        state: pending.length ? 'waiting' : (st ? st.status : 'synced'), detail: st ? st.detail : null });
    }
    return result;
  });
}

export async function getRecord(collection, id) {
  return (await view(collection)).find((r) => r.id === id) || null;
}

export function logEntries(limit = 50) {
  return tx(['log'], 'readonly', async (t) => (await req(t.objectStore('log').getAll())).slice(-limit).reverse());
}

// Store one sync response: results, outbox removal, removed/changes/cursor or a reset — atomically.
export function applyResponse(ops, payload, serverClockFor) {
  return tx(['meta', 'outbox', 'records', 'states', 'log'], 'readwrite', async (t) => {
    const records = t.objectStore('records'), states = t.objectStore('states');
    const meta = t.objectStore('meta'), log = t.objectStore('log'), outbox = t.objectStore('outbox');
    const counts = { pushed: 0, pulled: 0, removed: 0, conflicts: 0, reset: false };
    const dropIncident = async (id) => {
      const events = await req(records.index('collection').getAll('incident_events'));
      for (const e of events) if (e.fields.incident_id === id) records.delete(['incident_events', e.id]);
    };
    const store = async (collection, id, version, fields) => {
      if (fields === null) {
        records.delete([collection, id]);
        if (collection === 'incidents') await dropIncident(id);
      } else {
        records.put({ collection, id, version, fields });
      }
    };
    for (let i = 0; i < payload.results.length; i++) {
      const op = ops[i], result = payload.results[i];
      const existing = await req(records.get([op.collection, op.id]));
      const outcome = applyResult(existing ? existing.fields : null, op.op, op.fields, result);
      if (outcome.record !== undefined) await store(op.collection, op.id, outcome.version, outcome.record);
      const at = Date.now();
      if (outcome.conflict) {
        counts.conflicts += 1;
        log.add({ op_id: op.op_id, collection: op.collection, id: op.id, ...outcome.conflict, at });
      }
      const previous = await req(states.get([op.collection, op.id]));
      // a later clean result does not hide an earlier merge the user has not seen yet
      if (outcome.state !== 'synced' || !previous || previous.status === 'synced') {
        states.put({ collection: op.collection, id: op.id, status: outcome.state, detail: outcome.conflict, at });
      }
      outbox.delete(op.seq);
      counts.pushed += 1;
    }
    if (payload.reset_required) {
      records.clear();            // the replica goes; the outbox never does
      meta.delete('cursor');
      counts.reset = true;
    } else {
      for (const gone of payload.removed) records.delete([gone.collection, gone.id]);
      for (const change of payload.changes) {
        await store(change.collection, change.id, change.version, change.deleted ? null : change.fields);
      }
      counts.pulled = payload.changes.length;
      counts.removed = payload.removed.length;
      meta.put({ key: 'cursor', value: payload.cursor });
    }
    if (serverClockFor) meta.put({ key: 'hlc', value: serverClockFor((await req(meta.get('hlc')))?.value) });
    return counts;
  });
}

export function receiveClock(serverHlc) {
  return (local) => {
    const last = parseOrZero(local);
    const clock = new Clock(last.node || 'x', last);
    return format(clock.receive(parse(serverHlc)));
  };
}

// Sign-out keeps waiting records unless the user has agreed to lose them.
export async function signOut({ discardOutbox = false } = {}) {
  return tx(['meta', 'outbox', 'records', 'states', 'log'], 'readwrite', async (t) => {
    const keep = ['install', 'seq', 'hlc', 'lang'];
    const meta = await req(t.objectStore('meta').getAll());
    for (const row of meta) if (!keep.includes(row.key)) t.objectStore('meta').delete(row.key);
    t.objectStore('records').clear();
    t.objectStore('states').clear();
    if (discardOutbox) t.objectStore('outbox').clear();
  });
}
