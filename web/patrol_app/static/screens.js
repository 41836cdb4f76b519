// The six screens plus pairing. Each takes the app context and returns a DOM node; edits go through
// ctx.put() (outbox first, shown at once) and the screens re-render from replica ⊕ outbox.
import { h, fmtTime, localDate, nowIso } from './ui.js';
import { t, explain, getLang } from './i18n.js';
import { incidentText, patrolText, smsLink } from './sms.js';

const OPEN = new Set(['open', 'in_progress']);
const LEADERS = new Set(['grid_leader', 'community_leader', 'subdistrict_leader', 'district_leader', 'supervisor', 'admin']);

const areaName = (ctx, id) => { const a = ctx.areas.get(String(id)); return a ? `${a.name}（${a.code}）` : `#${id}`; };
const catName = (ctx, id) => { const c = ctx.categories.get(String(id)); return c ? (getLang() === 'zh' ? c.name_zh : c.name_en || c.name_zh) : `#${id}`; };
const isOverdue = (f) => OPEN.has(f.status || 'open') && f.deadline && Date.parse(f.deadline) < Date.now();

function stateBadge(rec) {
  const label = t(rec.state);
  return h(`span.badge.st-${rec.state}`, { 'data-state': rec.state }, label);
}

function explainLine(rec) {
  const text = rec.state === 'waiting' ? '' : explain(rec.detail);
  return text ? h('p.explain', { 'data-explain': '' }, text) : null;
}

// 短信发送: offered once a record has waited longer than the server's fallback time.
function smsFallback(ctx, rec, text) {
  if (rec.state !== 'waiting' || !rec.waitingSince) return null;
  const waitMs = (ctx.settings.sms_fallback_minutes ?? 30) * 60000;
  if (Date.now() - rec.waitingSince < waitMs) return null;
  const number = ctx.settings.sms_gateway_number;
  if (!number) return null;
  return h('div.smsbox', {}, h('p.hint', {}, t('sms_hint')),
    h('a.button.sms', { href: smsLink(number, text), 'data-sms': text }, t('send_sms')));
}

export function gridsOf(ctx) {
  const me = ctx.members.get(String(ctx.member.id));
  const roots = (me?.roles || []).map((r) => ctx.areas.get(String(r.area_id))).filter(Boolean);
  const grids = [...ctx.areas.entries()].filter(([, a]) => a.kind === 'grid' && roots.some((r) => a.path.startsWith(r.path)));
  return grids.map(([id, a]) => ({ id: Number(id), ...a })).sort((a, b) => a.code.localeCompare(b.code));
}

function rolesOver(ctx, areaId) {
  const area = ctx.areas.get(String(areaId));
  const me = ctx.members.get(String(ctx.member.id));
  if (!area || !me) return new Set();
  return new Set((me.roles || []).filter((r) => { const a = ctx.areas.get(String(r.area_id)); return a && area.path.startsWith(a.path); }).map((r) => r.role));
}

function windowsFor(ctx, grid) {
  // the nearest schedule on the grid or an ancestor (the path lists them: "/1/2/3/5/"); ancestors'
  // schedules are pulled even when the ancestor areas themselves are outside the device's scope
  const chain = (grid.path || '').split('/').filter(Boolean).reverse();
  const schedules = [...ctx.schedules.values()];
  for (const areaId of chain) {
    const schedule = schedules.find((s) => String(s.area_id) === areaId);
    if (schedule) return schedule.windows || [];
  }
  return [{ start: '08:00', end: '12:00' }, { start: '14:00', end: '18:00' }];
}

function gridPicker(ctx, name, selected) {
  const grids = gridsOf(ctx);
  return h('fieldset.pick', {}, h('legend', {}, t('grid')),
    grids.map((g, i) => h('label.choice', {}, h('input', { type: 'radio', name, value: g.id, checked: selected ? String(selected) === String(g.id) : i === 0 }), `${g.name} ${g.code}`)));
}

// ---------------------------------------------------------------- 今日
export function today(ctx) {
  const grids = gridsOf(ctx);
  const now = new Date();
  const hhmm = `${String(now.getHours()).padStart(2, '0')}:${String(now.getMinutes()).padStart(2, '0')}`;
  const todayStr = localDate(now);
  const gridIds = new Set(grids.map((g) => String(g.id)));
  const rows = grids.map((g) => {
    const windows = windowsFor(ctx, g);
    const current = windows.find((w) => w.start <= hhmm && hhmm < w.end);
    const next = windows.find((w) => w.start > hhmm);
    const win = current || next;
    const done = win && ctx.patrols.some((p) => String(p.fields.area_id) === String(g.id) && p.fields.started_at
      && localDate(new Date(p.fields.started_at)) === todayStr
      && fmtTime(p.fields.started_at).slice(11) >= win.start && fmtTime(p.fields.started_at).slice(11) < win.end);
    return h('li.card', {}, h('strong', {}, `${g.name} ${g.code}`),
      h('div', {}, win ? `${current ? t('window_now') : t('window_next')} ${win.start}–${win.end} · ` : t('window_none'),
        win ? h(`span.${done ? 'ok' : 'warn'}`, {}, done ? t('done') : t('not_done')) : null));
  });
  const hot = ctx.incidents.filter((r) => (gridIds.has(String(r.fields.area_id)) || gridIds.has(String(r.fields.responsible_area_id)))
    && OPEN.has(r.fields.status || 'open') && (r.fields.flagged || isOverdue(r.fields)));
  return h('section', {},
    h('div.actions', {}, h('a.button.primary', { href: '#/patrol' }, ctx.runningPatrol ? t('end_patrol') : t('start_patrol')),
      h('a.button.primary', { href: '#/report' }, t('report_problem'))),
    h('p.pending', {}, `${t('pending_count')}：`, h('strong', { id: 'pending-count' }, ctx.pending)),
    h('h2', {}, t('my_grids')), h('ul.cards', {}, rows.length ? rows : h('li', {}, t('none'))),
    h('h2', {}, t('overdue_flagged')),
    h('ul.cards', {}, hot.length ? hot.map((r) => problemItem(ctx, r)) : h('li', {}, t('none'))));
}

// ---------------------------------------------------------------- 开始巡查 / 结束巡查
export function patrol(ctx) {
  const running = ctx.runningPatrol;
  const recent = ctx.patrols.filter((p) => String(p.fields.member_id ?? ctx.member.id) === String(ctx.member.id))
    .sort((a, b) => (b.fields.started_at || '').localeCompare(a.fields.started_at || '')).slice(0, 10);
  let form;
  if (running) {
    const count = h('input#problem-count', { type: 'number', min: 0, max: 99, value: 0, inputmode: 'numeric' });
    const checkpoints = h('textarea#checkpoints', { rows: 3 });
    const notes = h('textarea#patrol-notes', { rows: 2 });
    form = h('form.panel', { onsubmit: async (e) => {
      e.preventDefault();
      const n = Math.max(0, parseInt(count.value || '0', 10) || 0);
      const at = nowIso();
      const cps = checkpoints.value.split('\n').map((s) => s.trim()).filter(Boolean).map((name) => ({ name, at }));
      await ctx.put('patrols', running.id, { ended_at: at, outcome: n ? 'problems_found' : 'all_clear', problem_count: n,
        ...(cps.length ? { checkpoints: cps } : {}), ...(notes.value.trim() ? { notes: notes.value.trim() } : {}) });
      await ctx.setRunning(null);
      ctx.go('#/patrol');
    } },
    h('p', {}, `${t('patrol_running')} · ${areaName(ctx, running.fields.area_id)} · ${t('started')} ${fmtTime(running.fields.started_at)}`),
    h('label', {}, `${t('problems_found')}（0 = ${t('all_clear')}）`, count),
    h('label', {}, t('checkpoints'), checkpoints), h('label', {}, t('notes'), notes),
    h('button.primary.big', { type: 'submit', id: 'end-patrol' }, t('end_patrol')));
  } else {
    form = h('form.panel', { onsubmit: async (e) => {
      e.preventDefault();
      const area = e.target.querySelector('input[name=patrol-grid]:checked');
      if (!area) return ctx.toast(t('choose_grid'));
      const id = await ctx.put('patrols', null, { area_id: Number(area.value), started_at: nowIso() });
      await ctx.setRunning(id);
      ctx.go('#/patrol');
    } }, gridPicker(ctx, 'patrol-grid'), h('button.primary.big', { type: 'submit', id: 'start-patrol' }, t('start_patrol')));
  }
  return h('section', {}, form, h('h2', {}, t('patrol')),
    h('ul.cards', {}, recent.length ? recent.map((p) => h('li.card', { 'data-id': p.id },
      h('div.row', {}, h('strong', {}, areaName(ctx, p.fields.area_id)), stateBadge(p)),
      h('div', {}, `${fmtTime(p.fields.started_at)}${p.fields.ended_at ? ' – ' + fmtTime(p.fields.ended_at).slice(11) : ''} · `,
        p.fields.ended_at ? (p.fields.problem_count ? `${t('problems_found')} ${p.fields.problem_count}` : t('all_clear')) : t('patrol_running')),
      explainLine(p),
      p.fields.ended_at ? smsFallback(ctx, p, patrolText({ id: p.id, ...p.fields }, ctx.areas.get(String(p.fields.area_id))?.code || '')) : null))
      : h('li', {}, t('no_records'))));
}

// ---------------------------------------------------------------- 上报问题
export function report(ctx) {
  const state = { category: null, handling: 'reported', lat: null, lon: null };
  const cats = [...ctx.categories.entries()].filter(([, c]) => c.active !== false).sort((a, b) => a[1].number - b[1].number);
  const catButtons = cats.map(([id, c]) => h('button.cat', { type: 'button', 'data-category': id, onclick: (e) => {
    state.category = Number(id);
    for (const b of e.currentTarget.parentNode.children) b.classList.toggle('on', b === e.currentTarget);
  } }, getLang() === 'zh' ? c.name_zh : (c.name_en || c.name_zh)));
  const days = h('input#promise-days', { type: 'number', min: 1, max: 90, value: 3, inputmode: 'numeric' });
  const classes = ['immediate', 'reported', 'committed'].map((k) => h(`button.seg${k === 'reported' ? '.on' : ''}`, { type: 'button', 'data-handling': k, onclick: (e) => {
    state.handling = k;
    for (const b of e.currentTarget.parentNode.children) b.classList.toggle('on', b === e.currentTarget);
    days.parentNode.hidden = k !== 'committed';
  } }, t(k)));
  const daysLabel = h('label', { hidden: true }, t('days'), days);
  const description = h('textarea#description', { rows: 3 });
  const place = h('input#place', { type: 'text', maxlength: 300 });
  const gpsNote = h('span.hint', {});
  const gps = h('input#gps', { type: 'checkbox', onchange: (e) => {
    if (!e.target.checked) { state.lat = state.lon = null; gpsNote.textContent = ''; return; }
    if (!navigator.geolocation) { gpsNote.textContent = t('gps_failed'); return; }
    navigator.geolocation.getCurrentPosition((pos) => {
      state.lat = pos.coords.latitude; state.lon = pos.coords.longitude; gpsNote.textContent = t('gps_got');
    }, () => { gpsNote.textContent = t('gps_failed'); }, { timeout: 15000, maximumAge: 60000 });
  } });
  return h('form.panel', { onsubmit: async (e) => {
    e.preventDefault();
    const area = e.target.querySelector('input[name=report-grid]:checked');
    if (!area) return ctx.toast(t('choose_grid'));
    if (!state.category) return ctx.toast(t('choose_category'));
    if (!description.value.trim() && !place.value.trim()) return ctx.toast(t('need_description'));
    const fields = { category_id: state.category, area_id: Number(area.value), handling_class: state.handling,
      description: description.value.trim(), location_text: place.value.trim(), reported_at: nowIso() };
    if (state.handling === 'committed') {
      const d = new Date(); d.setDate(d.getDate() + Math.max(1, parseInt(days.value || '1', 10)));
      fields.promised_date = localDate(d);
    }
    if (state.lat !== null) { fields.latitude = state.lat; fields.longitude = state.lon; }
    if (ctx.runningPatrol) fields.patrol_id = ctx.runningPatrol.id;
    const id = await ctx.put('incidents', null, fields);
    ctx.toast(t('saved'));
    ctx.go(`#/problem/${id}`);
  } }, gridPicker(ctx, 'report-grid'),
  h('fieldset.pick', {}, h('legend', {}, t('category')), h('div.cats', {}, catButtons)),
  h('fieldset.pick', {}, h('legend', {}, t('handling')), h('div.segs', {}, classes), daysLabel),
  h('label', {}, t('description'), description), h('label', {}, t('place'), place),
  h('label.check', {}, gps, t('gps'), gpsNote),
  h('button.primary.big', { type: 'submit', id: 'submit-problem' }, t('report_problem')));
}

// ---------------------------------------------------------------- 问题
function problemItem(ctx, r) {
  const f = r.fields;
  return h('li.card', { 'data-id': r.id }, h('a.block', { href: `#/problem/${r.id}` },
    h('div.row', {}, h('strong', {}, `${f.ticket || t('no_ticket')} ${catName(ctx, f.category_id)}`), stateBadge(r)),
    h('div', {}, `${t(`status_${f.status || 'open'}`)}${f.deadline ? ` · ${t('deadline')} ${fmtTime(f.deadline)}` : ''}`,
      f.flagged ? h('span.flag', {}, ` ${t('flagged')}`) : null, isOverdue(f) ? h('span.flag', {}, ` ${t('overdue')}`) : null),
    h('div.muted', {}, [f.location_text, f.description].filter(Boolean).join(' · '))), explainLine(r));
}

export function problems(ctx) {
  const list = [...ctx.incidents].sort((a, b) => (isOverdue(b.fields) - isOverdue(a.fields))
    || (b.fields.reported_at || '').localeCompare(a.fields.reported_at || ''));
  return h('section', {}, h('ul.cards', { id: 'problem-list' }, list.length ? list.map((r) => problemItem(ctx, r)) : h('li', {}, t('no_records'))));
}

export function problem(ctx, id) {
  const r = ctx.incidents.find((x) => x.id === id);
  if (!r) return h('section', {}, h('p', {}, t('no_records')), h('a.button', { href: '#/problems' }, t('back')));
  const f = r.fields;
  const roles = rolesOver(ctx, f.responsible_area_id || f.area_id);
  for (const role of rolesOver(ctx, f.area_id)) roles.add(role);
  const leader = [...roles].some((x) => LEADERS.has(x));
  const events = ctx.events.filter((e) => e.fields.incident_id === id).sort((a, b) => (a.fields.at || '').localeCompare(b.fields.at || ''));
  const desc = h('textarea#edit-description', { rows: 3, value: f.description || '' });
  const note = h('input#note-text', { type: 'text', maxlength: 500 });
  const grid = ctx.areas.get(String(f.area_id));
  const cat = ctx.categories.get(String(f.category_id));
  const online = async (action) => {
    try { await ctx.act(id, action); } catch (err) {
      ctx.toast(t('online_needed'));
      if (f.ticket && ctx.settings.sms_gateway_number) {
        window.location.href = smsLink(ctx.settings.sms_gateway_number, `${action === 'escalate' ? '上报' : '收到'} ${f.ticket}`);
      }
    }
  };
  const open = OPEN.has(f.status || 'open');
  return h('section', {},
    h('a.back', { href: '#/problems' }, `‹ ${t('back')}`),
    h('div.panel', {}, h('div.row', {}, h('h2', {}, `${t('ticket')} ${f.ticket || t('no_ticket')}`), stateBadge(r)), explainLine(r),
      h('dl', {}, h('dt', {}, t('category')), h('dd', {}, catName(ctx, f.category_id)),
        h('dt', {}, t('grid')), h('dd', {}, areaName(ctx, f.area_id)),
        h('dt', {}, t('status')), h('dd', { id: 'problem-status' }, t(`status_${f.status || 'open'}`), f.flagged ? ` · ${t('flagged')}` : ''),
        h('dt', {}, t('handling')), h('dd', {}, t(f.handling_class || 'reported'), f.promised_date ? ` ${f.promised_date}` : ''),
        h('dt', {}, t('deadline')), h('dd', {}, fmtTime(f.deadline) || '—'),
        h('dt', {}, t('place')), h('dd', {}, f.location_text || '—'),
        h('dt', {}, t('description')), h('dd', { id: 'problem-description' }, f.description || '—')),
      smsFallback(ctx, r, incidentText({ id, ...f }, grid?.code || '', cat?.number ?? f.category_id))),
    h('h3', {}, t('actions')),
    h('div.actions', {},
      open ? h('button.big', { id: 'act-handle', onclick: () => ctx.put('incidents', id, { status: 'resolved' }) }, t('handle')) : null,
      open && f.ticket ? h('button.big', { id: 'act-escalate', onclick: () => online('escalate') }, t('escalate')) : null,
      open && leader && f.ticket ? h('button.big', { id: 'act-acknowledge', onclick: () => online('acknowledge') }, t('acknowledge')) : null),
    h('form.panel', { onsubmit: async (e) => {
      e.preventDefault();
      if (!note.value.trim()) return;
      await ctx.put('incident_events', null, { incident_id: id, kind: 'note', note: note.value.trim(), at: nowIso() });
    } }, h('label', {}, t('note'), note), h('button.big', { type: 'submit', id: 'add-note' }, t('add_note'))),
    h('form.panel', { onsubmit: async (e) => {
      e.preventDefault();
      if (desc.value.trim() !== (f.description || '')) await ctx.put('incidents', id, { description: desc.value.trim() });
    } }, h('label', {}, t('description'), desc), h('button.big', { type: 'submit', id: 'save-description' }, t('submit'))),
    h('h3', {}, t('history')),
    h('ol.history', {}, events.length ? events.map((e) => h('li', {}, `${fmtTime(e.fields.at)} ${e.fields.actor_label || ''} `,
      e.fields.kind === 'note' ? `${t('note')}：${e.fields.note}` : `${t(`event_${e.fields.kind}`)}${e.fields.to_status ? ' → ' + t(`status_${e.fields.to_status}`) : ''}${e.fields.note ? '：' + e.fields.note : ''}`,
      e.state === 'waiting' ? h('span.badge.st-waiting', {}, t('waiting')) : null)) : h('li', {}, t('none'))));
}

// ---------------------------------------------------------------- 台账
export function ledger(ctx, id) {
  const sites = [...ctx.sites].sort((a, b) => (a.fields.name || a.fields.address || '').localeCompare(b.fields.name || b.fields.address || ''));
  const chosen = id ? sites.find((s) => s.id === id) : null;
  if (chosen) {
    const f = chosen.fields;
    const stoves = h('input#stove-count', { type: 'number', min: 0, max: 1000, value: f.stove_count ?? 0, inputmode: 'numeric' });
    const status = h('select#site-status', {}, ['identified', 'rectified_gas', 'rectified_electric', 'rectified_clean_coal', 'cleared']
      .map((s) => h('option', { value: s, selected: s === f.status }, t(`site_${s}`))));
    const notes = h('textarea#site-notes', { rows: 2, value: f.notes || '' });
    return h('section', {}, h('a.back', { href: '#/ledger' }, `‹ ${t('back')}`),
      h('form.panel', { onsubmit: async (e) => {
        e.preventDefault();
        await ctx.put('sites', chosen.id, { stove_count: Math.max(0, parseInt(stoves.value || '0', 10) || 0), status: status.value,
          notes: notes.value.trim(), last_inspected_at: nowIso() });
        ctx.go('#/ledger');
      } }, h('h2', {}, `${t('inspection')}：${f.name || f.address}`), h('p.muted', {}, f.address),
      h('label', {}, t('stoves'), stoves), h('label', {}, t('site_status'), status), h('label', {}, t('notes'), notes),
      h('button.primary.big', { type: 'submit', id: 'save-inspection' }, t('inspect'))));
  }
  return h('section', {}, h('h2', {}, t('sites')), h('ul.cards', {}, sites.length ? sites.map((s) => h('li.card', { 'data-id': s.id },
    h('a.block', { href: `#/ledger/${s.id}` }, h('div.row', {}, h('strong', {}, s.fields.name || s.fields.address), stateBadge(s)),
      h('div', {}, `${t('stoves')} ${s.fields.stove_count ?? '—'} · ${t(`site_${s.fields.status || 'identified'}`)}`),
      h('div.muted', {}, `${t('last_inspected')} ${fmtTime(s.fields.last_inspected_at) || t('never')}`)), explainLine(s)))
    : h('li', {}, t('no_records'))));
}

// ---------------------------------------------------------------- 同步
export function syncScreen(ctx) {
  const err = ctx.meta.last_error;
  return h('section', {},
    h('div.panel', {},
      h('p', {}, `${t('pending_count')}：`, h('strong', { id: 'sync-pending' }, ctx.pending)),
      h('p', {}, `${t('last_sync')}：`, h('span', { id: 'last-sync' }, ctx.meta.last_sync_ok ? fmtTime(ctx.meta.last_sync_ok) : t('never'))),
      h('p', {}, navigator.onLine ? t('online') : t('offline'), ' · ', ctx.persisted ? t('persisted') : t('not_persisted')),
      err && err.message ? h('p.error', { id: 'sync-error' }, err.message === 'quota' ? t('quota') : `${t('sync_failed')}：${err.message}`) : null,
      h('button.primary.big', { id: 'sync-now', onclick: () => ctx.sync('manual') }, t('sync_now'))),
    h('h2', {}, t('results')),
    h('ul.cards', { id: 'results' }, ctx.log.length ? ctx.log.map((e) => h('li.card', {},
      h('div.row', {}, h('span', {}, `${t(`col_${e.collection}`)} ${e.id.slice(0, 8)}`), h(`span.badge.st-${e.status === 'rejected' ? 'refused' : 'merged'}`, {}, t(e.status === 'rejected' ? 'refused' : 'merged'))),
      h('p.explain', {}, explain(e)), h('div.muted', {}, fmtTime(e.at)))) : h('li', {}, t('none'))),
    h('div.panel', {}, h('p', {}, `${t('paired_as')}：${ctx.member.name}`),
      h('button.big', { id: 'sign-out', onclick: () => ctx.signOut() }, t('sign_out'))));
}

// ---------------------------------------------------------------- pairing
export function pair(ctx, code) {
  const input = h('input#pair-code', { type: 'text', value: code || '', autocomplete: 'off', autocapitalize: 'characters' });
  return h('form.panel', { onsubmit: async (e) => { e.preventDefault(); await ctx.pair(input.value); } },
    h('h2', {}, t('pair_title')), h('p', {}, t('pair_help')), h('label', {}, t('pair_code'), input),
    h('button.primary.big', { type: 'submit', id: 'pair-button' }, t('pair_button')));
}
