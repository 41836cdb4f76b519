// What one push result does to the local replica: the same rules as sync/device/client.py `_apply_result`.
// Pure (no IndexedDB), so node --test checks it against the vectors sync/device/client.py also passes.
//   replica: the server state we hold for the record (fields object) or null
//   op/pushed: the outbox op ("put" | "delete") and the fields it sent
// Returns {record: fields | null (drop it) | undefined (leave as is), version, conflict: null |
//          {status, lost_fields?, errors?, reason?}, state: "synced" | "merged" | "refused"}.
export function applyResult(replica, op, pushed, result) {
  const status = result.status;
  let conflict = null;
  if (status === 'merged' || status === 'conflict' || status === 'rejected') {
    conflict = { status };
    for (const key of ['lost_fields', 'errors', 'reason']) if (key in result) conflict[key] = result[key];
  }
  let record;
  if (result.deleted || (status === 'applied' && op === 'delete')) record = null;
  else if ('record' in result) record = result.record;
  else if (status === 'applied') record = { ...(replica || {}), ...pushed };
  // rejected without a record: the replica keeps the server's state (a rejected create never appears)
  // merged: some fields lost to newer edits; conflict/rejected: a rule refused (part of) the change
  const refused = status === 'rejected' || status === 'conflict';
  const state = status === 'merged' ? 'merged' : refused ? 'refused' : 'synced';
  return { record, version: result.version ?? null, conflict, state };
}

// The app's view of a record: the replica with pending outbox edits laid on top, in order
// (sync/device/client.py `get`). null = deleted or unknown.
export function overlay(replica, ops) {
  let fields = replica ? { ...replica } : null;
  for (const o of ops) fields = o.op === 'delete' ? null : { ...(fields || {}), ...o.fields };
  return fields;
}

// Retry policy of one request (sync/device/client.py `_request`): which answers are retried with the same body,
// and when to halve the batch.
export const RETRY_STATUSES = new Set([409, 429, 500, 502, 503, 504]);
export function decide(status, batchLength) {
  if (status === 200) return 'ok';
  if (status === 413 && batchLength > 1) return 'shrink';
  if (status === null || RETRY_STATUSES.has(status)) return 'retry';
  return 'fail';
}
export function backoffDelay(attempt, base = 0.5, random = Math.random) {
  return Math.min(30, base * 2 ** attempt) * (0.5 + random() / 2);
}
