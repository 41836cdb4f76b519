// Pieces several screens show: names of areas and categories, a record's sync badge and its explanation, the
// 短信发送 offer, the grid picker and a problem's card. Every screen takes the app context (app.js) and
// returns a DOM node; edits go through ctx.put() (outbox first, shown at once).
import { fmtTime, h } from '../ui.js';
import { t, explain, getLang } from '../i18n.js';
import { smsLink } from '../sms.js';

export const OPEN = new Set(['open', 'in_progress']);

export const isOverdue = (f) => OPEN.has(f.status || 'open') && f.deadline && Date.parse(f.deadline) < Date.now();

export function areaName(ctx, id) {
  const a = ctx.areas.get(String(id));
  return a ? `${a.name}（${a.code}）` : `#${id}`;
}

export function categoryName(category) {
  return getLang() === 'zh' ? category.name_zh : (category.name_en || category.name_zh);
}

export function catName(ctx, id) {
  const c = ctx.categories.get(String(id));
  return c ? categoryName(c) : `#${id}`;
}

// A list's items, or one line saying there is nothing (t(emptyKey)).
export function itemsOr(items, emptyKey) {
  return items.length ? items : h('li', {}, t(emptyKey));
}

export function stateBadge(rec) {
  return h(`span.badge.st-${rec.state}`, { 'data-state': rec.state }, t(rec.state));
}

export function explainLine(rec) {
  const text = rec.state === 'waiting' ? '' : explain(rec.detail);
  return text ? h('p.explain', { 'data-explain': '' }, text) : null;
}

// 短信发送: offered once a record has waited longer than the server's fallback time.
export function smsFallback(ctx, rec, text) {
  if (rec.state !== 'waiting' || !rec.waitingSince) return null;
  const waitMs = (ctx.settings.sms_fallback_minutes ?? 30) * 60000;
  if (Date.now() - rec.waitingSince < waitMs) return null;
  const number = ctx.settings.sms_gateway_number;
  if (!number) return null;
  return h('div.smsbox', {}, h('p.hint', {}, t('sms_hint')),
    h('a.button.sms', { href: smsLink(number, text), 'data-sms': text }, t('send_sms')));
}

// The grids this member patrols: every grid under an area one of their roles is held over.
export function gridsOf(ctx) {
  const me = ctx.members.get(String(ctx.member.id));
  const roots = (me?.roles || []).map((r) => ctx.areas.get(String(r.area_id))).filter(Boolean);
  const grids = [...ctx.areas.entries()]
    .filter(([, a]) => a.kind === 'grid' && roots.some((r) => a.path.startsWith(r.path)));
  return grids.map(([id, a]) => ({ id: Number(id), ...a })).sort((a, b) => a.code.localeCompare(b.code));
}

export function gridPicker(ctx, name, selected) {
  const grids = gridsOf(ctx);
  const isChecked = (g, i) => (selected ? String(selected) === String(g.id) : i === 0);
  return h('fieldset.pick', {}, h('legend', {}, t('grid')),
    grids.map((g, i) => h('label.choice', {},
      h('input', { type: 'radio', name, value: g.id, checked: isChecked(g, i) }), `${g.name} ${g.code}`)));
}

// One problem's card, linking to its detail (问题 and 今日's overdue list).
export function problemItem(ctx, r) {
  const f = r.fields;
  const deadline = f.deadline ? ` · ${t('deadline')} ${fmtTime(f.deadline)}` : '';
  return h('li.card', { 'data-id': r.id }, h('a.block', { href: `#/problem/${r.id}` },
    h('div.row', {}, h('strong', {}, `${f.ticket || t('no_ticket')} ${catName(ctx, f.category_id)}`), stateBadge(r)),
    h('div', {}, `${t(`status_${f.status || 'open'}`)}${deadline}`,
      f.flagged ? h('span.flag', {}, ` ${t('flagged')}`) : null,
      isOverdue(f) ? h('span.flag', {}, ` ${t('overdue')}`) : null),
    h('div.muted', {}, [f.location_text, f.description].filter(Boolean).join(' · '))), explainLine(r));
}
