// tickets.js - the ticket lists: views with counts, filters, search,
// cursor pages, j/k selection, live refresh, the SLA cue (staff).
import * as api from '../api.js';
import { h, add, clear, pill, select, userLabel, fmtTime } from '../dom.js';
import { slaCue, REFRESH_MS } from '../sla.js';

const ACTIVE = 'new,open,pending';
// The agents' views: name, label, query.
const VIEWS = [
  ['mine', 'My tickets', { assignee: 'me', status: ACTIVE }],
  ['unassigned', 'Unassigned', { assignee: 'none', status: ACTIVE }],
  ['open', 'All open', { status: 'new,open' }],
  ['pending', 'Pending', { status: 'pending' }],
  ['recent', 'Recently updated', { sort: '-updated' }],
  ['all', 'All', {}],
];
const FILTERS = ['status', 'priority', 'tag', 'queue', 'assignee', 'q'];
const STATUSES = ['new', 'open', 'pending', 'resolved', 'closed'];
const PRIORITIES = ['low', 'normal', 'high', 'urgent'];

function viewQuery(name) {
  const v = VIEWS.find((x) => x[0] === name) || VIEWS[0];
  return Object.assign({}, v[2]);
}

let staffCache = null;
export async function staffList() {
  if (!staffCache) staffCache = api.get('/users', { limit: 100 }).then((r) => r.items).catch(() => []);
  return staffCache;
}

// The groups (queues) staff may move a ticket to; [] while there are none.
let groupCache = null;
export async function groupList() {
  if (!groupCache) groupCache = api.get('/groups').then((r) => r.items).catch(() => []);
  return groupCache;
}

export async function listView(ctx) {
  const q = ctx.query;
  const staff = ctx.isStaff;
  const viewName = staff ? (q.get('view') || 'mine') : 'mine';
  const filters = {};
  for (const f of FILTERS) if (q.get(f)) filters[f] = q.get(f);
  const cursor = q.get('cursor') || '';
  const query = Object.assign(staff ? viewQuery(viewName) : {}, filters,
    { include: 'users', limit: 25, cursor, count: 'true' });
  if (query.q) delete query.sort; // search results come in number order

  const hrefWith = (changes) => {
    const n = new URLSearchParams(q);
    for (const [k, v] of Object.entries(changes)) { if (v) n.set(k, v); else n.delete(k); }
    n.delete('cursor');
    if (changes.cursor) n.set('cursor', changes.cursor);
    return '#/tickets?' + n.toString();
  };

  add(ctx.view, h('h1', {}, staff ? (VIEWS.find((v) => v[0] === viewName) || VIEWS[0])[1] : 'My tickets'));
  if (staff) {
    const tabs = h('ul', { class: 'tabs', 'aria-label': 'Views' });
    for (const [name, label] of VIEWS) {
      const count = h('span', { class: 'count' });
      tabs.append(h('li', {}, h('a', { href: '#/tickets?view=' + name, 'aria-current': name === viewName ? 'page' : null }, label, ' ', count)));
      // Counts per view: one small request each, in the background.
      api.get('/tickets', Object.assign(viewQuery(name), { limit: 1, count: 'true' }))
        .then((r) => { count.textContent = '(' + r.total + (r.total_capped ? '+' : '') + ')'; }).catch(() => {});
    }
    ctx.view.append(tabs);
  }

  // Filters and search.
  const search = h('input', { type: 'search', id: 'search', name: 'q', value: filters.q || '', placeholder: 'Search (press /)' });
  const apply = (e) => {
    e && e.preventDefault();
    const f = new FormData(form);
    const changes = {};
    for (const k of FILTERS) changes[k] = (f.get(k) || '').toString().trim();
    ctx.go(hrefWith(changes));
  };
  const form = h('form', { class: 'filters', role: 'search', onsubmit: apply },
    h('label', { for: 'search' }, 'Search', search),
    select('Status', 'status', [['', 'any'], ...STATUSES.map((s) => [s, s]), [ACTIVE, 'active']], filters.status, apply),
    select('Priority', 'priority', [['', 'any'], ...PRIORITIES.map((s) => [s, s])], filters.priority, apply),
    h('label', {}, 'Tag', h('input', { name: 'tag', value: filters.tag || '', size: 8 })),
    staff ? h('label', {}, 'Queue', h('input', { name: 'queue', value: filters.queue || '', size: 8 })) : null,
    h('button', { type: 'submit' }, 'Filter'));
  if (staff) {
    const assignee = select('Assignee', 'assignee', [['', 'any'], ['me', 'me'], ['none', 'nobody']], filters.assignee, apply);
    form.insertBefore(assignee, form.lastChild);
    staffList().then((list) => {
      const s = assignee.querySelector('select');
      for (const u of list) s.append(h('option', { value: u.id }, u.name || u.email));
      s.value = filters.assignee || '';
    });
  }
  ctx.view.append(form);

  const summary = h('p', { class: 'count', id: 'list-summary' });
  const table = h('table', { class: 'list' });
  const pager = h('nav', { class: 'pager', 'aria-label': 'Pages' });
  add(ctx.view, [summary, table, pager]);
  let rows = [];
  let sel = -1;

  const select_ = (i) => {
    if (!rows.length) return;
    sel = Math.max(0, Math.min(rows.length - 1, i));
    rows.forEach((r, k) => r.tr.classList.toggle('sel', k === sel));
    rows[sel].tr.scrollIntoView({ block: 'nearest' });
    rows[sel].link.focus({ preventScroll: true });
  };

  async function load() {
    const res = await api.get('/tickets', query);
    clear(table);
    table.append(h('thead', {}, h('tr', {},
      h('th', { scope: 'col' }, '#'), h('th', { scope: 'col' }, 'Subject'), h('th', { scope: 'col' }, 'Status'),
      h('th', { scope: 'col', class: 'opt' }, 'Priority'), h('th', { scope: 'col', class: 'opt' }, staff ? 'Requester' : 'Agent'),
      staff ? h('th', { scope: 'col', class: 'opt' }, 'Assignee') : null, h('th', { scope: 'col', class: 'opt' }, 'Updated'))));
    const tbody = h('tbody');
    rows = res.items.map((t) => {
      const link = h('a', { href: '#/tickets/' + t.number }, t.subject || '(no subject)');
      // The SLA cue sits under the status: that column stays at 360 px.
      const cue = h('span', { class: 'cue' }, slaCue(t.sla));
      const tr = h('tr', { 'data-number': t.number },
        h('td', {}, String(t.number)), h('td', { class: 'subj' }, link),
        h('td', {}, pill(t.status), cue), h('td', { class: 'opt' }, pill(t.priority)),
        h('td', { class: 'opt' }, staff ? userLabel(t.requester, t.requester_id) : (t.assignee ? (t.assignee.name || 'Support') : '—')),
        staff ? h('td', { class: 'opt' }, t.assignee ? (t.assignee.name || t.assignee.email) : 'nobody') : null,
        h('td', { class: 'opt' }, fmtTime(t.updated)));
      tbody.append(tr);
      return { tr, link, number: t.number, cue, sla: t.sla };
    });
    table.append(tbody);
    summary.textContent = res.items.length
      ? res.total + (res.total_capped ? '+' : '') + ' ticket' + (res.total === 1 ? '' : 's')
      : 'No tickets here.';
    clear(pager);
    if (cursor) pager.append(h('a', { href: hrefWith({}) }, '« First page'));
    if (res.next_cursor) pager.append(h('a', { href: hrefWith({ cursor: res.next_cursor }), rel: 'next' }, 'Next page »'));
    if (sel >= 0) select_(sel);
  }
  await load();

  // "due in 2 min" turns into "overdue" without any event: redo the cues.
  const ticker = setInterval(() => {
    if (!table.isConnected) { clearInterval(ticker); return; } // left before route() knew this view
    for (const r of rows) r.cue.replaceChildren(...[slaCue(r.sla)].filter(Boolean));
  }, REFRESH_MS);
  let pending = 0;
  return {
    onEvent() {
      // Something changed: reload this page soon (changes come in bursts).
      clearTimeout(pending);
      pending = setTimeout(() => load().catch(() => {}), 300);
    },
    onKey(key) {
      if (key === 'j') { select_(sel + 1); return true; }
      if (key === 'k') { select_(sel - 1); return true; }
      if ((key === 'Enter' || key === 'o') && sel >= 0) { ctx.go('#/tickets/' + rows[sel].number); return true; }
      return false;
    },
    unmount() { clearTimeout(pending); clearInterval(ticker); },
  };
}
