// The service worker (served at /app/sw.js; the server prepends VERSION and SHELL). It caches the
// versioned app shell so the app starts with no network, swaps the shell when a new version deploys, and
// runs the sync on Background Sync. It never touches IndexedDB's outbox: updates cannot drop records.
import { syncNow } from './static/sync.js';

const CACHE = `gp-shell-${VERSION}`;

self.addEventListener('install', (event) => {
  event.waitUntil((async () => {
    const cache = await caches.open(CACHE);
    await cache.addAll(SHELL.map((url) => new Request(url, { cache: 'no-cache' })));
    await self.skipWaiting();  // the shell is self-contained; the outbox stays in IndexedDB
  })());
});

self.addEventListener('activate', (event) => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) {
      if (name.startsWith('gp-shell-') && name !== CACHE) await caches.delete(name);
    }
    await self.clients.claim();
  })());
});

self.addEventListener('fetch', (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== 'GET' || url.origin !== self.location.origin) return;
  if (url.pathname.startsWith('/app/api/') || url.pathname.startsWith('/api/')) return;  // data: network only
  if (event.request.mode === 'navigate' && url.pathname.startsWith('/app')) {
    // any /app/… page (including /app/pair?code=…) is the shell: from the cache first, so the app starts at
    // once on a 2G link or none; a new version arrives through the worker update, not through this page
    event.respondWith((async () => {
      const cache = await caches.open(CACHE);
      const hit = await cache.match('/app/');
      if (hit) return hit;
      try { return await fetch(event.request); } catch { return Response.error(); }
    })());
    return;
  }
  if (url.pathname.startsWith('/app/')) {
    event.respondWith((async () => {
      const cache = await caches.open(CACHE);
      const hit = await cache.match(url.pathname);
      return hit || fetch(event.request);
    })());
  }
});

self.addEventListener('sync', (event) => {
  if (event.tag === 'gp-sync') event.waitUntil(syncNow('background'));
});

self.addEventListener('message', (event) => {
  if (event.data === 'sync') event.waitUntil(syncNow('message'));
});
