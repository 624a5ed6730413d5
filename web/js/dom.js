// dom.js - building elements. Data only ever goes in as text
// (createTextNode / textContent), never parsed as markup, here or
// anywhere in the console (tests/api/test_api_web.c fails on the
// markup-writing DOM properties).

// h('a', {href: '#/x', class: 'y', onclick: fn}, 'text', child, [more])
export function h(tag, props, ...kids) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(props || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (k === 'value') el.value = v;
    else if (k === 'checked') el.checked = !!v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  add(el, kids);
  return el;
}

export function add(el, kids) {
  for (const k of [kids].flat(Infinity)) {
    if (k === null || k === undefined || k === false) continue;
    el.append(k instanceof Node ? k : document.createTextNode(String(k)));
  }
  return el;
}

export function clear(el) {
  el.replaceChildren();
  return el;
}

export function fmtTime(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  return d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

export function pill(text, kind) {
  return h('span', { class: 'pill ' + (kind || text) }, text);
}

// A labelled <select>: options are [value, label] pairs.
export function select(label, name, options, value, onchange) {
  const s = h('select', { name, onchange });
  for (const [v, l] of options) s.append(h('option', { value: v }, l));
  s.value = value ?? '';
  return h('label', {}, label, s);
}

export function userLabel(u, id) {
  if (u) return u.name ? u.name + (u.email ? ' <' + u.email + '>' : '') : (u.email || u.id);
  return id ? id.slice(0, 8) + '…' : '—';
}
