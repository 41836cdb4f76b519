// 今日 (#/today): my grids with the current or next patrol window and whether it is done, overdue and 挂牌督办
// problems, and the count of records waiting to sync.
import { fmtTime, h, localDate } from '../ui.js';
import { t } from '../i18n.js';
import { OPEN, gridsOf, isOverdue, itemsOr, problemItem } from './parts.js';

const DEFAULT_WINDOWS = [{ start: '08:00', end: '12:00' }, { start: '14:00', end: '18:00' }];

// The phone's own copy of the patrol calendar: the windows of the nearest schedule on the grid or an ancestor
// (the path lists them: "/1/2/3/5/"; ancestors' schedules are pulled even when the ancestor areas themselves
// are outside the device's scope). When the server sends each grid's windows, gridDay() reads those instead.
function windowsFor(ctx, grid) {
  const chain = (grid.path || '').split('/').filter(Boolean).reverse();
  const schedules = [...ctx.schedules.values()];
  for (const areaId of chain) {
    const schedule = schedules.find((s) => String(s.area_id) === areaId);
    if (schedule) return schedule.windows || [];
  }
  return DEFAULT_WINDOWS;
}

// A patrol of the grid started today inside the window (local time, as the windows are written).
function patrolledIn(ctx, grid, win, now) {
  const day = localDate(now);
  return ctx.patrols.some((p) => {
    const started = p.fields.started_at;
    if (String(p.fields.area_id) !== String(grid.id) || !started || localDate(new Date(started)) !== day) return false;
    const at = fmtTime(started).slice(11);
    return at >= win.start && at < win.end;
  });
}

// One grid's day: {window: the current or else the next window (null when none is left), current, done}.
export function gridDay(ctx, grid, now = new Date()) {
  const hhmm = `${String(now.getHours()).padStart(2, '0')}:${String(now.getMinutes()).padStart(2, '0')}`;
  const windows = windowsFor(ctx, grid);
  const current = windows.find((w) => w.start <= hhmm && hhmm < w.end);
  const win = current || windows.find((w) => w.start > hhmm) || null;
  return { window: win, current: Boolean(current), done: Boolean(win && patrolledIn(ctx, grid, win, now)) };
}

function gridRow(ctx, grid, now) {
  const { window: win, current, done } = gridDay(ctx, grid, now);
  return h('li.card', {}, h('strong', {}, `${grid.name} ${grid.code}`),
    h('div', {}, win ? `${current ? t('window_now') : t('window_next')} ${win.start}–${win.end} · ` : t('window_none'),
      win ? h(`span.${done ? 'ok' : 'warn'}`, {}, done ? t('done') : t('not_done')) : null));
}

export function today(ctx) {
  const grids = gridsOf(ctx);
  const now = new Date();
  const gridIds = new Set(grids.map((g) => String(g.id)));
  const mine = (f) => gridIds.has(String(f.area_id)) || gridIds.has(String(f.responsible_area_id));
  const hot = ctx.incidents.filter((r) => mine(r.fields) && OPEN.has(r.fields.status || 'open')
    && (r.fields.flagged || isOverdue(r.fields)));
  return h('section', {},
    h('div.actions', {},
      h('a.button.primary', { href: '#/patrol' }, ctx.runningPatrol ? t('end_patrol') : t('start_patrol')),
      h('a.button.primary', { href: '#/report' }, t('report_problem'))),
    h('p.pending', {}, `${t('pending_count')}：`, h('strong', { id: 'pending-count' }, ctx.pending)),
    h('h2', {}, t('my_grids')), h('ul.cards', {}, itemsOr(grids.map((g) => gridRow(ctx, g, now)), 'none')),
    h('h2', {}, t('overdue_flagged')),
    h('ul.cards', {}, itemsOr(hot.map((r) => problemItem(ctx, r)), 'none')));
}
