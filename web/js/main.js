// main.js - start-up, navigation, the hash router, keyboard and live
// updates. Routes are fragments (#/tickets/7) so "/" is the only page
// the server has to know, and nothing in a route reaches the server.
import * as api from './api.js';
import { h, clear, add } from './dom.js';
import { loginView, claimView } from './views/login.js';
import { listView } from './views/tickets.js';
import { ticketView } from './views/ticket.js';
import { newTicketView } from './views/newticket.js';
import { usersView, quarantineView } from './views/admin.js';

const view = document.getElementById('view');
const nav = document.getElementById('nav');
const who = document.getElementById('who');
const statusEl = document.getElementById('status');
let current = null;     // the mounted view: {onEvent?, onKey?, unmount?}
let stopStream = null;
let liveText = '';

export function flash(text, ok) {
  statusEl.className = 'status' + (ok ? ' ok' : '');
  statusEl.textContent = text || '';
  if (text && ok) setTimeout(() => { if (statusEl.textContent === text) statusEl.textContent = ''; }, 4000);
}

// Navigates; msg (if any) is shown once the new view is there.
let nextFlash = null;
export function go(hash, msg, ok) {
  nextFlash = msg ? [msg, ok] : null;
  if (location.hash === hash) route();
  else location.hash = hash;
}

function parseHash() {
  const raw = location.hash.replace(/^#/, '') || '/';
  const [path, qs] = raw.split('?');
  return { parts: path.split('/').filter(Boolean), query: new URLSearchParams(qs || '') };
}

function isStaff(u) { return u && (u.role === 'agent' || u.role === 'admin'); }

function renderChrome(u) {
  clear(nav);
  clear(who);
  if (!u) return;
  const here = location.hash || '#/';
  const link = (href, text) => h('a', { href, 'aria-current': here.startsWith(href) ? 'page' : null }, text);
  if (isStaff(u)) {
    add(nav, [link('#/tickets', 'Tickets'), link('#/new', 'New ticket')]);
    if (u.role === 'admin') add(nav, [link('#/admin/users', 'Users'), link('#/admin/quarantine', 'Quarantine')]);
  } else {
    add(nav, [link('#/tickets', 'My tickets'), link('#/new', 'New ticket')]);
  }
  add(who, [
    h('span', { id: 'live', class: 'hint', title: 'live updates' }, liveText),
    h('span', {}, u.name || u.email),
    h('button', { class: 'plain', type: 'button', id: 'signout', onclick: async () => { await api.logout(); go('#/login'); } }, 'Sign out'),
  ]);
}

async function route() {
  const { parts, query } = parseHash();
  if (current && current.unmount) current.unmount();
  current = null;
  flash(...(nextFlash || ['']));
  nextFlash = null;
  const u = api.currentUser();
  renderChrome(u);
  clear(view);
  const ctx = { view, query, user: u, flash, go, isStaff: isStaff(u) };
  try {
    if (parts[0] === 'claim') { current = claimView(ctx, parts[1] || ''); return; }
    if (!u) { current = loginView(ctx); return; }
    if (parts.length === 0 || parts[0] === 'login') { go('#/tickets'); return; }
    if (parts[0] === 'tickets' && parts[1]) current = await ticketView(ctx, parseInt(parts[1], 10));
    else if (parts[0] === 'tickets') current = await listView(ctx);
    else if (parts[0] === 'new') current = newTicketView(ctx);
    else if (parts[0] === 'admin' && parts[1] === 'users') current = await usersView(ctx);
    else if (parts[0] === 'admin' && parts[1] === 'quarantine') current = await quarantineView(ctx, parts[2]);
    else add(view, [h('h1', {}, 'Not found'), h('p', {}, h('a', { href: '#/tickets' }, 'Back to the tickets'))]);
  } catch (e) {
    flash(e.message);
  }
  const title = view.querySelector('h1');
  document.title = (title ? title.textContent + ' · ' : '') + 'ticketd';
}

function startLive(u) {
  if (stopStream) { stopStream(); stopStream = null; }
  if (!u) return;
  stopStream = api.stream(
    (ev) => { if (current && current.onEvent) current.onEvent(ev); },
    (up) => {
      liveText = up ? '● live' : '○ offline';
      const el = document.getElementById('live');
      if (el) el.textContent = liveText;
    },
  );
}

// Keyboard: j/k move, Enter open, r reply, n note, a assign to me, /
// search - not while typing in a field.
document.addEventListener('keydown', (e) => {
  if (e.ctrlKey || e.metaKey || e.altKey) return;
  const t = e.target;
  if (t && (t.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(t.tagName))) {
    if (e.key === 'Escape') t.blur();
    return;
  }
  if (e.key === '/') {
    const s = document.getElementById('search');
    if (s) { e.preventDefault(); s.focus(); }
    return;
  }
  if (current && current.onKey && current.onKey(e.key)) e.preventDefault();
});

let lastUser;
api.onSession((u) => {
  const changed = (u && u.id) !== (lastUser && lastUser.id);
  lastUser = u;
  if (changed) { startLive(u); route(); }
});
window.addEventListener('hashchange', route);

// A reload keeps the session: the cookie gives a new access token.
(async () => {
  const ok = location.hash.startsWith('#/claim/') ? false : await api.refresh();
  if (!ok) route();
})();
