// The phone's database, `gridpatrol-app` — the same model as sync/client.py's SQLite file — and the one way
// into it, tx(). The modules above (outbox.js, replica.js) name object stores; none opens the database.
//   meta     device id, token, install id, op counter, HLC, cursor, settings, last successful sync, language
//   outbox   queued edits in order (seq), each with op_id = <install><hex seq> and an HLC (outbox.js)
//   records  the replica: last known server state per (collection, id) (replica.js)
//   states   per-record outcome of its last push: synced | merged | refused (+ what lost and why)
//   log      every merged/conflict/rejected result, for the 同步 screen
import { inTransaction, openDatabase, request } from './idb.js';

const NAME = 'gridpatrol-app';
const VERSION = 1;
let opened = null;

function createStores(db) {
  db.createObjectStore('meta', { keyPath: 'key' });
  db.createObjectStore('outbox', { keyPath: 'seq', autoIncrement: true }).createIndex('record', ['collection', 'id']);
  db.createObjectStore('records', { keyPath: ['collection', 'id'] }).createIndex('collection', 'collection');
  db.createObjectStore('states', { keyPath: ['collection', 'id'] });
  db.createObjectStore('log', { keyPath: 'n', autoIncrement: true });
}

export function tx(stores, mode, body) {
  if (!opened) opened = openDatabase(NAME, VERSION, createStores);
  return opened.then((db) => inTransaction(db, stores, mode, body));
}

// meta: small values by key (the token, the cursor, settings…).
export async function getMeta(key, fallback = null) {
  const row = await tx(['meta'], 'readonly', (t) => request(t.objectStore('meta').get(key)));
  return row ? row.value : fallback;
}

export function setMeta(key, value) {
  return tx(['meta'], 'readwrite', (t) => request(t.objectStore('meta').put({ key, value })));
}

export async function allMeta() {
  const rows = await tx(['meta'], 'readonly', (t) => request(t.objectStore('meta').getAll()));
  return Object.fromEntries(rows.map((r) => [r.key, r.value]));
}
