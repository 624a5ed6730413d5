// newticket.js - opening a ticket (customers for themselves; staff may
// open one for a customer by choosing the requester).
import * as api from '../api.js';
import { h, add, select } from '../dom.js';

export function newTicketView(ctx) {
  const subject = h('input', { id: 'new-subject', name: 'subject', required: true, maxlength: 200 });
  const body = h('textarea', { id: 'new-body', name: 'body', required: true, rows: 8 });
  const files = h('input', { type: 'file', id: 'new-files', multiple: true });
  const prio = select('Priority', 'priority', [['low', 'low'], ['normal', 'normal'], ['high', 'high'], ['urgent', 'urgent']], 'normal');
  const requester = h('input', { id: 'new-requester', type: 'email', placeholder: 'customer@example.org' });
  const form = h('form', { class: 'stack', onsubmit: async (e) => {
    e.preventDefault();
    try {
      const json = { subject: subject.value, body: body.value, priority: prio.querySelector('select').value };
      if (ctx.isStaff && requester.value.trim()) {
        // Staff open tickets for a customer by address.
        const found = await api.get('/users', { q: requester.value.trim(), role: 'customer' }).catch(() => ({ items: [] }));
        const u = found.items.find((x) => x.email.toLowerCase() === requester.value.trim().toLowerCase());
        if (!u) { ctx.flash('No customer with that address.'); return; }
        json.requester_id = u.id;
      }
      const t = await api.post('/tickets', json);
      if (files.files.length) {
        const fd = new FormData();
        fd.append('body', 'Attached files');
        for (const f of files.files) fd.append('attachment', f, f.name);
        await api.call('POST', '/tickets/' + t.number + '/comments', { form: fd });
      }
      ctx.go('#/tickets/' + t.number, 'Ticket #' + t.number + ' opened.', true);
    } catch (err) { ctx.flash(err.fields() || err.message); }
  } },
  h('label', { for: 'new-subject' }, 'Subject', subject),
  h('label', { for: 'new-body' }, 'What happened?', body),
  prio,
  ctx.user.role === 'admin' ? h('label', { for: 'new-requester' }, 'For customer (optional)', requester) : null,
  h('label', { for: 'new-files' }, 'Attach files', files),
  h('button', { type: 'submit' }, 'Open ticket'));
  add(ctx.view, [h('h1', {}, 'New ticket'), form]);
  subject.focus();
  return {};
}
