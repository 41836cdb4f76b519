// 问题 (#/problems): every problem the phone holds, overdue first, then the newest; each links to its detail.
import { h } from '../ui.js';
import { isOverdue, itemsOr, problemItem } from './parts.js';

export function problems(ctx) {
  const list = [...ctx.incidents].sort((a, b) => (isOverdue(b.fields) - isOverdue(a.fields))
    || (b.fields.reported_at || '').localeCompare(a.fields.reported_at || ''));
  return h('section', {},
    h('ul.cards', { id: 'problem-list' }, itemsOr(list.map((r) => problemItem(ctx, r)), 'no_records')));
}
