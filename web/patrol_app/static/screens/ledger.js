// 台账 (#/ledger): the ledger points (台账点位) with stove count and status; #/ledger/<id> is one point's
// inspection entry (检查登记: stoves, status, notes).
import { fmtTime, h, nowIso } from '../ui.js';
import { t } from '../i18n.js';
import { explainLine, itemsOr, stateBadge } from './parts.js';

const SITE_STATUSES = ['identified', 'rectified_gas', 'rectified_electric', 'rectified_clean_coal', 'cleared'];

function inspection(ctx, site) {
  const f = site.fields;
  const stoves = h('input#stove-count', { type: 'number', min: 0, max: 1000, value: f.stove_count ?? 0,
    inputmode: 'numeric' });
  const status = h('select#site-status', {},
    SITE_STATUSES.map((s) => h('option', { value: s, selected: s === f.status }, t(`site_${s}`))));
  const notes = h('textarea#site-notes', { rows: 2, value: f.notes || '' });
  const save = async (e) => {
    e.preventDefault();
    await ctx.put('sites', site.id, { stove_count: Math.max(0, parseInt(stoves.value || '0', 10) || 0),
      status: status.value, notes: notes.value.trim(), last_inspected_at: nowIso() });
    ctx.go('#/ledger');
  };
  return h('section', {}, h('a.back', { href: '#/ledger' }, `‹ ${t('back')}`),
    h('form.panel', { onsubmit: save }, h('h2', {}, `${t('inspection')}：${f.name || f.address}`),
      h('p.muted', {}, f.address),
      h('label', {}, t('stoves'), stoves), h('label', {}, t('site_status'), status), h('label', {}, t('notes'), notes),
      h('button.primary.big', { type: 'submit', id: 'save-inspection' }, t('inspect'))));
}

function siteItem(s) {
  const f = s.fields;
  return h('li.card', { 'data-id': s.id },
    h('a.block', { href: `#/ledger/${s.id}` }, h('div.row', {}, h('strong', {}, f.name || f.address), stateBadge(s)),
      h('div', {}, `${t('stoves')} ${f.stove_count ?? '—'} · ${t(`site_${f.status || 'identified'}`)}`),
      h('div.muted', {}, `${t('last_inspected')} ${fmtTime(f.last_inspected_at) || t('never')}`)),
    explainLine(s));
}

export function ledger(ctx, id) {
  const label = (s) => s.fields.name || s.fields.address || '';
  const sites = [...ctx.sites].sort((a, b) => label(a).localeCompare(label(b)));
  const chosen = id ? sites.find((s) => s.id === id) : null;
  if (chosen) return inspection(ctx, chosen);
  return h('section', {}, h('h2', {}, t('sites')), h('ul.cards', {}, itemsOr(sites.map(siteItem), 'no_records')));
}
