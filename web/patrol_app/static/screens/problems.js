// 问题: every problem the phone holds (#/problems, overdue first, then the newest), and one problem's detail
// (#/problem/<id>): its fields and sync state, the actions this member may take (办结 offline; 上报 and 收到
// online, or by SMS when there is no signal), a note, the description, and the history.
import { fmtTime, h, nowIso } from '../ui.js';
import { t } from '../i18n.js';
import { incidentText, smsLink } from '../sms.js';
import {
  OPEN, areaName, catName, explainLine, isOverdue, itemsOr, problemItem, smsFallback, stateBadge,
} from './parts.js';

export function problems(ctx) {
  const list = [...ctx.incidents].sort((a, b) => (isOverdue(b.fields) - isOverdue(a.fields))
    || (b.fields.reported_at || '').localeCompare(a.fields.reported_at || ''));
  return h('section', {},
    h('ul.cards', { id: 'problem-list' }, itemsOr(list.map((r) => problemItem(ctx, r)), 'no_records')));
}

// The phone's own copy of who may act on a problem: a leader's role over its grid or its responsible area
// allows 收到. When the server sends each problem's allowed actions, actionsFor() reads those instead.
const LEADERS = new Set(['grid_leader', 'community_leader', 'subdistrict_leader', 'district_leader', 'supervisor',
  'admin']);

function rolesOver(ctx, areaId) {
  const area = ctx.areas.get(String(areaId));
  const me = ctx.members.get(String(ctx.member.id));
  if (!area || !me) return new Set();
  const over = (r) => { const a = ctx.areas.get(String(r.area_id)); return a && area.path.startsWith(a.path); };
  return new Set((me.roles || []).filter(over).map((r) => r.role));
}

// The actions offered on the problem, in the order of their buttons: 'handle', 'escalate', 'acknowledge'.
export function actionsFor(ctx, f) {
  const roles = rolesOver(ctx, f.responsible_area_id || f.area_id);
  for (const role of rolesOver(ctx, f.area_id)) roles.add(role);
  const leader = [...roles].some((x) => LEADERS.has(x));
  const open = OPEN.has(f.status || 'open');
  return [open && 'handle', open && f.ticket && 'escalate', open && leader && f.ticket && 'acknowledge']
    .filter(Boolean);
}

function actionButtons(ctx, id, f) {
  // 上报 and 收到 are server-side actions; without a connection the coded SMS carries them
  const online = async (action) => {
    try { await ctx.act(id, action); } catch {
      ctx.toast(t('online_needed'));
      if (f.ticket && ctx.settings.sms_gateway_number) {
        const text = `${action === 'escalate' ? '上报' : '收到'} ${f.ticket}`;
        window.location.href = smsLink(ctx.settings.sms_gateway_number, text);
      }
    }
  };
  const run = { handle: () => ctx.put('incidents', id, { status: 'resolved' }), escalate: () => online('escalate'),
    acknowledge: () => online('acknowledge') };
  return actionsFor(ctx, f).map((action) => h('button.big', { id: `act-${action}`, onclick: run[action] }, t(action)));
}

function details(ctx, r) {
  const f = r.fields;
  const grid = ctx.areas.get(String(f.area_id));
  const cat = ctx.categories.get(String(f.category_id));
  const status = [t(`status_${f.status || 'open'}`), f.flagged ? ` · ${t('flagged')}` : ''];
  return h('div.panel', {},
    h('div.row', {}, h('h2', {}, `${t('ticket')} ${f.ticket || t('no_ticket')}`), stateBadge(r)), explainLine(r),
    h('dl', {}, h('dt', {}, t('category')), h('dd', {}, catName(ctx, f.category_id)),
      h('dt', {}, t('grid')), h('dd', {}, areaName(ctx, f.area_id)),
      h('dt', {}, t('status')), h('dd', { id: 'problem-status' }, ...status),
      h('dt', {}, t('handling')),
      h('dd', {}, t(f.handling_class || 'reported'), f.promised_date ? ` ${f.promised_date}` : ''),
      h('dt', {}, t('deadline')), h('dd', {}, fmtTime(f.deadline) || '—'),
      h('dt', {}, t('place')), h('dd', {}, f.location_text || '—'),
      h('dt', {}, t('description')), h('dd', { id: 'problem-description' }, f.description || '—')),
    smsFallback(ctx, r, incidentText({ id: r.id, ...f }, grid?.code || '', cat?.number ?? f.category_id)));
}

function historyLine(e) {
  const f = e.fields;
  const what = f.kind === 'note' ? `${t('note')}：${f.note}`
    : `${t(`event_${f.kind}`)}${f.to_status ? ' → ' + t(`status_${f.to_status}`) : ''}${f.note ? '：' + f.note : ''}`;
  return h('li', {}, `${fmtTime(f.at)} ${f.actor_label || ''} `, what,
    e.state === 'waiting' ? h('span.badge.st-waiting', {}, t('waiting')) : null);
}

export function problem(ctx, id) {
  const r = ctx.incidents.find((x) => x.id === id);
  if (!r) return h('section', {}, h('p', {}, t('no_records')), h('a.button', { href: '#/problems' }, t('back')));
  const f = r.fields;
  const events = ctx.events.filter((e) => e.fields.incident_id === id)
    .sort((a, b) => (a.fields.at || '').localeCompare(b.fields.at || ''));
  const desc = h('textarea#edit-description', { rows: 3, value: f.description || '' });
  const note = h('input#note-text', { type: 'text', maxlength: 500 });
  const addNote = async (e) => {
    e.preventDefault();
    if (!note.value.trim()) return;
    await ctx.put('incident_events', null, { incident_id: id, kind: 'note', note: note.value.trim(), at: nowIso() });
  };
  const saveDescription = async (e) => {
    e.preventDefault();
    if (desc.value.trim() !== (f.description || '')) await ctx.put('incidents', id, { description: desc.value.trim() });
  };
  return h('section', {},
    h('a.back', { href: '#/problems' }, `‹ ${t('back')}`),
    details(ctx, r),
    h('h3', {}, t('actions')),
    h('div.actions', {}, actionButtons(ctx, id, f)),
    h('form.panel', { onsubmit: addNote },
      h('label', {}, t('note'), note), h('button.big', { type: 'submit', id: 'add-note' }, t('add_note'))),
    h('form.panel', { onsubmit: saveDescription },
      h('label', {}, t('description'), desc), h('button.big', { type: 'submit', id: 'save-description' }, t('submit'))),
    h('h3', {}, t('history')),
    h('ol.history', {}, itemsOr(events.map(historyLine), 'none')));
}
