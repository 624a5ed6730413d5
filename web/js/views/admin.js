// admin.js - admins: users (paged, searchable; add, change role,
// disable) and the mail quarantine (list, show, retry, delete).
import * as api from '../api.js';
import { h, add, clear, fmtTime, select } from '../dom.js';

const ROLES = [['customer', 'customer'], ['agent', 'agent'], ['admin', 'admin']];

export async function usersView(ctx) {
  const q = ctx.query.get('q') || '';
  const cursor = ctx.query.get('cursor') || '';
  const search = h('input', { type: 'search', id: 'search', value: q, placeholder: 'Search users (press /)' });
  const table = h('table', { class: 'list' });
  const pager = h('nav', { class: 'pager', 'aria-label': 'Pages' });
  const summary = h('p', { class: 'count' });
  const email = h('input', { type: 'email', id: 'add-email', required: true });
  const name = h('input', { id: 'add-name' });
  const pw = h('input', { type: 'password', id: 'add-password', autocomplete: 'new-password', minlength: 10 });
  const role = select('Role', 'role', ROLES, 'agent');
  add(ctx.view, [
    h('h1', {}, 'Users'),
    h('form', { class: 'filters', role: 'search', onsubmit: (e) => { e.preventDefault(); ctx.go('#/admin/users?q=' + encodeURIComponent(search.value.trim())); } },
      h('label', { for: 'search' }, 'Search', search), h('button', { type: 'submit' }, 'Search')),
    summary, table, pager,
    h('h2', {}, 'Add a user'),
    h('form', { class: 'filters', onsubmit: async (e) => {
      e.preventDefault();
      try {
        const json = { email: email.value, name: name.value, role: role.querySelector('select').value };
        if (pw.value) json.password = pw.value;
        await api.post('/users', json);
        ctx.flash('User added.', true);
        email.value = name.value = pw.value = '';
        await load();
      } catch (err) { ctx.flash(err.fields() || err.message); }
    } },
    h('label', { for: 'add-email' }, 'Email', email), h('label', { for: 'add-name' }, 'Name', name),
    h('label', { for: 'add-password' }, 'Password (optional)', pw), role, h('button', { type: 'submit' }, 'Add')),
  ]);

  async function load() {
    const r = await api.get('/users', { q, cursor, limit: 25 });
    summary.textContent = r.total + ' user' + (r.total === 1 ? '' : 's');
    clear(table);
    table.append(h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'User'), h('th', { scope: 'col' }, 'Role'),
      h('th', { scope: 'col' }, 'State'), h('th', { scope: 'col', class: 'opt' }, 'Since'))));
    const tbody = h('tbody');
    for (const u of r.items) {
      const roleSel = select('Role of ' + u.email, 'role', ROLES, u.role, async (e) => {
        try { await api.patch('/users/' + u.id, { role: e.target.value }); ctx.flash('Role changed.', true); }
        catch (err) { ctx.flash(err.message); }
        await load();
      });
      roleSel.firstChild.textContent = '';
      roleSel.querySelector('select').setAttribute('aria-label', 'Role of ' + u.email);
      const toggle = h('button', { type: 'button', class: 'plain', onclick: async () => {
        try { await api.patch('/users/' + u.id, { disabled: !u.disabled }); ctx.flash(u.disabled ? 'Enabled.' : 'Disabled.', true); }
        catch (err) { ctx.flash(err.message); }
        await load();
      } }, u.disabled ? 'Enable' : 'Disable');
      tbody.append(h('tr', {},
        h('td', { class: 'subj' }, (u.name ? u.name + ' ' : ''), h('span', { class: 'hint' }, '<' + u.email + '>')),
        h('td', {}, roleSel),
        h('td', {}, u.disabled ? 'disabled ' : (u.has_password ? 'active ' : 'mail only '), toggle),
        h('td', { class: 'opt' }, fmtTime(u.created))));
    }
    table.append(tbody);
    clear(pager);
    if (cursor) pager.append(h('a', { href: '#/admin/users?q=' + encodeURIComponent(q) }, '« First page'));
    if (r.next_cursor) pager.append(h('a', { href: '#/admin/users?q=' + encodeURIComponent(q) + '&cursor=' + encodeURIComponent(r.next_cursor) }, 'Next page »'));
  }
  await load();
  return {};
}

export async function quarantineView(ctx, id) {
  if (id) return quarantineEntry(ctx, id);
  const table = h('table', { class: 'list' });
  add(ctx.view, [h('h1', {}, 'Quarantine'), h('p', { class: 'hint' }, 'Mail the gateway kept back, newest first.'), table]);
  const r = await api.get('/quarantine', { limit: 100 });
  if (!r.items.length) { table.replaceWith(h('p', {}, 'The quarantine is empty.')); return {}; }
  table.append(h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Mail'), h('th', { scope: 'col' }, 'Reason'),
    h('th', { scope: 'col', class: 'opt' }, 'When'))));
  const tbody = h('tbody');
  for (const q of r.items) {
    tbody.append(h('tr', {},
      h('td', { class: 'subj' }, h('a', { href: '#/admin/quarantine/' + q.id }, q.subject || '(no subject)'), h('br'),
        h('span', { class: 'hint' }, q.sender || '(no sender)')),
      h('td', { class: 'subj' }, q.reason || ''),
      h('td', { class: 'opt' }, fmtTime(q.updated), ' ×' + q.attempts)));
  }
  table.append(tbody);
  return {};
}

async function quarantineEntry(ctx, id) {
  const q = await api.get('/quarantine/' + encodeURIComponent(id));
  const retry = async () => {
    try {
      const o = await api.post('/quarantine/' + encodeURIComponent(id) + '/retry');
      if (o.result === 'ticket' || o.result === 'comment' || o.result === 'duplicate') {
        ctx.go('#/admin/quarantine', 'Ingested' + (o.ticket ? ' into ticket #' + o.ticket : '') + '.', true);
      } else {
        ctx.flash((o.result === 'quarantined' ? 'Still quarantined: ' : 'Not now: ') + o.why);
      }
    } catch (err) { ctx.flash(err.message); }
  };
  const remove = async () => {
    if (!confirm('Delete this mail for good?')) return;
    try { await api.del('/quarantine/' + encodeURIComponent(id)); ctx.go('#/admin/quarantine', 'Deleted.', true); }
    catch (err) { ctx.flash(err.message); }
  };
  const download = async () => {
    try {
      const res = await api.call('GET', '/quarantine/' + encodeURIComponent(id) + '/raw', { raw: true });
      const url = URL.createObjectURL(await res.blob());
      const a = h('a', { href: url, download: 'quarantine-' + id + '.eml' });
      document.body.append(a); a.click(); a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10000);
    } catch (err) { ctx.flash(err.message); }
  };
  add(ctx.view, [
    h('h1', {}, q.subject || '(no subject)'),
    h('dl', {},
      h('dt', {}, 'From'), h('dd', {}, q.sender || '(none)'),
      h('dt', {}, 'Reason'), h('dd', {}, q.reason || ''),
      h('dt', {}, 'Mailbox'), h('dd', {}, q.mailbox || '—'),
      h('dt', {}, 'Received'), h('dd', {}, fmtTime(q.created), ' (', String(q.attempts), ' attempt', q.attempts === 1 ? '' : 's', ')')),
    h('div', { class: 'row' },
      h('button', { type: 'button', id: 'retry', onclick: retry }, 'Retry'),
      h('button', { type: 'button', class: 'plain', onclick: download }, 'Download .eml'),
      h('button', { type: 'button', class: 'plain', id: 'delete', onclick: remove }, 'Delete')),
    h('h2', {}, 'The mail', q.head_truncated ? ' (beginning)' : ''),
    h('pre', { class: 'body msg' }, q.head || ''),
  ]);
  return {};
}
