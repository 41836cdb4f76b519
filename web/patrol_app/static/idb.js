// A thin promise wrapper over IndexedDB (the part Workbox takes from the `idb` library): open a database,
// await a request, run a function inside one transaction. It knows nothing of gridpatrol's stores
// (localdb.js declares them). A transaction that fails or aborts rejects with StoreError, flagged `quota`
// when the phone is out of space, so the app can say so in red instead of losing an edit silently.
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
export function openDatabase(name, version, upgrade) {
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
export async function inTransaction(db, stores, mode, body) {
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
