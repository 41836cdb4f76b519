// Entry point: routing (#/today …, one module per screen under screens/), the app context the screens use,
// sync triggers (start, online, Background Sync, a timer, 立即同步), storage persistence, and the service worker.
import * as localdb from './localdb.js';
import * as outbox from './outbox.js';
import * as replica from './replica.js';
import { syncNow, CHANNEL } from './sync.js';
import { h } from './ui.js';
import { t, setLang, getLang } from './i18n.js';
import { ledger } from './screens/ledger.js';
import { pair as pairScreen } from './screens/pair.js';
import { patrol } from './screens/patrol.js';
import { problem, problems } from './screens/problems.js';
import { report } from './screens/report.js';
import { syncScreen } from './screens/sync.js';
import { today } from './screens/today.js';

// The local store as one object: meta (localdb.js), queued edits (outbox.js), what screens show (replica.js).
// Tests and the field bench drive it as window.gridpatrol.store.
const store = { ...localdb, ...outbox, ...replica };

const TIMER_MS = 5 * 60 * 1000;
const main = document.getElementById('main');
const toastBox = document.getElementById('toast');
const TABS = ['today', 'patrol', 'report', 'problems', 'ledger', 'sync'];
// #/<route>/<arg> → the screen drawn and the tab lit; anything else is 今日.
const ROUTES = new Map([['today', [today, 'today']], ['patrol', [patrol, 'patrol']], ['report', [report, 'report']],
  ['problems', [problems, 'problems']], ['problem', [problem, 'problems']], ['ledger', [ledger, 'ledger']],
  ['sync', [syncScreen, 'sync']]]);
const COLLECTIONS = ['areas', 'members', 'categories', 'schedules', 'incidents', 'incident_events', 'patrols', 'sites'];
let persisted = false;
let rendering = Promise.resolve();

function toast(message, isError = false) {
  toastBox.textContent = message;
  toastBox.className = isError ? 'show error' : 'show';
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { toastBox.className = ''; }, isError ? 12000 : 3000);
}

function showStoreError(err) {
  if ((err instanceof localdb.StoreError && err.quota) || err?.name === 'QuotaExceededError') toast(t('quota'), true);
  else toast(`${t('sync_failed')}：${err.message || err}`, true);
}

const byId = (rows) => new Map(rows.map((r) => [String(r.id), r.fields]));

async function context() {
  const meta = await store.allMeta();
  const [areas, members, categories, schedules, incidents, events, patrols, sites] = await Promise.all(
    COLLECTIONS.map((c) => store.view(c)));
  const ctx = {
    meta, member: meta.member || { id: 0, name: '' }, settings: meta.settings || {}, persisted,
    areas: byId(areas), members: byId(members), categories: byId(categories), schedules: byId(schedules),
    incidents, events, patrols, sites, pending: await store.pendingCount(), log: await store.logEntries(),
    toast, go: (hash) => { if (location.hash === hash) render(); else location.hash = hash; },
    async put(collection, id, fields) {
      const recordId = id || store.newId();
      try {
        await store.enqueue(collection, recordId, 'put', fields);
      } catch (err) { showStoreError(err); throw err; }
      requestBackgroundSync();
      render();
      trigger('edit');
      return recordId;
    },
    async setRunning(id) { await store.setMeta('running_patrol', id); },
    sync: (reason) => trigger(reason, true),
    async act(id, action) {
      const response = await fetch(`/app/api/incidents/${id}/${action}`, { method: 'POST',
        headers: { Authorization: `Bearer ${meta.token}`, 'Content-Type': 'application/json' }, body: '{}' });
      if (!response.ok) {
        const body = await response.json().catch(() => ({}));
        toast(body.message || `HTTP ${response.status}`, true);
        return;
      }
      await trigger('action', true);
    },
    async signOut() {
      const n = await store.pendingCount();
      if (n && !window.confirm(t('sign_out_warn', { n }))) return;
      await store.signOut({ discardOutbox: false });
      location.hash = '#/pair';
      render();
    },
    pair,
  };
  const running = meta.running_patrol
    ? patrols.find((p) => p.id === meta.running_patrol && !p.fields.ended_at) : null;
  ctx.runningPatrol = running || null;
  return ctx;
}

async function pair(code) {
  try {
    const response = await fetch('/app/api/pair', { method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ code }) });  // the server names it "<member>的手机"
    const body = await response.json().catch(() => ({}));
    if (!response.ok) { toast(body.message || `HTTP ${response.status}`, true); return; }
    const settings = { sms_gateway_number: body.sms_gateway_number, sms_fallback_minutes: body.sms_fallback_minutes };
    const paired = { token: body.token, device_id: body.device_id, member: body.member, settings,
      settings_at: Date.now() };
    for (const [key, value] of Object.entries(paired)) await store.setMeta(key, value);
    if (body.member?.locale === 'en' && !(await store.getMeta('lang'))) setLang('en');
    history.replaceState(null, '', '/app/#/today');
    await trigger('paired');
    render();
  } catch (err) { toast(`${t('sync_failed')}：${err.message}`, true); }
}

let syncing = null;
async function trigger(reason, loud = false) {
  if (!(await store.getMeta('token'))) return;
  if (!navigator.onLine) { if (loud) toast(t('offline')); return; }
  if (syncing) return syncing;
  setStatus(t('syncing'));
  syncing = syncNow(reason).then((stats) => {
    if (stats?.resets) toast(t('reset_notice'));
    else if (loud) toast(t('sync_ok'));
  }).catch((err) => { if (loud || (err instanceof localdb.StoreError)) showStoreError(err); })
    .finally(() => { syncing = null; setStatus(''); render(); });
  return syncing;
}

function setStatus(text) { const el = document.getElementById('status'); if (el) el.textContent = text; }

async function requestBackgroundSync() {
  try {
    const registration = await navigator.serviceWorker?.ready;
    if (registration && 'sync' in registration) await registration.sync.register('gp-sync');
  } catch { /* Background Sync unavailable: the online event and the timer cover it */ }
}

function nav(active) {
  return h('nav.tabs', {}, TABS.map((key) => h(`a${key === active ? '.on' : ''}`, { href: `#/${key}`, 'data-tab': key },
    t(key))));
}

async function render() {
  rendering = rendering.then(renderNow).catch((err) => showStoreError(err));
  return rendering;
}

async function renderNow() {
  const ctx = await context();
  const hash = location.hash || '#/today';
  const [, route, arg] = hash.split('/');
  let view, active;
  if (!ctx.meta.token || location.pathname.endsWith('/pair')) {
    view = pairScreen(ctx, new URLSearchParams(location.search).get('code') || ''); active = '';
  } else {
    const [screen, tab] = ROUTES.get(route) || ROUTES.get('today');
    view = screen(ctx, arg); active = tab;
  }
  // keep what the user is typing if a background sync re-renders the same screen
  const el = document.activeElement;
  const typing = el && main.contains(el) && ['INPUT', 'TEXTAREA', 'SELECT'].includes(el.tagName)
    && el.type !== 'radio' && el.type !== 'checkbox';
  const screenKey = `${hash}|${ctx.meta.token ? 'in' : 'out'}`;
  if (typing && main.dataset.route === screenKey) { updateCounts(ctx); return; }
  document.getElementById('title').textContent = t('app');
  updateCounts(ctx);
  document.getElementById('lang').textContent = t('language');
  const moved = main.dataset.route !== screenKey;
  main.dataset.route = screenKey;
  main.replaceChildren(view);
  if (moved) window.scrollTo(0, 0);
  const tabs = document.getElementById('tabs');
  tabs.replaceChildren(ctx.meta.token ? nav(active) : '');
}

function updateCounts(ctx) {
  document.getElementById('pending-badge').textContent = ctx.pending ? `${t('pending')} ${ctx.pending}` : '';
}

async function start() {
  setLang((await store.getMeta('lang')) || 'zh');  // Chinese first, whatever the phone's language
  document.getElementById('lang').addEventListener('click', async () => {
    setLang(getLang() === 'zh' ? 'en' : 'zh');
    await store.setMeta('lang', getLang());
    main.dataset.route = '';
    render();
  });
  window.addEventListener('hashchange', () => { toastBox.className = ''; render(); });
  window.addEventListener('online', () => { render(); trigger('online'); });
  window.addEventListener('offline', render);
  try {
    new BroadcastChannel(CHANNEL).onmessage = (e) => { if (e.data.type !== 'sync-start') render(); };
  } catch { /* no BroadcastChannel: this tab re-renders after its own syncs only */ }
  setInterval(() => trigger('timer'), TIMER_MS);
  setInterval(render, 60000);  // the 短信发送 offer appears when the wait runs out
  if (navigator.storage?.persist) {
    try {
      persisted = (await navigator.storage.persisted()) || (await navigator.storage.persist());
    } catch { persisted = false; }
  }
  if ('serviceWorker' in navigator) {
    navigator.serviceWorker.register('/app/sw.js', { scope: '/app/', type: 'module' })
      .catch((err) => console.warn('service worker', err));
  }
  await render();
  trigger('start');
}

window.gridpatrol = { store, syncNow: (r) => trigger(r || 'test', true), render };  // for tests and the bench
start().catch(showStoreError);
