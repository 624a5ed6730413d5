// ticket.js - one ticket: the conversation (public replies and internal
// notes clearly apart), attachments (download, image preview), people,
// history; reply or note with files; claim, assign, status, priority,
// tags; the SLA (staff). Live: reloads when the event stream says it
// changed.
import * as api from '../api.js';
import { h, add, clear, pill, select, userLabel, fmtTime } from '../dom.js';
import { slaSection, REFRESH_MS } from '../sla.js';
import { staffList, groupList } from './tickets.js';

const STATUSES = ['new', 'open', 'pending', 'resolved', 'closed'];
const PRIORITIES = ['low', 'normal', 'high', 'urgent'];

const userCache = new Map();
function userById(id) {
  if (!id) return Promise.resolve(null);
  if (!userCache.has(id)) userCache.set(id, api.get('/users/' + id).catch(() => null));
  return userCache.get(id);
}

async function allPages(path) {
  let items = [], cursor = '';
  for (let i = 0; i < 20; i++) {
    const r = await api.get(path, { limit: 100, cursor });
    items = items.concat(r.items);
    if (!r.next_cursor) break;
    cursor = r.next_cursor;
  }
  return items;
}

function size(n) {
  return n < 1024 ? n + ' B' : n < 1048576 ? (n / 1024).toFixed(1) + ' KB' : (n / 1048576).toFixed(1) + ' MB';
}

function attachmentList(atts, ctx) {
  if (!atts || !atts.length) return null;
  const ul = h('ul', { class: 'atts', 'aria-label': 'Attachments' });
  for (const a of atts) {
    const li = h('li', {},
      h('button', { type: 'button', class: 'plain', onclick: () => api.download(a.id, a.name).catch((e) => ctx.flash(e.message)) },
        'Download ' + (a.name || 'attachment') + ' (' + size(a.size) + ')'));
    if (api.previewable(a)) {
      const img = h('img', { alt: 'Preview of ' + (a.name || 'an image'), loading: 'lazy' });
      api.imageURL(a.id).then((u) => { img.src = u; }).catch(() => img.remove());
      li.prepend(img);
    }
    ul.append(li);
  }
  return ul;
}

export async function ticketView(ctx, number) {
  const staff = ctx.isStaff;
  const me = ctx.user;
  let t = null;
  let msgs = [];
  let sel = -1;
  const title = h('h1', {});
  const meta = h('p', { class: 'hint' });
  const conv = h('ol', { class: 'conv', 'aria-label': 'Conversation' });
  const side = h('aside', { class: 'side', 'aria-label': 'Ticket' });
  const history = h('ol', { class: 'history' });
  const people = h('ul', { class: 'people' });
  let slaBox = null; // the side's SLA section while the ticket has one

  // The composer.
  const body = h('textarea', { id: 'reply-body', name: 'body', required: true, rows: 6 });
  const files = h('input', { type: 'file', id: 'reply-files', name: 'attachment', multiple: true });
  const internal = h('input', { type: 'checkbox', id: 'reply-internal', name: 'internal' });
  const bodyLabel = h('label', { for: 'reply-body' }, 'Reply to the customer');
  const setMode = (note) => {
    internal.checked = note;
    bodyLabel.firstChild.textContent = note ? 'Internal note (staff only)' : (staff ? 'Reply to the customer' : 'Your reply');
    composer.classList.toggle('internal', note);
    send.textContent = note ? 'Add note' : 'Send reply';
  };
  const send = h('button', { type: 'submit', id: 'reply-send' }, 'Send reply');
  const composer = h('form', { class: 'composer msg', onsubmit: async (e) => {
    e.preventDefault();
    if (!body.value.trim()) { body.focus(); return; }
    const fd = new FormData();
    fd.append('body', body.value);
    fd.append('internal', internal.checked ? 'true' : 'false');
    for (const f of files.files) fd.append('attachment', f, f.name);
    send.disabled = true;
    try {
      await api.call('POST', '/tickets/' + number + '/comments', { form: fd });
      body.value = '';
      files.value = '';
      ctx.flash(internal.checked ? 'Note added.' : 'Reply sent.', true);
      await load();
    } catch (err) { ctx.flash(err.fields() || err.message); }
    finally { send.disabled = false; }
  } },
  bodyLabel, body,
  h('div', { class: 'row' },
    h('label', { for: 'reply-files' }, 'Attach files', files),
    staff ? h('label', { for: 'reply-internal', class: 'row' }, internal, 'Internal note') : null,
    send),
  h('p', { class: 'hint' }, staff ? 'Keys: r reply, n note, a assign to me, j/k move.' : ''));
  internal.addEventListener('change', () => setMode(internal.checked));
  bodyLabel.append(body);

  add(ctx.view, [title, meta, h('div', { class: 'ticket' },
    h('section', { 'aria-label': 'Messages' }, conv, composer,
      h('details', {}, h('summary', {}, 'History'), history)),
    side)]);
  setMode(false);

  async function change(fn, okText) {
    try {
      await fn();
      if (okText) ctx.flash(okText, true);
    } catch (err) {
      ctx.flash(err.status === 412 ? 'Someone changed this ticket meanwhile; it is reloaded, try again.' : (err.fields() || err.message));
    }
    await load();
  }

  function renderSide() {
    clear(side);
    // First in the side: what the desk must answer by when.
    slaBox = slaSection(t.sla);
    if (slaBox) side.append(slaBox);
    if (staff) {
      const status = select('Status', 'status', STATUSES.map((s) => [s, s]), t.status,
        (e) => change(() => api.patch('/tickets/' + number, { status: e.target.value }, t.etag), 'Status changed.'));
      const prio = select('Priority', 'priority', PRIORITIES.map((s) => [s, s]), t.priority,
        (e) => change(() => api.patch('/tickets/' + number, { priority: e.target.value }, t.etag), 'Priority changed.'));
      const assign = select('Assignee', 'assignee', [['', 'nobody']], t.assignee_id || '',
        (e) => change(() => api.post('/tickets/' + number + '/assign', { assignee_id: e.target.value || null }), 'Assigned.'));
      staffList().then((list) => {
        const s = assign.querySelector('select');
        for (const u of list) s.append(h('option', { value: u.id }, u.name || u.email));
        s.value = t.assignee_id || '';
      });
      const tags = h('input', { id: 'tags', value: (t.tags || []).join(', ') });
      const tagForm = h('form', { onsubmit: (e) => {
        e.preventDefault();
        const list = tags.value.split(',').map((s) => s.trim()).filter(Boolean);
        change(() => api.patch('/tickets/' + number, { tags: list }, t.etag), 'Tags saved.');
      } }, h('label', { for: 'tags' }, 'Tags (comma separated)', tags), h('button', { type: 'submit', class: 'plain' }, 'Save tags'));
      const queue = h('input', { id: 'queue', value: t.queue || '' });
      const queueForm = h('form', { onsubmit: (e) => {
        e.preventDefault();
        change(() => api.patch('/tickets/' + number, { queue: queue.value.trim() }, t.etag), 'Queue changed.');
      } }, h('label', { for: 'queue' }, 'Queue', queue), h('button', { type: 'submit', class: 'plain' }, 'Move'));
      // Once groups exist a ticket moves only to one of them: a select.
      groupList().then((groups) => {
        if (!groups.length || !queueForm.isConnected) return;
        const opts = groups.map((g) => [g.key, g.name || g.key]);
        if (!groups.some((g) => g.key === (t.queue || ''))) opts.unshift([t.queue || '', (t.queue || '(none)') + ' - no group']);
        queueForm.replaceWith(select('Group', 'group', opts, t.queue || '',
          (e) => change(() => api.patch('/tickets/' + number, { queue: e.target.value }, t.etag), 'Moved to ' + e.target.value + '.')));
      });
      // Followers are the ticket's staff participants (POST/DELETE /followers/me).
      const following = (t.participant_ids || []).includes(me.id);
      const follow = h('button', { type: 'button', class: 'plain', id: 'follow', onclick: () => change(
        () => following ? api.del('/tickets/' + number + '/followers/me') : api.post('/tickets/' + number + '/followers/me'),
        following ? 'You no longer follow this ticket.' : 'You follow this ticket.') }, following ? 'Unfollow' : 'Follow');
      // Merge this duplicate into another ticket (POST /tickets/{n}/merge).
      const target = h('input', { id: 'merge-into', type: 'number', min: '1', inputmode: 'numeric' });
      const mergeForm = t.merged_into ? null : h('form', { onsubmit: (e) => {
        e.preventDefault();
        const into = parseInt(target.value, 10);
        if (into > 0 && into !== t.number)
          change(() => api.post('/tickets/' + number + '/merge', { into }), 'Merged into #' + into + '.');
      } }, h('label', { for: 'merge-into' }, 'Merge into ticket #', target), h('button', { type: 'submit', class: 'plain' }, 'Merge'));
      add(side, [
        t.assignee_id === me.id ? null : h('button', { type: 'button', id: 'claim', onclick: () => change(() => api.post('/tickets/' + number + '/claim'), 'It is yours.') }, 'Assign to me (a)'),
        status, prio, assign, tagForm,
        queueForm,
        follow,
        mergeForm,
      ]);
    } else {
      add(side, [h('p', {}, 'Status: ', pill(t.status)), h('p', {}, 'Priority: ', pill(t.priority))]);
      if (t.status !== 'closed') {
        side.append(h('button', { type: 'button', class: 'plain', onclick: () => change(() => api.patch('/tickets/' + number, { status: 'closed' }), 'Closed. Write again to reopen it.') }, 'Close this ticket'));
      }
    }
    add(side, [h('h2', {}, 'People'), people]);
  }

  async function authorName(id) {
    if (!id) return 'ticketd';
    if (id === me.id) return 'You';
    if (t.requester && t.requester.id === id) return userLabel(t.requester);
    if (!staff) return (t.assignee && t.assignee.id === id && t.assignee.name) || 'Support';
    return userLabel(await userById(id), id);
  }

  async function load() {
    t = await api.get('/tickets/' + number, { include: 'users' });
    const [comments, events] = await Promise.all([
      allPages('/tickets/' + number + '/comments'), allPages('/tickets/' + number + '/history')]);
    title.textContent = '#' + t.number + ' ' + (t.subject || '(no subject)');
    clear(meta);
    add(meta, [pill(t.status), ' ', pill(t.priority), ' opened ', fmtTime(t.created), ', updated ', fmtTime(t.updated),
      (t.tags || []).length ? ' · tags: ' + t.tags.join(', ') : '']);
    renderSide();
    // People: requester, assignee, everyone who wrote.
    clear(people);
    const seen = new Set();
    const person = async (id, role) => {
      if (!id || seen.has(id)) return;
      seen.add(id);
      people.append(h('li', {}, await authorName(id), role ? ' (' + role + ')' : ''));
    };
    if (t.merged_into) add(meta, [' · merged into ', h('a', { href: '#/tickets/' + t.merged_into }, '#' + t.merged_into)]);
    await person(t.requester_id, 'requester');
    await person(t.assignee_id, 'assignee');
    for (const id of t.participant_ids || []) await person(id, 'participant');
    for (const c of comments) await person(c.author_id, '');
    // The conversation, oldest first.
    clear(conv);
    msgs = [];
    for (const c of comments) {
      const li = h('li', { class: 'msg' + (c.internal ? ' internal' : ''), tabindex: '-1', 'data-id': c.id },
        h('div', { class: 'meta' },
          h('strong', {}, await authorName(c.author_id)),
          c.internal ? h('span', { class: 'pill pending' }, 'Internal note') : h('span', { class: 'pill' }, 'Public'),
          h('span', {}, 'via ' + c.source), h('time', { datetime: c.created }, fmtTime(c.created))),
        h('div', { class: 'body' }, c.body),
        attachmentList(c.attachments, ctx));
      conv.append(li);
      msgs.push(li);
    }
    clear(history);
    for (const e of events) {
      const what = e.kind === 'comment' ? (e.old === 'internal' ? 'added an internal note' : 'wrote a reply')
        : e.kind === 'created' ? 'opened the ticket'
        : e.kind === 'claim' ? 'took the ticket'
        : e.kind === 'queue' ? 'moved it to queue ' + (e.new || '(none)')
        : e.kind + ': ' + (e.old || '—') + ' → ' + (e.new || '—');
      history.append(h('li', {}, fmtTime(e.at), ' · ', await authorName(e.actor_id), ' ', what));
    }
  }
  await load();

  // Relative times age without any event ("in 1 min" becomes "overdue").
  const ticker = setInterval(() => {
    if (!side.isConnected) { clearInterval(ticker); return; } // left before route() knew this view
    if (!slaBox) return;
    const fresh = slaSection(t.sla);
    slaBox.replaceWith(fresh);
    slaBox = fresh;
  }, REFRESH_MS);
  let pending = 0;
  return {
    onEvent(ev) {
      if (ev.number !== number || (t && ev.version <= t.version)) return;
      clearTimeout(pending);
      pending = setTimeout(() => load().then(() => ctx.flash('Updated just now.', true)).catch(() => {}), 200);
    },
    onKey(key) {
      if (key === 'r') { setMode(false); body.focus(); return true; }
      if (key === 'n' && staff) { setMode(true); body.focus(); return true; }
      if (key === 'a' && staff) { change(() => api.post('/tickets/' + number + '/claim'), 'It is yours.'); return true; }
      if ((key === 'j' || key === 'k') && msgs.length) {
        sel = Math.max(0, Math.min(msgs.length - 1, sel + (key === 'j' ? 1 : -1)));
        msgs[sel].focus();
        return true;
      }
      return false;
    },
    unmount() { clearTimeout(pending); clearInterval(ticker); },
  };
}
