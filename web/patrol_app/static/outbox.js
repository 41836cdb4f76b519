// The outbox: the phone's edits waiting for the server, in the order they were made. Each gets its op id
// (<install id><hex seq>, so a resent op is recognised) and an HLC tick in the same transaction as the row.
// An op leaves the outbox only with its result (replica.js applyResponse), never on its own.
import { Clock, format, parseOrZero } from './hlc.js';
import { request, tx } from './localdb.js';

function randomHex(bytes) {
  return Array.from(crypto.getRandomValues(new Uint8Array(bytes)), (b) => b.toString(16).padStart(2, '0')).join('');
}

export function newId() { return crypto.randomUUID(); }

// Queue one edit: op id, clock and outbox row in one transaction.
export function enqueue(collection, id, op, fields) {
  return tx(['meta', 'outbox'], 'readwrite', async (t) => {
    const meta = t.objectStore('meta');
    let install = (await request(meta.get('install')))?.value;
    if (!install) { install = randomHex(3); meta.put({ key: 'install', value: install }); }
    const seq = ((await request(meta.get('seq')))?.value || 0) + 1;
    const clock = new Clock(install, parseOrZero((await request(meta.get('hlc')))?.value));
    const hlc = format(clock.tick());
    meta.put({ key: 'seq', value: seq });
    meta.put({ key: 'hlc', value: hlc });
    const row = { op_id: install + seq.toString(16), collection, id, op, fields, hlc, created_at: Date.now() };
    await request(t.objectStore('outbox').add(row));
    return row;
  });
}

export function outboxFirst(limit) {
  return tx(['outbox'], 'readonly', (t) => request(t.objectStore('outbox').getAll(null, limit)));
}

export function pendingCount() { return tx(['outbox'], 'readonly', (t) => request(t.objectStore('outbox').count())); }
