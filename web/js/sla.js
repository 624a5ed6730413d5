// sla.js - a ticket's SLA as the staff see it: the compact cue of a list
// row ("due in 2 h", "overdue 15 min", "paused") and the section of the
// ticket view (each due time, met or not). The API sends `sla` only to
// staff and null without a policy; null renders nothing here, so a
// customer never gets an empty box.
//
// Relative text goes stale while a page stays open without a change to
// the ticket (a due time passing is no event), so the views call these
// again on a timer (REFRESH_MS); the absolute time stays in <time
// datetime> and the title.
import { h, fmtTime } from './dom.js';

export const REFRESH_MS = 30000;

// "<1 min", "15 min", "2 h", "3 d": rounded, as a glance needs.
export function span(ms) {
  const min = Math.round(Math.abs(ms) / 60000);
  if (min < 1) return '<1 min';
  if (min < 60) return min + ' min';
  const hours = Math.round(min / 60);
  if (hours < 48) return hours + ' h';
  return Math.round(hours / 24) + ' d';
}

function ms(iso) {
  return iso ? Date.parse(iso) : NaN;
}

// Which target next_due is: the first response until it is met.
function nextTarget(sla) {
  return sla.next_due === sla.first_response_due && !sla.first_responded ? 'First response' : 'Resolution';
}

// The server's `overdue` was true when the page loaded; the clock may
// have passed next_due since.
function isOverdue(sla, now) {
  return !!sla.next_due && !sla.paused && (sla.overdue || ms(sla.next_due) <= now);
}

// The list row's cue, or null (no policy, or nothing left to meet).
export function slaCue(sla, now = Date.now()) {
  if (!sla) return null;
  if (sla.paused) return h('span', { class: 'sla paused', title: 'SLA clock paused while pending' }, 'paused');
  if (!sla.next_due) return null;
  const left = ms(sla.next_due) - now;
  const overdue = isOverdue(sla, now);
  const title = nextTarget(sla) + ' due ' + fmtTime(sla.next_due);
  return h('span', { class: 'sla' + (overdue ? ' overdue' : '') },
    h('time', { datetime: sla.next_due, title }, (overdue ? 'overdue ' : 'due in ') + span(left)));
}

// One target of the section: met, overdue, waiting for the clock, or due.
function target(label, due, met, sla, now) {
  if (!due) return null;
  let state;
  if (met) {
    state = ['met ', h('time', { datetime: met, title: met }, fmtTime(met)),
      ms(met) > ms(due) ? h('span', { class: 'sla overdue' }, ' (late ' + span(ms(met) - ms(due)) + ')') : ''];
  } else {
    const left = ms(due) - now;
    const late = left <= 0 && !sla.paused;
    state = [late ? h('strong', { class: 'sla overdue' }, 'overdue ' + span(left)) : (sla.paused ? 'paused' : 'in ' + span(left)),
      ', due ', h('time', { datetime: due, title: due }, fmtTime(due))];
  }
  return [h('dt', {}, label), h('dd', {}, state)];
}

// The ticket view's section, or null.
export function slaSection(sla, now = Date.now()) {
  if (!sla) return null;
  const overdue = isOverdue(sla, now);
  return h('section', { class: 'sla-box' + (overdue ? ' overdue' : ''), 'aria-labelledby': 'sla-heading' },
    h('h2', { id: 'sla-heading' }, 'SLA'),
    overdue ? h('p', { class: 'sla overdue' }, h('strong', {}, 'Overdue: ' + nextTarget(sla).toLowerCase() + ' was due ' + span(ms(sla.next_due) - now) + ' ago')) : null,
    sla.paused ? h('p', { class: 'sla paused' }, 'Clock paused while the ticket is pending.') : null,
    h('dl', {},
      target('First response', sla.first_response_due, sla.first_responded, sla, now),
      target('Resolution', sla.resolution_due, sla.resolved, sla, now)));
}
