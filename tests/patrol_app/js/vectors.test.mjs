// node --test: the app's HLC, result handling and retry policy against the vectors sync/client.py passes too.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Clock, compare, format, parse } from '../../../web/patrol_app/static/hlc.js';
import { applyResult, decide, overlay, backoffDelay } from '../../../web/patrol_app/static/results.js';
import { incidentText, patrolText, smsLink } from '../../../web/patrol_app/static/sms.js';

const vectors = JSON.parse(readFileSync(new URL('../sync_vectors.json', import.meta.url), 'utf8'));

test('hlc parse', () => {
  for (const v of vectors.hlc_parse) {
    if (v.error) assert.throws(() => parse(v.text), undefined, JSON.stringify(v.text));
    else {
      const c = parse(v.text);
      assert.deepEqual([c.ms, c.counter, c.node], v.ok, v.text);
      assert.equal(format(c), v.text.replace(/^0+(?=[0-9a-f])/, ''));
    }
  }
});

test('hlc compare', () => {
  for (const [a, b, want] of vectors.hlc_compare) assert.equal(compare(parse(a), parse(b)), want, `${a} vs ${b}`);
});

test('hlc clock tick and receive', () => {
  for (const v of vectors.hlc_clock) {
    const walls = v.steps.map((s) => s[1]);
    const clock = new Clock(v.node, v.start ? parse(v.start) : null, () => walls.shift());
    const got = v.steps.map((s) => format(s[0] === 'tick' ? clock.tick() : clock.receive(parse(s[2]))));
    assert.deepEqual(got, v.expect, v.name);
  }
});

test('result handling', () => {
  for (const v of vectors.results) {
    const out = applyResult(v.replica, v.op, v.fields, v.result);
    if (v.record === 'unchanged') assert.equal(out.record, undefined, v.name);
    else assert.deepEqual(out.record, v.record, v.name);
    assert.deepEqual(out.conflict, v.conflict, v.name);
    assert.equal(out.state, v.state, v.name);
  }
});

test('retry policy', () => {
  for (const v of vectors.retry) assert.equal(decide(v.status, v.batch), v.expect, JSON.stringify(v));
  for (let attempt = 0; attempt < 10; attempt++) {
    const low = backoffDelay(attempt, 0.5, () => 0), high = backoffDelay(attempt, 0.5, () => 0.999);
    assert.ok(low >= Math.min(30, 0.5 * 2 ** attempt) * 0.5 && high <= 30, `attempt ${attempt}`);
  }
});

test('overlay: pending edits on top of the replica, a delete hides it', () => {
  assert.deepEqual(overlay({ a: 1, b: 2 }, [{ op: 'put', fields: { b: 3 } }]), { a: 1, b: 3 });
  assert.equal(overlay({ a: 1 }, [{ op: 'delete', fields: {} }]), null);
  assert.deepEqual(overlay(null, [{ op: 'put', fields: { a: 1 } }, { op: 'put', fields: { c: 2 } }]), { a: 1, c: 2 });
});

test('sms fallback texts follow docs/sms.md and end with the record id', () => {
  const id = '3b241101-e2bb-4255-8caf-4136c566a962';
  assert.equal(patrolText({ id, problem_count: 0 }, 'HD03-1-1'), `巡查 HD03-1-1 正常 #${id}`);
  assert.equal(patrolText({ id, problem_count: 2 }, 'HD03-1-1'), `巡查 HD03-1-1 2 #${id}`);
  const immediate = { id, handling_class: 'immediate', location_text: '映月路12号', description: '烧散煤' };
  assert.equal(incidentText(immediate, 'HD03-1-1', 5),
    `发现 HD03-1-1 5 即办 映月路12号 烧散煤 #${id}`);
  const committed = { id, handling_class: 'committed', promised_date: '2026-12-04', description: 'fix #2' };
  assert.equal(incidentText(committed, 'HD03-1-1', 5, '2026-12-01'),
    `发现 HD03-1-1 5 承诺3天 fix  2 #${id}`);
  assert.equal(smsLink('+8610690000', '巡查 HD03-1-1 正常'),
    'sms:+8610690000?body=%E5%B7%A1%E6%9F%A5%20HD03-1-1%20%E6%AD%A3%E5%B8%B8');
});
