// The replica and what a sync does to it (the sync logic above localdb.js and outbox.js):
//   view()           what a screen shows for a collection: the replica with the outbox's pending edits on top,
//                    plus each record's sync state (waiting | synced | merged | refused)
//   applyResponse()  one sync answer stored atomically: each op's result, the op leaving the outbox, the pulled
//                    changes and the new cursor, or a reset (the replica goes, the outbox never does)
//   signOut()        forget the device, keep waiting edits unless the user agreed to lose them
// The result rules themselves are pure functions in results.js, shared with node --test.
import { Clock, format, parse, parseOrZero } from './hlc.js';
import { request, tx } from './localdb.js';
import { applyResult, overlay } from './results.js';

export async function view(collection) {
  return tx(['records', 'outbox', 'states'], 'readonly', async (t) => {
    const rows = await request(t.objectStore('records').index('collection').getAll(collection));
    const ops = (await request(t.objectStore('outbox').getAll())).filter((o) => o.collection === collection);
    const states = (await request(t.objectStore('states').getAll())).filter((s) => s.collection === collection);
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
  return tx(['log'], 'readonly', async (t) => (await request(t.objectStore('log').getAll())).slice(-limit).reverse());
}

// Store one sync response: results, outbox removal, removed/changes/cursor or a reset — atomically.
export function applyResponse(ops, payload, serverClockFor) {
  return tx(['meta', 'outbox', 'records', 'states', 'log'], 'readwrite', async (t) => {
    const records = t.objectStore('records'), states = t.objectStore('states');
    const meta = t.objectStore('meta'), log = t.objectStore('log'), outbox = t.objectStore('outbox');
    const counts = { pushed: 0, pulled: 0, removed: 0, conflicts: 0, reset: false };
    const dropIncident = async (id) => {
      const events = await request(records.index('collection').getAll('incident_events'));
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
      const existing = await request(records.get([op.collection, op.id]));
      const outcome = applyResult(existing ? existing.fields : null, op.op, op.fields, result);
      if (outcome.record !== undefined) await store(op.collection, op.id, outcome.version, outcome.record);
      const at = Date.now();
      if (outcome.conflict) {
        counts.conflicts += 1;
        log.add({ op_id: op.op_id, collection: op.collection, id: op.id, ...outcome.conflict, at });
      }
      const previous = await request(states.get([op.collection, op.id]));
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
    if (serverClockFor) meta.put({ key: 'hlc', value: serverClockFor((await request(meta.get('hlc')))?.value) });
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
    const meta = await request(t.objectStore('meta').getAll());
    for (const row of meta) if (!keep.includes(row.key)) t.objectStore('meta').delete(row.key);
    t.objectStore('records').clear();
    t.objectStore('states').clear();
    if (discardOutbox) t.objectStore('outbox').clear();
  });
}
