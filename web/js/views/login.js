// login.js - signing in, and claiming an account from the mailed link
// (#/claim/TOKEN: the token stays in the fragment, never sent to the
// server in a URL; it goes in the POST body).
import * as api from '../api.js';
import { h, add } from '../dom.js';

export function loginView(ctx) {
  const email = h('input', { type: 'email', name: 'email', id: 'email', autocomplete: 'username', required: true });
  const pw = h('input', { type: 'password', name: 'password', id: 'password', autocomplete: 'current-password', required: true });
  const form = h('form', { class: 'stack', onsubmit: async (e) => {
    e.preventDefault();
    try {
      await api.login(email.value, pw.value);
    } catch (err) {
      ctx.flash(err.status === 401 ? 'Wrong email or password.' : err.message);
      pw.select();
    }
  } },
  h('label', { for: 'email' }, 'Email', email),
  h('label', { for: 'password' }, 'Password', pw),
  h('button', { type: 'submit' }, 'Sign in'));
  add(ctx.view, [
    h('h1', {}, 'Sign in'),
    form,
    h('p', { class: 'hint' }, 'Wrote to support by e-mail and have no password yet? ',
      h('a', { href: '#/claim' }, 'Get web access')),
  ]);
  email.focus();
  return {};
}

export function claimView(ctx, token) {
  if (!token) {
    // Step 1: ask for a claim mail.
    const email = h('input', { type: 'email', id: 'claim-email', required: true, autocomplete: 'email' });
    const form = h('form', { class: 'stack', onsubmit: async (e) => {
      e.preventDefault();
      try {
        await api.post('/auth/claim', { email: email.value });
        ctx.flash('If this address has an account without a password, a mail with a link is on its way.', true);
      } catch (err) { ctx.flash(err.message); }
    } }, h('label', { for: 'claim-email' }, 'Your e-mail address', email), h('button', { type: 'submit' }, 'Send me a link'));
    add(ctx.view, [h('h1', {}, 'Get web access'), form]);
    return {};
  }
  // Step 2: the link from the mail - choose a password.
  const pw = h('input', { type: 'password', id: 'new-password', autocomplete: 'new-password', required: true, minlength: 10 });
  const form = h('form', { class: 'stack', onsubmit: async (e) => {
    e.preventDefault();
    try {
      const t = await api.post('/auth/claim/confirm', { token, password: pw.value });
      // The confirm answer carries a refresh token for API clients; the
      // console keeps its session in the cookie instead, so it signs in
      // with the new password and revokes that token at once.
      await api.login(t.user.email, pw.value);
      await api.post('/auth/logout', { refresh_token: t.refresh_token }).catch(() => {});
      history.replaceState(null, '', '#/tickets');
      ctx.go('#/tickets', 'Your password is set. Welcome!', true);
    } catch (err) {
      ctx.flash(err.status === 410 ? 'This link was used already or has expired. Ask for a new one.' : (err.fields() || err.message));
    }
  } }, h('label', { for: 'new-password' }, 'Choose a password (at least 10 characters)', pw),
  h('button', { type: 'submit' }, 'Set password and sign in'));
  add(ctx.view, [h('h1', {}, 'Choose your password'), form]);
  pw.focus();
  return {};
}
