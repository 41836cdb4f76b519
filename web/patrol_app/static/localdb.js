// The phone's IndexedDB database, `gridpatrol-app` (the part Workbox calls QueueDb): a thin promise wrapper
// (requests, one function per transaction), the schema — the same model as sync/device/client.py's SQLite file — and
// small values by key. The modules above (outbox.js, replica.js) name object stores inside tx(); none opens
// the database. A transaction that fails or aborts rejects with StoreError, flagged `quota` when the phone is
// out of space, so the app can say so in red instead of losing an edit silently.
//   meta     device id, token, install id, op counter, HLC, cursor, settings, last successful sync, language
//   outbox   queued edits in order (seq), each with op_id = <install><hex seq> and an HLC (outbox.js)
//   records  the replica: last known server state per (collection, id) (replica.js)
//   states   per-record outcome of its last push: synced | merged | refused (+ what lost and why)
//   log      every merged/conflict/rejected result, for the 同步 screen
export class StoreError extends Error {
  constructor(message, quota = false) { super(message); this.quota = quota; }
}

export function request(req) {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

function completion(transaction) {
  return new Promise((resolve, reject) => {
    transaction.oncomplete = () => resolve();
    const fail = () => {
      const err = transaction.error;
      const quota = err && (err.name === 'QuotaExceededError');
      reject(new StoreError(quota ? 'quota' : (err ? `${err.name}: ${err.message}` : 'transaction aborted'), quota));
    };
    transaction.onerror = fail;
    transaction.onabort = fail;
  });
}

// upgrade(db, oldVersion) creates the object stores; another tab's upgrade closes this connection.
function openDatabase(name, version, upgrade) {
  return new Promise((resolve, reject) => {
    const open = indexedDB.open(name, version);
    open.onupgradeneeded = (event) => upgrade(open.result, event.oldVersion);
    open.onsuccess = () => {
      open.result.onversionchange = () => open.result.close();
      resolve(open.result);
    };
    open.onerror = () => reject(open.error);
  });
}

// body(transaction) runs inside one transaction over `stores`; its value is returned once the transaction
// has committed. If body throws, the transaction is aborted and nothing it wrote is kept.
async function inTransaction(db, stores, mode, body) {
  const transaction = db.transaction(stores, mode);
  const finished = completion(transaction);
  let value;
  try {
    value = await body(transaction);
  } catch (err) {
    try { transaction.abort(); } catch { /* already finished */ }
    await finished.catch(() => {});
    if (err && err.name === 'QuotaExceededError') throw new StoreError('quota', true);
    throw err;
  }
  await finished;
  return value;
}

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
