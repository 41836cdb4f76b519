// 开始巡查 / 结束巡查 (#/patrol): start a patrol on one of my grids, or end the running one (problems found,
// 0 = 正常; optional checkpoints and notes); below, my last ten patrols with their sync state.
import { fmtTime, h, nowIso } from '../ui.js';
import { t } from '../i18n.js';
import { patrolText } from '../sms.js';
import { areaName, explainLine, gridPicker, itemsOr, smsFallback, stateBadge } from './parts.js';

function endForm(ctx, running) {
  const count = h('input#problem-count', { type: 'number', min: 0, max: 99, value: 0, inputmode: 'numeric' });
  const checkpoints = h('textarea#checkpoints', { rows: 3 });
  const notes = h('textarea#patrol-notes', { rows: 2 });
  const end = async (e) => {
    e.preventDefault();
    const n = Math.max(0, parseInt(count.value || '0', 10) || 0);
    const at = nowIso();
    const cps = checkpoints.value.split('\n').map((s) => s.trim()).filter(Boolean).map((name) => ({ name, at }));
    await ctx.put('patrols', running.id, { ended_at: at, outcome: n ? 'problems_found' : 'all_clear', problem_count: n,
      ...(cps.length ? { checkpoints: cps } : {}), ...(notes.value.trim() ? { notes: notes.value.trim() } : {}) });
    await ctx.setRunning(null);
    ctx.go('#/patrol');
  };
  const where = `${areaName(ctx, running.fields.area_id)} · ${t('started')} ${fmtTime(running.fields.started_at)}`;
  return h('form.panel', { onsubmit: end },
    h('p', {}, `${t('patrol_running')} · ${where}`),
    h('label', {}, `${t('problems_found')}（0 = ${t('all_clear')}）`, count),
    h('label', {}, t('checkpoints'), checkpoints), h('label', {}, t('notes'), notes),
    h('button.primary.big', { type: 'submit', id: 'end-patrol' }, t('end_patrol')));
}

function startForm(ctx) {
  const start = async (e) => {
    e.preventDefault();
    const area = e.target.querySelector('input[name=patrol-grid]:checked');
    if (!area) return ctx.toast(t('choose_grid'));
    const id = await ctx.put('patrols', null, { area_id: Number(area.value), started_at: nowIso() });
    await ctx.setRunning(id);
    ctx.go('#/patrol');
  };
  return h('form.panel', { onsubmit: start }, gridPicker(ctx, 'patrol-grid'),
    h('button.primary.big', { type: 'submit', id: 'start-patrol' }, t('start_patrol')));
}

function patrolItem(ctx, p) {
  const f = p.fields;
  const when = `${fmtTime(f.started_at)}${f.ended_at ? ' – ' + fmtTime(f.ended_at).slice(11) : ''} · `;
  const outcome = f.problem_count ? `${t('problems_found')} ${f.problem_count}` : t('all_clear');
  const gridCode = ctx.areas.get(String(f.area_id))?.code || '';
  return h('li.card', { 'data-id': p.id },
    h('div.row', {}, h('strong', {}, areaName(ctx, f.area_id)), stateBadge(p)),
    h('div', {}, when, f.ended_at ? outcome : t('patrol_running')),
    explainLine(p),
    f.ended_at ? smsFallback(ctx, p, patrolText({ id: p.id, ...f }, gridCode)) : null);
}

export function patrol(ctx) {
  const running = ctx.runningPatrol;
  const recent = ctx.patrols.filter((p) => String(p.fields.member_id ?? ctx.member.id) === String(ctx.member.id))
    .sort((a, b) => (b.fields.started_at || '').localeCompare(a.fields.started_at || '')).slice(0, 10);
  return h('section', {}, running ? endForm(ctx, running) : startForm(ctx), h('h2', {}, t('patrol')),
    h('ul.cards', {}, itemsOr(recent.map((p) => patrolItem(ctx, p)), 'no_records')));
}
