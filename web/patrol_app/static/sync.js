// The sync loop (docs/protocol.md "A device's loop"), usable from the page and from the service worker
// (Background Sync). One sync at a time per phone, across tabs and the worker (Web Locks).
import { StoreError, allMeta, getMeta, setMeta } from './localdb.js';
import { outboxFirst, pendingCount } from './outbox.js';
import { applyResponse, receiveClock } from './replica.js';
import { backoffDelay, decide } from './results.js';

export const CHANNEL = 'gp-sync';
const MAX_ATTEMPTS = 6;
const TIMEOUT_MS = 45000;  // a 64 kbit/s link with 300 ms latency still answers a 500-op request in time
const SETTINGS_EVERY_MS = 10 * 60 * 1000;

export class SyncFailure extends Error {
  constructor(message, status = null, code = null) { super(message); this.status = status; this.code = code; }
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function gzip(bytes) {
  if (typeof CompressionStream === 'undefined') return null;
  const stream = new Blob([bytes]).stream().pipeThrough(new CompressionStream('gzip'));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

function announce(message) {
  try { const ch = new BroadcastChannel(CHANNEL); ch.postMessage(message); ch.close(); } catch { /* old browser */ }
}

// One request, retried with the SAME body on timeouts, 409, 429 and 5xx. Returns {status, payload}.
async function post(token, body, stats) {
  const raw = new TextEncoder().encode(JSON.stringify(body));
  const headers = { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' };
  let data = raw;
  if (raw.length > 512) {
    const packed = await gzip(raw);
    if (packed) { data = packed; headers['Content-Encoding'] = 'gzip'; }
  }
  let status = null;
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    let payload = {};
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), TIMEOUT_MS);
    try {
      const response = await fetch('/api/v1/sync', { method: 'POST', headers, body: data, signal: abort.signal,
        cache: 'no-store' });
      status = response.status;
      stats.requests += 1;
      stats.bytesUp += data.length;
      const text = await response.text();
      stats.bytesDown += text.length;
      try { payload = JSON.parse(text); } catch { payload = { error: 'not_json' }; }
    } catch {
      status = null;  // offline, reset or timed out: the server may or may not have it — send it again
    } finally {
      clearTimeout(timer);
    }
    const verdict = decide(status, body.changes.length);
    if (verdict === 'ok' || verdict === 'shrink') return { verdict, payload };
    if (verdict === 'fail') throw new SyncFailure(payload.message || `HTTP ${status}`, status, payload.error);
    if (status === null && typeof navigator !== 'undefined' && navigator.onLine === false) break;
    await sleep(1000 * backoffDelay(attempt));
  }
  throw new SyncFailure('server unreachable', status, 'unreachable');
}

async function refreshSettings(token) {
  const last = await getMeta('settings_at', 0);
  if (Date.now() - last < SETTINGS_EVERY_MS) return;
  try {
    const response = await fetch('/app/api/settings', { headers: { Authorization: `Bearer ${token}` },
      cache: 'no-store' });
    if (response.ok) {
      const settings = await response.json();
      await setMeta('settings', settings);
      await setMeta('settings_at', Date.now());
    }
  } catch { /* next time */ }
}

async function run(reason) {
  const meta = await allMeta();
  if (!meta.token || !meta.device_id) return { skipped: 'not_paired' };
  const stats = { reason, requests: 0, bytesUp: 0, bytesDown: 0, pushed: 0, pulled: 0, conflicts: 0, resets: 0 };
  announce({ type: 'sync-start', reason });
  let batch = meta.batch_size || 500;
  try {
    for (let round = 0; round < 1000; round++) {
      const ops = await outboxFirst(batch);
      const cursor = await getMeta('cursor');
      const body = { device_id: meta.device_id, schema_version: 1, cursor, limit: 500,
        changes: ops.map((o) => ({ op_id: o.op_id, collection: o.collection, id: o.id, op: o.op, fields: o.fields,
          hlc: o.hlc })) };
      const { verdict, payload } = await post(meta.token, body, stats);
      if (verdict === 'shrink') { batch = Math.max(1, Math.floor(ops.length / 2)); continue; }  // half of what was sent
      const counts = await applyResponse(ops, payload, receiveClock(payload.server_hlc));
      stats.pushed += counts.pushed; stats.pulled += counts.pulled; stats.conflicts += counts.conflicts;
      if (counts.reset) stats.resets += 1;
      await setMeta('last_sync_ok', Date.now());
      await setMeta('last_error', null);
      if (!payload.has_more && !payload.reset_required && (await pendingCount()) === 0) break;
    }
    await refreshSettings(meta.token);
    announce({ type: 'sync-done', stats });
    return stats;
  } catch (err) {
    const message = err instanceof StoreError && err.quota ? 'quota' : (err.code || err.message);
    await setMeta('last_error', { message, status: err.status ?? null, at: Date.now() }).catch(() => {});
    announce({ type: 'sync-failed', error: message, status: err.status ?? null });
    throw err;
  }
}

// Sync now unless another sync (another tab, the service worker) holds the lock; then wait for it.
export async function syncNow(reason = 'manual') {
  if (typeof navigator !== 'undefined' && navigator.locks) {
    return navigator.locks.request('gp-sync', () => run(reason));
  }
  return run(reason);
}
