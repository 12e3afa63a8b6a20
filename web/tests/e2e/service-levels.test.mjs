// Service levels in the app: an administrator opens an inbox's "Hours & replies" in Settings →
// Inboxes, gives Monday two periods (09:00–12:00 and 13:00–18:00; a period closing before it
// opens is refused next to it, an unknown time zone next to the time zone), a holiday, a
// greeting and the CSAT survey, saves, reloads and finds them kept. In Settings → SLA they
// create a policy for that inbox with a one-minute first response (the client's checks first).
// A customer's conversation in the inbox, assigned to the administrator, shows the SLA badge in
// the list, and its warning arrives as a toast that opens the conversation, where the greeting
// is labelled. The agent answers and resolves: the survey appears on the timeline, the customer
// answers it through the public API (4, "Good"), and the answer shows on the timeline and in
// Reports → Satisfaction. The policy is deleted at the end (its clocks stop). The server side is
// covered by crates/testkit/tests/api/service_levels.rs and surveys.rs.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { BASE, launch, api, axe, signIn, untranslated, shot } from './lib.mjs';

let browser;
before(async () => (browser = await launch()));
after(async () => browser?.close());

const WAIT = { timeout: 20_000 };

/** Polls `check` until it returns something truthy (then returns it), failing after `timeout` ms. */
async function eventually(what, check, timeout = WAIT.timeout) {
  const deadline = Date.now() + timeout;
  for (;;) {
    const value = await check();
    if (value) return value;
    assert.ok(Date.now() < deadline, `timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

const messagesOf = async (id) => (await api('GET', `{acc}/conversations/${id}/messages`)).payload ?? [];

test('hours & replies, an SLA policy and its badge and alert, the survey on the timeline and in the report', { timeout: 240_000 }, async () => {
  const stamp = Date.now();
  const { id: accountId } = await api('GET', '{acc}');
  const me = await api('GET', '/api/v1/profile');
  const INBOX = `Service levels ${stamp}`;
  const inbox = await api('POST', '{acc}/inboxes', { name: INBOX, channel: { type: 'api' } });
  const holiday = `${new Date().getFullYear() + 1}-12-25`;
  const POLICY = `Fast ${stamp}`;

  const context = await browser.newContext({ viewport: { width: 1366, height: 1000 } });
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  let policy = null;
  try {
    await signIn(page);

    // --- Settings → Inboxes → the inbox → Hours & replies.
    await page.locator('nav.rail a', { hasText: 'Settings' }).click();
    await page.waitForURL(`${BASE}/app/accounts/${accountId}/settings/inboxes`);
    const openHours = async () => {
      await page.locator('.list button', { hasText: INBOX }).click();
      await page.locator('.detail h2', { hasText: INBOX }).waitFor(WAIT);
      const panel = page.locator('[data-testid=inbox-hours]');
      await panel.locator('summary', { hasText: 'Hours & replies' }).click();
      await panel.locator('form').waitFor(WAIT);
      return panel;
    };
    let hours = await openHours();
    await hours.getByLabel('Use business hours').check();
    await hours.getByLabel('Time zone', { exact: true }).selectOption('__other');
    await hours.getByLabel('Time zone name').fill('Mars/Olympus');
    // Monday: two periods, the second one closing before it opens (for now).
    const monday = hours.locator('li.day[data-day="1"]');
    assert.equal(await monday.getByLabel('Monday: opening').inputValue(), 'periods', 'weekdays start open');
    await hours.getByLabel('Monday, period 1: opens at').fill('09:00');
    await hours.getByLabel('Monday, period 1: closes at').fill('12:00');
    await hours.getByRole('button', { name: 'Add a period on Monday' }).click();
    await hours.getByLabel('Monday, period 2: opens at').fill('13:00');
    await hours.getByLabel('Monday, period 2: closes at').fill('12:30');
    // A holiday, a greeting, the CSAT survey.
    await hours.getByRole('button', { name: 'Add a day' }).click();
    await hours.getByLabel('Holiday 1: date').fill(holiday);
    await hours.getByLabel('Holiday 1: name').fill('Christmas');
    await hours.getByLabel('Greet new conversations').check();
    await hours.getByLabel('Greeting', { exact: true }).fill(`Hello! We are on it (${stamp}).`);
    await hours.getByLabel('Send a survey when a conversation is resolved').check();
    await hours.getByLabel('CSAT: a rating from 1 to 5').check();

    // The client's check, by the period at fault; nothing sent.
    await hours.getByRole('button', { name: 'Save' }).click();
    await monday.locator('li.period[data-period="1"] .field-error', { hasText: 'It must close after it opens.' }).waitFor(WAIT);
    assert.equal(await hours.getByLabel('Monday, period 2: closes at').getAttribute('aria-invalid'), 'true');
    assert.equal(await monday.locator('li.period[data-period="0"] .field-error').count(), 0, 'the first period is fine');
    assert.equal((await api('GET', `{acc}/inboxes/${inbox.id}`)).settings?.working_hours, undefined, 'nothing was saved');

    // The server's refusal of the time zone, by the time zone.
    await hours.getByLabel('Monday, period 2: closes at').fill('18:00');
    await hours.getByRole('button', { name: 'Save' }).click();
    const zoneError = hours.locator('.field-error[data-field=timezone]');
    await zoneError.waitFor(WAIT);
    assert.match(await zoneError.innerText(), /Mars\/Olympus/);
    assert.equal(await monday.locator('.field-error').count(), 0, 'the periods are fine now');
    assert.deepEqual(await axe(page, 'section.body'), [], 'axe on hours & replies with an error');

    // A known zone: saved.
    await hours.getByLabel('Time zone', { exact: true }).selectOption('America/Sao_Paulo');
    await hours.getByRole('button', { name: 'Save' }).click();
    await hours.getByRole('status').filter({ hasText: 'Saved.' }).waitFor(WAIT);
    const saved = await api('GET', `{acc}/inboxes/${inbox.id}`);
    assert.equal(saved.working_hours_enabled, true);
    assert.equal(saved.timezone, 'America/Sao_Paulo');
    assert.equal(saved.greeting_enabled, true);
    assert.equal(saved.csat_survey_enabled, true);
    assert.equal(saved.settings.csat_survey_type, 'csat');
    const mondays = saved.settings.working_hours.filter((e) => e.day_of_week === 1).map((e) => [e.open_hour, e.open_minutes, e.close_hour, e.close_minutes]);
    assert.deepEqual(mondays, [[9, 0, 12, 0], [13, 0, 18, 0]]);
    assert.deepEqual(saved.settings.holidays, [{ date: holiday, name: 'Christmas' }]);
    await shot(page, 'inbox-hours');

    // Reloaded: all kept.
    await page.reload();
    hours = await openHours();
    assert.equal(await hours.getByLabel('Use business hours').isChecked(), true);
    assert.equal(await hours.getByLabel('Time zone', { exact: true }).inputValue(), 'America/Sao_Paulo');
    assert.equal(await hours.getByLabel('Monday, period 1: opens at').inputValue(), '09:00');
    assert.equal(await hours.getByLabel('Monday, period 1: closes at').inputValue(), '12:00');
    assert.equal(await hours.getByLabel('Monday, period 2: opens at').inputValue(), '13:00');
    assert.equal(await hours.getByLabel('Monday, period 2: closes at').inputValue(), '18:00');
    assert.equal(await hours.getByLabel('Sunday: opening').inputValue(), 'closed');
    assert.equal(await hours.getByLabel('Holiday 1: date').inputValue(), holiday);
    assert.equal(await hours.getByLabel('Holiday 1: name').inputValue(), 'Christmas');
    assert.equal(await hours.getByLabel('Greet new conversations').isChecked(), true);
    assert.equal(await hours.getByLabel('Greeting', { exact: true }).inputValue(), `Hello! We are on it (${stamp}).`);
    assert.equal(await hours.getByLabel('Send a survey when a conversation is resolved').isChecked(), true);
    assert.equal(await hours.getByLabel('CSAT: a rating from 1 to 5').isChecked(), true);
    assert.deepEqual(await untranslated(page), [], 'untranslated (hours & replies)');

    // --- Settings → SLA: a policy for the inbox, a first response within one minute.
    await page.locator('.admin nav a', { hasText: 'SLA' }).click();
    await page.waitForURL(`${BASE}/app/accounts/${accountId}/settings/sla`);
    await page.locator('[data-testid=sla-policies]').waitFor(WAIT);
    await page.getByRole('button', { name: 'New policy' }).click();
    const editor = page.locator('[data-testid=sla-editor]');
    await editor.waitFor();
    // The client's checks: a name and at least one time.
    await editor.getByRole('button', { name: 'Save' }).click();
    await editor.locator('.field-error[data-field=name]', { hasText: 'Give the policy a name.' }).waitFor();
    await editor.locator('.field-error[data-field=first_response_time_threshold]', { hasText: 'Give at least one time' }).waitFor();
    await editor.getByLabel('Name', { exact: true }).fill(POLICY);
    await editor.getByLabel('First response: time').fill('1');
    await editor.getByLabel('First response: unit').selectOption('minutes');
    // Warned halfway: the alert comes while the test watches, the breach only later.
    await editor.getByLabel('Warn when this share is used up (%)').fill('50');
    await editor.getByRole('checkbox', { name: INBOX, exact: true }).check();
    assert.deepEqual(await axe(page, 'section.body'), [], 'axe on the SLA editor');
    await editor.getByRole('button', { name: 'Save' }).click();
    await editor.waitFor({ state: 'detached', ...WAIT });
    policy = await eventually('the policy', async () => (await api('GET', '{acc}/sla_policies')).payload.find((p) => p.name === POLICY));
    assert.equal(policy.first_response_time_threshold, 60);
    assert.equal(policy.next_response_time_threshold, null);
    assert.equal(policy.warning_percent, 50);
    assert.deepEqual(policy.inbox_ids, [inbox.id]);
    const row = page.locator(`[data-testid=sla-policies] tr[data-policy-id="${policy.id}"]`);
    await row.waitFor(WAIT);
    assert.match(await row.locator('td[data-metric=frt]').innerText(), /1 minute/);
    assert.match(await row.innerText(), new RegExp(INBOX));
    await shot(page, 'sla-policies');

    // --- A customer's conversation in the inbox, assigned to me: the policy measures it.
    const contact = (await api('POST', '{acc}/contacts', { name: `Rosa Rapid ${stamp}`, inbox_id: inbox.id })).payload.contact;
    const conversation = await api('POST', '{acc}/conversations', { inbox_id: inbox.id, contact_id: contact.id });
    const id = conversation.id;
    await api('POST', `{acc}/conversations/${id}/assignments`, { assignee_id: me.id });
    await api('POST', `{acc}/conversations/${id}/messages`, { content: `I need help quickly ${stamp}`, message_type: 'incoming' });
    const measured = await eventually('the policy on the conversation', async () => {
      const c = await api('GET', `{acc}/conversations/${id}`);
      return c.applied_sla ? c : null;
    });
    assert.equal(measured.applied_sla.sla_id, policy.id);
    assert.equal(typeof measured.applied_sla.due_at.frt, 'number');

    // The list shows the badge (moved around inside the app: the socket keeps listening).
    await page.locator('nav.rail a', { hasText: 'Conversations' }).click();
    await page.getByRole('tab', { name: /^All\b/ }).click();
    const item = page.locator(`.items a[data-conversation="${id}"]`);
    await item.waitFor(WAIT);
    const badge = item.locator('[data-testid=sla-badge]');
    await badge.waitFor(WAIT);
    assert.match(await badge.innerText(), /FRT (\d+m|overdue)/);
    assert.equal(await badge.getAttribute('data-metric'), 'frt');

    // The warning (at half the minute) reaches me, the assignee, as a toast.
    const toast = page.locator(`[data-testid=sla-alerts] .toast[data-conversation="${id}"]`);
    await toast.waitFor({ timeout: 75_000 });
    assert.match(await toast.innerText(), new RegExp(`SLA (warning: first response due soon|breached: first response) — conversation #${id}`));
    assert.deepEqual(await axe(page, 'section.list'), [], 'axe on the list with the badge');
    assert.deepEqual(await axe(page, '[data-testid=sla-alerts]'), [], 'axe on the toast');
    await shot(page, 'sla-badge-toast');
    await toast.getByRole('link').click();
    await page.waitForURL(`${BASE}/app/accounts/${accountId}/conversations/${id}`);
    await page.locator('.main header [data-testid=sla-badge]').waitFor(WAIT);
    await toast.waitFor({ state: 'detached', ...WAIT });

    // The greeting went out on its own, labelled as such.
    await eventually('the greeting', async () => (await messagesOf(id)).some((m) => m.content_attributes?.auto_reply === 'greeting'));
    const greeting = page.locator('article.message', { hasText: `We are on it (${stamp})` });
    await greeting.waitFor(WAIT);
    assert.equal((await greeting.locator('[data-testid=auto-reply]').innerText()).trim(), 'Greeting (automatic)');

    // --- The agent answers and resolves: the survey is sent, then answered through its link.
    await api('POST', `{acc}/conversations/${id}/messages`, { content: `Done, anything else? ${stamp}` });
    await api('POST', `{acc}/conversations/${id}/toggle_status`, { status: 'resolved' });
    await eventually('the survey', async () => (await messagesOf(id)).some((m) => m.content_type === 'input_csat'));
    const card = page.locator('[data-testid=survey]');
    await card.waitFor(WAIT);
    assert.match(await card.innerText(), /Survey sent \(CSAT 1–5\)[\s\S]*Not answered yet/);
    const { uuid } = await api('GET', `{acc}/conversations/${id}`);
    const answer = await fetch(`${BASE}/public/api/v1/csat_survey/${uuid}`, {
      method: 'PUT', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ message: { submitted_values: { csat_survey_response: { rating: 4, feedback_message: 'Good' } } } }),
    });
    assert.equal(answer.status, 200, await answer.text());
    const answered = page.locator('[data-testid=survey][data-answered=true]');
    await answered.waitFor(WAIT);
    const text = await answered.innerText();
    assert.match(text, /4 of 5/);
    assert.match(text, /Good/);
    assert.match(text, /Answered on the survey page/);
    assert.equal(await answered.locator('.rating').getAttribute('data-rating'), '4');
    assert.deepEqual(await axe(page, '.timeline'), [], 'axe on the timeline with the survey');
    await shot(page, 'survey-timeline');

    // --- Reports → Satisfaction: the answer, with a link to its conversation.
    await page.locator('nav.rail a', { hasText: 'Reports' }).click();
    await page.waitForURL(`${BASE}/app/accounts/${accountId}/reports/satisfaction`);
    const response = page.locator(`[data-testid=csat-responses] tr[data-conversation="${id}"]`);
    await response.waitFor(WAIT);
    const cells = await response.innerText();
    assert.match(cells, /Rosa Rapid/);
    assert.match(cells, /4 of 5/);
    assert.match(cells, /Good/);
    assert.match(cells, /Answered on the survey page/);
    const answers = Number((await page.locator('[data-testid=csat-metrics] [data-figure=answers] dd.value').innerText()).replace(/\D/g, ''));
    assert.ok(answers >= 1, `answers: ${answers}`);
    assert.match(await page.locator('[data-testid=csat-metrics] [data-figure=score] dd.value').innerText(), /%/);
    assert.deepEqual(await axe(page, 'section.body'), [], 'axe on the satisfaction report');
    assert.deepEqual(await untranslated(page), [], 'untranslated');
    await shot(page, 'satisfaction-report');
    await response.getByRole('link', { name: `#${id}`, exact: true }).click();
    await page.waitForURL(`${BASE}/app/accounts/${accountId}/conversations/${id}`);
    await page.locator('[data-testid=survey][data-answered=true]').waitFor(WAIT);
    assert.deepEqual(errors, []);
  } finally {
    if (policy) await api('DELETE', `{acc}/sla_policies/${policy.id}`).catch(() => {});
    await context.close();
  }
});
