// Shared helpers of the browser tests: the server's API, a second-origin host page for the
// widget, an SMTP client for the email corpus, axe, and Chromium through playwright-core.
import { createServer } from 'node:http';
import { createConnection } from 'node:net';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { chromium } from 'playwright-core';

const require = createRequire(import.meta.url);
export const BASE = process.env.BASE_URL ?? 'http://127.0.0.1:3000';
export const ARTIFACTS = process.env.ARTIFACTS ?? 'artifacts';
const axeSource = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

/** Chromium; `extra` flags after ours (e.g. fake camera and microphone for calls). */
export async function launch(extra = []) {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', ...extra],
  });
}

let token = null;
let accountId = null;
export async function api(method, path, body) {
  if (!token) {
    const r = await fetch(`${BASE}/auth/sign_in`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: process.env.ADMIN_EMAIL, password: process.env.ADMIN_PASSWORD }),
    });
    const data = (await r.json()).data;
    token = data.access_token;
    accountId = data.account_id;
  }
  const r = await fetch(`${BASE}${path.replace('{acc}', `/api/v1/accounts/${accountId}`)}`, {
    method, headers: { 'content-type': 'application/json', api_access_token: token }, body: body ? JSON.stringify(body) : undefined,
  });
  const text = await r.text();
  if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

/** A website (web_widget) inbox whose allowed domains are the host page's (`localhost`). */
export async function widgetInbox(name) {
  return api('POST', '{acc}/inboxes', {
    name,
    channel: { type: 'web_widget', website_url: 'http://localhost', widget_color: '#1d4ed8', allowed_domains: ['localhost'] },
  });
}

/** Serves a page on another origin (localhost:<port>, the server being 127.0.0.1) embedding
 * the widget from the server: the widget's requests and socket are truly cross-origin. */
export async function hostPage(inboxIdentifier) {
  const server = createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Acme shop</title></head>
<body><main><h1>Acme shop</h1><p>Welcome to our shop.</p></main>
<script async src="${BASE}/widget.js" data-inbox="${inboxIdentifier}"></script></body></html>`);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://localhost:${server.address().port}/`, close: () => server.close() };
}

/** Opens the widget on the host page at `url`; returns its panel. */
export async function openWidget(page, url, wait = { timeout: 20_000 }) {
  await page.goto(url);
  const launcher = page.locator('#throughline-widget .launcher');
  await launcher.waitFor(wait);
  await launcher.click();
  const panel = page.locator('#throughline-widget .panel');
  await panel.waitFor(wait);
  return panel;
}

/** Runs axe in the page; returns serious and critical violations. */
export async function axe(page, context) {
  await page.evaluate(axeSource);
  const result = await page.evaluate(async (ctx) => {
    const r = await window.axe.run(ctx ?? document, { resultTypes: ['violations'] });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.map((n) => n.target.join(' ')).slice(0, 5), help: v.help }));
  }, context);
  return result.filter((v) => v.impact === 'serious' || v.impact === 'critical');
}

/** Sends one message to the built-in SMTP receiver, speaking plain SMTP. */
export function sendMail(port, from, to, raw) {
  return new Promise((resolve, reject) => {
    const socket = createConnection(port, '127.0.0.1');
    const steps = [`EHLO browser.test`, `MAIL FROM:<${from}>`, `RCPT TO:<${to}>`, 'DATA', `${raw.replace(/\r?\n/g, '\r\n').replace(/^\./gm, '..')}\r\n.`, 'QUIT'];
    let buffer = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk) => {
      buffer += chunk;
      const lines = buffer.split('\r\n');
      buffer = lines.pop();
      for (const line of lines) {
        if (/^\d{3} /.test(line)) {
          const code = Number(line.slice(0, 3));
          if (code >= 400) return reject(new Error(`SMTP: ${line}`)), socket.destroy();
          const next = steps.shift();
          if (next === undefined) return socket.end(), resolve();
          socket.write(`${next}\r\n`);
        }
      }
    });
    socket.on('error', reject);
  });
}

export async function signIn(page, locale = 'en') {
  await signInAs(page, process.env.ADMIN_EMAIL, process.env.ADMIN_PASSWORD, locale);
}

/** Signs in as any user with a password (e.g. one made with `POST {acc}/agents`), in `locale`. */
export async function signInAs(page, email, password, locale = 'en') {
  await page.goto(`${BASE}/login`);
  await page.evaluate((l) => localStorage.setItem('tl.locale', l), locale);
  await page.goto(`${BASE}/login`);
  await page.fill('input[name=email]', email);
  await page.fill('input[name=password]', password);
  await page.click('button[type=submit]');
  await page.waitForURL(/\/app\/accounts\/\d+\/conversations/);
}

/** The Client API (what the widget calls) of an inbox: POST and the answer's JSON. */
export async function publicPost(inboxIdentifier, path, body) {
  const r = await fetch(`${BASE}/public/api/v1/inboxes/${inboxIdentifier}${path}`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body ?? {}),
  });
  const text = await r.text();
  if (!r.ok) throw new Error(`POST ${path}: ${r.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

/** A new visitor of a website inbox writes `text`; returns the conversation's id. */
export async function customerWrites(inbox, name, text) {
  const contact = await publicPost(inbox.inbox_identifier, '/contacts', { name });
  const conversation = await publicPost(inbox.inbox_identifier, `/contacts/${contact.source_id}/conversations`, {});
  await publicPost(inbox.inbox_identifier, `/contacts/${contact.source_id}/conversations/${conversation.id}/messages`, { content: text });
  return conversation.id;
}

/** Fails on any catalogue key the page asked for and did not find, or a raw key left on screen. */
export async function untranslated(page) {
  return page.evaluate(() => {
    const missing = [...(window.__i18nMissing ?? [])];
    const text = document.body.innerText;
    const raw = text.match(/\b(?:common|login|nav|inbox|status|priority|channel|conversation|message|delivery|activity|email|composer|reply_channel|actions|contact|moves|suggestion|event|shortcuts|profile|admin|field|role|locale|provider|template|media|two_factor|privacy|invitations|presence|live|routing|offers|automation|macros|hours|sla|survey|reports|satisfaction|journeys|opt_outs|notifications|password|contacts|timeline|inbox_settings|views|bulk|attributes|resource|webhooks|email_notifications|articles|help_center|assistant|voice|callbacks|calls|calls_report|wrap_up|webcall)\.[a-z_]+\b/g) ?? [];
    return [...missing, ...raw];
  });
}

export const shot = (page, name) => page.screenshot({ path: `${ARTIFACTS}/${name}.png` });
