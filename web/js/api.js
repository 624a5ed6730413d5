// api.js - the session and every call to the REST API. The only file
// that touches tokens (web/README.md, api/README-api.md):
//  - the access token lives in `access` below, in memory only, and goes
//    out only in the Authorization header;
//  - the refresh token is an HttpOnly cookie the server sets on
//    /api/v1/auth/cookie/*; this script never sees it.

const BASE = '/api/v1';
let access = null;
let user = null;
let refreshTimer = 0;
const sessionListeners = new Set();

export class ApiError extends Error {
  constructor(status, problem) {
    super((problem && (problem.detail || problem.title)) || 'HTTP ' + status);
    this.status = status;
    this.problem = problem || {};
  }
  fields() {
    return (this.problem.errors || []).map((e) => e.field + ': ' + e.message).join('; ');
  }
}

export function currentUser() { return user; }
export function onSession(fn) { sessionListeners.add(fn); }
function setSession(tokens) {
  access = tokens ? tokens.access_token : null;
  user = tokens ? tokens.user : null;
  clearTimeout(refreshTimer);
  if (tokens) {
    // Refresh a minute before the access token expires.
    const ms = Math.max(10, (tokens.expires_in || 900) - 60) * 1000;
    refreshTimer = setTimeout(() => refresh().catch(() => setSession(null)), ms);
  }
  for (const fn of sessionListeners) fn(user);
}

async function problemOf(res) {
  try { return await res.json(); } catch { return null; }
}

async function cookieCall(what, body) {
  const res = await fetch(BASE + '/auth/cookie/' + what, {
    method: 'POST',
    credentials: 'same-origin',
    headers: { 'Content-Type': 'application/json', 'X-Ticketd-Csrf': '1' },
    body: JSON.stringify(body || {}),
  });
  if (res.status === 204) return null;
  if (!res.ok) throw new ApiError(res.status, await problemOf(res));
  return res.json();
}

export async function login(email, password) {
  setSession(await cookieCall('login', { email, password }));
  return user;
}

// At start-up and before the access token expires: a new access token
// from the cookie. False (and signed out) when there is no session.
let refreshing = null;
export function refresh() {
  if (!refreshing) {
    refreshing = cookieCall('refresh')
      .then((t) => { setSession(t); return true; })
      .catch(() => { setSession(null); return false; })
      .finally(() => { refreshing = null; });
  }
  return refreshing;
}

export async function logout() {
  try { await cookieCall('logout'); } finally { setSession(null); }
}

// One API call. opts: {json, form (FormData), headers, query}. Retries
// once after a refresh when the access token has expired.
export async function call(method, path, opts = {}) {
  let url = BASE + path;
  if (opts.query) {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(opts.query)) if (v !== '' && v !== null && v !== undefined) q.set(k, v);
    const s = q.toString();
    if (s) url += (url.includes('?') ? '&' : '?') + s;
  }
  for (let attempt = 0; ; attempt++) {
    const headers = Object.assign({}, opts.headers || {});
    if (access) headers.Authorization = 'Bearer ' + access;
    let body;
    if (opts.json !== undefined) { headers['Content-Type'] = 'application/json'; body = JSON.stringify(opts.json); }
    else if (opts.form) body = opts.form;
    const res = await fetch(url, { method, headers, body, credentials: 'omit', signal: opts.signal });
    if (res.status === 401 && attempt === 0 && access && (await refresh())) continue;
    if (!res.ok) {
      if (res.status === 401) setSession(null);
      throw new ApiError(res.status, await problemOf(res));
    }
    if (opts.raw) return res;
    if (res.status === 204) return null;
    const data = await res.json();
    const etag = res.headers.get('ETag');
    if (etag && data && typeof data === 'object') Object.defineProperty(data, 'etag', { value: etag });
    return data;
  }
}

export const get = (p, query) => call('GET', p, { query });
export const post = (p, json) => call('POST', p, { json: json ?? {} });
export const patch = (p, json, etag) => call('PATCH', p, { json, headers: etag ? { 'If-Match': etag } : {} });
export const del = (p) => call('DELETE', p);

// Attachments: fetched with the token, handed to the browser as a file
// (never opened from our origin).
export async function download(id, name) {
  const res = await call('GET', '/attachments/' + encodeURIComponent(id), { raw: true });
  const url = URL.createObjectURL(await res.blob());
  const a = document.createElement('a');
  a.href = url;
  a.download = name || 'attachment';
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

const PREVIEW_TYPES = ['image/png', 'image/jpeg', 'image/gif', 'image/webp'];
export function previewable(att) { return PREVIEW_TYPES.includes((att.content_type || '').toLowerCase()); }
// A blob: URL of an image attachment for an <img> (which runs no script).
export async function imageURL(id) {
  const res = await call('GET', '/attachments/' + encodeURIComponent(id), { raw: true });
  const blob = await res.blob();
  if (!PREVIEW_TYPES.includes(blob.type.split(';')[0].toLowerCase())) throw new Error('not an image');
  return URL.createObjectURL(blob);
}

// The event stream (GET /events) read with fetch, since EventSource
// cannot send the Authorization header. Calls onEvent({number, version,
// status, updated}) for each change; reconnects with Last-Event-ID.
export function stream(onEvent, onState) {
  let stopped = false;
  let lastId = null;
  let ctl = null;
  async function run() {
    while (!stopped) {
      ctl = new AbortController();
      try {
        const headers = { Accept: 'text/event-stream' };
        if (lastId) headers['Last-Event-ID'] = lastId;
        const res = await call('GET', '/events', { raw: true, headers, signal: ctl.signal });
        onState && onState(true);
        const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
        let buf = '';
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buf += value;
          let cut;
          while ((cut = buf.indexOf('\n\n')) >= 0) {
            const block = buf.slice(0, cut);
            buf = buf.slice(cut + 2);
            let id = null, data = null, type = 'message';
            for (const line of block.split('\n')) {
              if (line.startsWith('id: ')) id = line.slice(4);
              else if (line.startsWith('data: ')) data = line.slice(6);
              else if (line.startsWith('event: ')) type = line.slice(7);
            }
            if (id) lastId = id;
            if (type === 'ticket' && data) {
              try { onEvent(JSON.parse(data)); } catch { /* a malformed event is skipped */ }
            }
          }
          if (buf.length > 65536) break; // never hold more than one event's worth
        }
      } catch (e) {
        if (stopped) return;
      }
      onState && onState(false);
      if (!stopped) await new Promise((r) => setTimeout(r, 3000));
    }
  }
  run();
  return () => { stopped = true; if (ctl) ctl.abort(); };
}
