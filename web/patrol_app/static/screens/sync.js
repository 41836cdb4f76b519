// 同步 (#/sync): records waiting, the last successful sync, online and storage state, the last error (a full
// phone in red), 立即同步; the merged and refused records in plain words; who is signed in, and 退出登录.
import { fmtTime, h } from '../ui.js';
import { t, explain } from '../i18n.js';
import { itemsOr } from './parts.js';

function resultItem(e) {
  const refused = e.status === 'rejected';
  return h('li.card', {},
    h('div.row', {}, h('span', {}, `${t(`col_${e.collection}`)} ${e.id.slice(0, 8)}`),
      h(`span.badge.st-${refused ? 'refused' : 'merged'}`, {}, t(refused ? 'refused' : 'merged'))),
    h('p.explain', {}, explain(e)), h('div.muted', {}, fmtTime(e.at)));
}

function errorLine(err) {
  if (!err || !err.message) return null;
  const text = err.message === 'quota' ? t('quota') : `${t('sync_failed')}：${err.message}`;
  return h('p.error', { id: 'sync-error' }, text);
}

export function syncScreen(ctx) {
  const lastSync = ctx.meta.last_sync_ok ? fmtTime(ctx.meta.last_sync_ok) : t('never');
  return h('section', {},
    h('div.panel', {},
      h('p', {}, `${t('pending_count')}：`, h('strong', { id: 'sync-pending' }, ctx.pending)),
      h('p', {}, `${t('last_sync')}：`, h('span', { id: 'last-sync' }, lastSync)),
      h('p', {}, navigator.onLine ? t('online') : t('offline'), ' · ',
        ctx.persisted ? t('persisted') : t('not_persisted')),
      errorLine(ctx.meta.last_error),
      h('button.primary.big', { id: 'sync-now', onclick: () => ctx.sync('manual') }, t('sync_now'))),
    h('h2', {}, t('results')),
    h('ul.cards', { id: 'results' }, itemsOr(ctx.log.map(resultItem), 'none')),
    h('div.panel', {}, h('p', {}, `${t('paired_as')}：${ctx.member.name}`),
      h('button.big', { id: 'sign-out', onclick: () => ctx.signOut() }, t('sign_out'))));
}
