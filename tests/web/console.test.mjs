// console.test.mjs - the web console in a real browser (Debian's
// chromium, driven by playwright-core) against a real `ticketd serve`
// with Dovecot and the SMTP sink (tests/support/demo.sh, started by
// tests/web/run.sh, which passes API, RUN, LMTP_PORT and OUT).
//
// The stories, in order (each needs the one before):
//   1. an agent signs in, finds the ticket that came by mail, replies with
//      an attachment; the customer's mail arrives at the sink; the agents'
//      notice links to the ticket in the console;
//   2. the customer asks for web access, follows the link in the claim
//      mail, sets a password, reads the reply and answers with a file;
//   3. an admin retries a mail the gateway quarantined (over the
//      per-sender rate limit) and adds an agent;
//   4. a second browser sees the first one's change live (the SLA cue too);
//   5. SLAs: raising a ticket's priority makes it overdue, in the list and
//      in the ticket view (tests/web/sla.conf: high is due in a second);
// and on every page: axe-core finds no serious or critical violation,
// the CSP reports nothing, no script error. The agent's ticket view is
// saved as a screenshot (OUT/ticket-view.png).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, mkdirSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import zlib from 'node:zlib';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const require = createRequire(import.meta.url);
const AXE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
const API = process.env.API;
const RUN = process.env.RUN;
const OUT = process.env.OUT || '/tmp';
const LMTP_PORT = process.env.LMTP_PORT;
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const T = 15000; // every wait is bounded

let browser;
const problems = []; // CSP reports, script errors: fail the run at the end
const audited = new Set();

before(async () => {
  assert.ok(API && RUN, 'run through tests/web/run.sh (API and RUN unset)');
  mkdirSync(OUT, { recursive: true });
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu'] });
});

after(async () => {
  if (browser) await browser.close();
});

async function newPage(width = 1200) {
  const ctx = await browser.newContext({ viewport: { width, height: 900 }, acceptDownloads: true });
  const page = await ctx.newPage();
  page.on('pageerror', (e) => problems.push('script error: ' + e.message));
  page.on('console', (m) => {
    const text = m.text();
    if (/Content.Security.Policy|Refused to/i.test(text)) problems.push('CSP: ' + text);
  });
  page.setDefaultTimeout(T);
  return page;
}

async function signIn(page, email, password) {
  await page.goto(API + '/');
  await page.fill('#email', email);
  await page.fill('#password', password);
  await page.click('form button[type=submit]');
  await page.waitForSelector('#signout');
}

// axe-core on the current page, once per page kind: no serious or
// critical violation. (Evaluated through the driver, which the page's
// CSP does not apply to; the console itself never evaluates strings.)
async function audit(page, name) {
  if (audited.has(name)) return;
  audited.add(name);
  await page.evaluate(AXE);
  const res = await page.evaluate(async () => {
    // eslint-disable-next-line no-undef
    const r = await axe.run(document, { resultTypes: ['violations'] });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 3).map((n) => n.target.join(' ')) }));
  });
  const bad = res.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  assert.deepEqual(bad, [], 'axe on ' + name + ': ' + JSON.stringify(bad, null, 1));
}

// The sink's mail (aiosmtpd Mailbox: a maildir) to `to`, whose decoded
// text satisfies pred; waits at most T.
function decode(raw) {
  if (/Content-Transfer-Encoding:\s*quoted-printable/i.test(raw)) {
    raw = raw.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/g, (_, h) => String.fromCharCode(parseInt(h, 16)));
  }
  return raw;
}
async function mailTo(to, pred) {
  const dir = join(RUN, 'outbox', 'new');
  const deadline = Date.now() + 20000;
  for (;;) {
    for (const f of readdirSync(dir)) {
      const text = decode(readFileSync(join(dir, f), 'latin1'));
      const rcpt = /^X-RcptTo: (.*)$/m.exec(text);
      if (rcpt && rcpt[1].toLowerCase().includes(to) && pred(text)) return text;
    }
    if (Date.now() > deadline) throw new Error('no mail to ' + to + ' in the sink within 20 s');
    await new Promise((r) => setTimeout(r, 200));
  }
}

// Delivers a raw mail to the support mailbox as an MTA would (LMTP).
function deliver(file) {
  execFileSync('/usr/bin/python3', ['-c', `
import smtplib, sys
raw = open(sys.argv[2], 'rb').read().replace(b'\\r\\n', b'\\n').replace(b'\\n', b'\\r\\n')
with smtplib.LMTP('127.0.0.1', int(sys.argv[1]), timeout=10) as s:
    s.sendmail('carla@example.org', ['support@localhost'], raw)
`, LMTP_PORT, file], { timeout: T });
}

// A small picture to attach (160x90, a switch in the off position).
function png(w, h, pixel) {
  const chunk = (type, data) => {
    const len = Buffer.alloc(4); len.writeUInt32BE(data.length);
    const crc = Buffer.alloc(4); crc.writeUInt32BE(zlib.crc32(Buffer.concat([Buffer.from(type), data])) >>> 0);
    return Buffer.concat([len, Buffer.from(type), data, crc]);
  };
  const head = Buffer.alloc(13);
  head.writeUInt32BE(w, 0); head.writeUInt32BE(h, 4); head[8] = 8; head[9] = 2;
  const rows = Buffer.alloc((w * 3 + 1) * h);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) rows.set(pixel(x, y), y * (w * 3 + 1) + 1 + x * 3);
  return Buffer.concat([Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), chunk('IHDR', head),
    chunk('IDAT', zlib.deflateSync(rows)), chunk('IEND', Buffer.alloc(0))]);
}
const PNG = png(160, 90, (x, y) => {
  const inPlate = x > 50 && x < 110 && y > 15 && y < 75;
  const inLever = x > 65 && x < 95 && y > 45 && y < 70;
  return inLever ? [200, 40, 40] : inPlate ? [235, 235, 230] : [60, 90, 140];
});
const state = {};

test('an agent finds the ticket that came by mail and replies with an attachment', async () => {
  const page = await newPage();
  await signIn(page, 'agent@localhost', 'agent password 1');
  await audit(page, 'ticket list');
  // Find it by searching (the / key focuses the search box).
  await page.keyboard.press('/');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'search');
  await page.keyboard.type('printer');
  await page.keyboard.press('Enter');
  await page.waitForSelector('a[href="#/tickets?view=all"]');
  await page.click('a[href^="#/tickets?view=all"]');
  const row = page.locator('table.list tbody tr', { hasText: 'My printer is on fire' });
  await row.waitFor();
  state.number = Number(await row.getAttribute('data-number'));
  // Under the normal policy (4 h to a first response): a cue, not overdue.
  const cue = row.locator('.cue .sla time[datetime]');
  assert.match(await cue.textContent(), /^due in [34] h$/);
  assert.equal(await row.locator('.sla.overdue').count(), 0);
  // j selects, Enter opens.
  await page.keyboard.press('j');
  await page.keyboard.press('Enter');
  await page.waitForSelector('.conv .msg');
  await page.waitForSelector('text=smells like it');
  // The SLA section: both targets due, absolute time with its ISO twin.
  const sla = page.locator('aside .sla-box');
  assert.match(await sla.locator('dt:text("First response") + dd').textContent(), /^in [34] h, due /);
  assert.match(await sla.locator('dt:text("Resolution") + dd').textContent(), /^in 2 d, due /);
  assert.match(await sla.locator('dd time').first().getAttribute('datetime'), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
  await audit(page, 'ticket view');
  // a: assign to me; then r: reply with a file.
  await page.keyboard.press('a');
  await page.waitForSelector('#claim', { state: 'detached' });
  await page.keyboard.press('r');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'reply-body');
  await page.keyboard.type('Please unplug it first. A photo of the switch is attached.');
  await page.setInputFiles('#reply-files', { name: 'switch.png', mimeType: 'image/png', buffer: PNG });
  await page.click('#reply-send');
  await page.waitForSelector('.conv .msg >> text=Please unplug it first');
  // The public reply met the first response.
  await page.waitForSelector('aside .sla-box dt:text("First response") + dd >> text=/^met /');
  await page.waitForSelector('.conv img[alt="Preview of switch.png"][src^="blob:"]');
  // An internal note looks different from a reply.
  await page.keyboard.press('n');
  await page.keyboard.type('Third printer fire this month.');
  await page.click('#reply-send');
  const note = page.locator('.conv .msg.internal', { hasText: 'Third printer fire' });
  await note.waitFor();
  const bg = await note.evaluate((el) => getComputedStyle(el).backgroundColor);
  const pub = await page.locator('.conv .msg:not(.internal)').first().evaluate((el) => getComputedStyle(el).backgroundColor);
  assert.notEqual(bg, pub);
  // The download is a file, from the bearer-authenticated fetch.
  const [dl] = await Promise.all([page.waitForEvent('download'), page.click('text=Download switch.png')]);
  assert.equal(dl.suggestedFilename(), 'switch.png');
  await page.click('summary');
  await page.screenshot({ path: join(OUT, 'ticket-view.png'), fullPage: true });
  // The agents' notice of the new ticket links to it in the console.
  const notice = await mailTo('agent@localhost', (t) => t.includes('/#/tickets/' + state.number));
  const link = new RegExp('(http://\\S+/#/tickets/' + state.number + ')\\b').exec(notice);
  assert.ok(link && link[1].startsWith(API + '/'), 'a console link in the agent notice');
  await page.goto(API + '/#/tickets');
  await page.goto(link[1]);
  await page.waitForSelector('h1 >> text=My printer is on fire');
  // Follow it (a staff participant), then stop.
  await page.click('#follow');
  await page.waitForSelector('#follow >> text=Unfollow');
  await page.click('#follow');
  await page.waitForSelector('#follow >> text=Follow');
  // The customer's mail: the reply, not the note.
  const mail = await mailTo('carla@example.org', (t) => t.includes('Please unplug it first'));
  assert.ok(!mail.includes('Third printer fire'));
  await page.context().close();
});

test('the customer claims the account from the mailed link and replies', async () => {
  const page = await newPage(360); // a phone
  await page.goto(API + '/#/claim');
  await page.fill('#claim-email', 'carla@example.org');
  await page.click('form button[type=submit]');
  await page.waitForSelector('.status.ok');
  await audit(page, 'claim');
  const mail = await mailTo('carla@example.org', (t) => t.includes('#/claim/'));
  const link = /(http:\/\/\S+#\/claim\/[A-Za-z0-9_-]{43})/.exec(mail);
  assert.ok(link, 'a console link in the claim mail');
  assert.ok(link[1].startsWith(API + '/'));
  await page.goto(link[1]);
  await page.fill('#new-password', 'carla has a password now');
  await audit(page, 'claim confirm');
  await page.click('form button[type=submit]');
  await page.waitForSelector('#signout');
  const row = page.locator('table.list tbody tr', { hasText: 'My printer is on fire' });
  await row.waitFor();
  await audit(page, 'customer list');
  // The desk's SLA is not the customer's business (the API sends null).
  assert.equal(await page.locator('.sla, .sla-box').count(), 0, 'an SLA shown to the customer');
  await page.locator('a', { hasText: 'My printer is on fire' }).click();
  await page.waitForSelector('text=Please unplug it first');
  assert.equal(await page.locator('text=Third printer fire').count(), 0, 'an internal note shown to the customer');
  assert.equal(await page.locator('.sla, .sla-box').count() + await page.getByText('SLA', { exact: true }).count(), 0,
    'an SLA shown to the customer');
  await audit(page, 'customer ticket');
  // 360 px: nothing wider than the screen.
  assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= 362), 'horizontal scrolling at 360 px');
  await page.fill('#reply-body', 'Unplugged. It still smells. Photo attached.');
  await page.setInputFiles('#reply-files', { name: 'smell.png', mimeType: 'image/png', buffer: PNG });
  await page.click('#reply-send');
  await page.waitForSelector('.conv .msg >> text=Unplugged. It still smells.');
  // A reload keeps the session (the HttpOnly cookie), and no token is in
  // web storage or a URL.
  await page.reload();
  await page.waitForSelector('text=Unplugged. It still smells.');
  assert.equal(await page.evaluate(() => localStorage.length + sessionStorage.length), 0);
  assert.equal(await page.evaluate(() => document.cookie), '', 'the refresh cookie is HttpOnly');
  // A new ticket from the customer.
  await page.goto(API + '/#/new');
  await page.fill('#new-subject', 'Also: the scanner');
  await page.fill('#new-body', 'It scans everything twice.');
  await audit(page, 'new ticket');
  await page.click('form button[type=submit]');
  await page.waitForSelector('h1 >> text=Also: the scanner');
  await page.context().close();
});

test('an admin retries a quarantined mail', async () => {
  // run.sh limits tickets opened by mail to one per sender
  // (TICKETD_MAILGW_RATE_LIMIT=1): Carla's second request is kept back.
  deliver(new URL('../data/mail/web_second_request.eml', import.meta.url).pathname);
  const page = await newPage();
  await signIn(page, 'admin@localhost', 'admin password 1');
  await page.goto(API + '/#/admin/quarantine');
  const entry = page.locator('table.list a', { hasText: 'coffee machine' });
  // The gateway polls the mailbox: reload until the mail is there.
  const deadline = Date.now() + 20000;
  while (!(await entry.count())) {
    assert.ok(Date.now() < deadline, 'the second request was not quarantined within 20 s');
    await page.waitForTimeout(500);
    await page.reload();
    await page.waitForSelector('h1');
  }
  await audit(page, 'quarantine');
  await entry.first().click();
  await page.waitForSelector('text=the coffee machine on floor 3 makes tea');
  await page.waitForSelector('dd >> text=rate limit');
  await audit(page, 'quarantine entry');
  await page.click('#retry');
  await page.waitForSelector('.status.ok >> text=Ingested');
  const num = /ticket #(\d+)/.exec(await page.textContent('.status'));
  assert.ok(num, 'the retry says which ticket');
  await page.goto(API + '/#/tickets/' + num[1]);
  await page.waitForSelector('h1 >> text=And now the coffee machine');
  // A duplicate is merged into the first ticket: its mail moves over.
  await page.fill('#merge-into', String(state.number));
  await page.click('form:has(#merge-into) button[type=submit]');
  await page.waitForSelector('.status.ok >> text=Merged into #' + state.number);
  await page.waitForSelector('a[href="#/tickets/' + state.number + '"] >> text=#' + state.number);
  await page.goto(API + '/#/tickets/' + state.number);
  await page.waitForSelector('.conv .msg >> text=the coffee machine on floor 3 makes tea');
  // Users: search, add an agent.
  await page.goto(API + '/#/admin/users');
  await page.waitForSelector('table.list');
  await audit(page, 'users');
  await page.fill('#add-email', 'second@localhost');
  await page.fill('#add-name', 'Second Agent');
  await page.fill('#add-password', 'second agent password');
  await page.selectOption('form.filters select[name=role]', 'agent');
  await page.click('form.filters:has(#add-email) button[type=submit]');
  await page.waitForSelector('td >> text=Second Agent');
  await page.context().close();
});

test('a second browser sees the first one change a ticket live', async () => {
  const watcher = await newPage();
  await signIn(watcher, 'second@localhost', 'second agent password');
  await watcher.goto(API + '/#/tickets/' + state.number);
  await watcher.waitForSelector('.conv .msg');
  await watcher.waitForSelector('#live >> text=live');
  const actor = await newPage();
  await signIn(actor, 'agent@localhost', 'agent password 1');
  await actor.goto(API + '/#/tickets/' + state.number);
  await actor.waitForSelector('.conv .msg');
  await actor.selectOption('select[name=priority]', 'urgent');
  await actor.waitForSelector('.status.ok >> text=Priority changed');
  await actor.fill('#reply-body', 'A technician is on the way.');
  await actor.click('#reply-send');
  // No reload in the watcher: the event stream brings both.
  await watcher.waitForSelector('.conv .msg >> text=A technician is on the way.');
  await watcher.waitForSelector('#view p.hint .pill.urgent');
  // A list updates too.
  await watcher.goto(API + '/#/tickets?view=all');
  const row = watcher.locator('table.list tbody tr[data-number="' + state.number + '"]');
  await row.waitFor();
  await actor.selectOption('select[name=status]', 'pending');
  await row.locator('.pill.pending').waitFor();
  // Pending stops the SLA clock; the cue follows the change live.
  await row.locator('.cue .sla.paused >> text=paused').waitFor();
  await watcher.context().close();
  await actor.context().close();
});

test('a ticket past its SLA due time says overdue, in the list and the ticket view', async () => {
  const page = await newPage();
  await signIn(page, 'agent@localhost', 'agent password 1');
  await page.goto(API + '/#/tickets?view=all');
  const row = page.locator('table.list tbody tr', { hasText: 'Also: the scanner' });
  await row.waitFor();
  const number = Number(await row.getAttribute('data-number'));
  assert.match(await row.locator('.cue .sla').textContent(), /^due in /);
  await page.goto(API + '/#/tickets/' + number);
  await page.waitForSelector('h1 >> text=Also: the scanner');
  // High: a first response a second after opening (tests/web/sla.conf);
  // a change of priority recomputes the due times from the opening.
  await page.selectOption('select[name=priority]', 'high');
  await page.waitForSelector('.status.ok >> text=Priority changed');
  const box = page.locator('aside .sla-box.overdue');
  await box.waitFor();
  assert.match(await box.locator('p.sla.overdue').textContent(), /^Overdue: first response was due .+ ago$/);
  assert.match(await box.locator('dt:text("First response") + dd').textContent(), /^overdue .*, due /);
  await audit(page, 'ticket view overdue');
  await page.goto(API + '/#/tickets?view=all');
  const overdue = page.locator('table.list tbody tr[data-number="' + number + '"] .cue .sla.overdue');
  await overdue.waitFor();
  assert.match(await overdue.textContent(), /^overdue (<1 min|\d+ min)$/);
  await audit(page, 'ticket list overdue');
  // 360 px: the cue keeps the list within the screen.
  await page.setViewportSize({ width: 360, height: 800 });
  await overdue.waitFor();
  assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= 362), 'horizontal scrolling at 360 px');
  await page.context().close();
});

test('no CSP violation or script error on any page', () => {
  assert.deepEqual(problems, []);
});
