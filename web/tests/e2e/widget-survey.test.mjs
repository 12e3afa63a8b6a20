// The satisfaction survey in the widget, and its presence line by business hours.
// An agent answers and resolves a visitor's conversation through the API; the survey that the
// server then sends shows in the widget as a rating control (not as its text and link), is
// answered with the keyboard and the mouse on a narrow screen, thanks the visitor (also in a
// second tab, through the socket's message_updated, and after a reload), and is recorded as
// answered in the widget. A website inbox outside its business hours shows as away: with the
// reply time when it never opens, with the day and time it opens otherwise.
// Like widget-flow.test.mjs: the shop page is on another origin and embeds /widget.js.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { BASE, launch, widgetInbox, hostPage, axe, api, openWidget } from './lib.mjs';

const WAIT = { timeout: 20_000 };

let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

/** The inbox as the widget reads it (`GET /public/api/v1/inboxes/{identifier}`). */
async function publicInbox(identifier) {
  const r = await fetch(`${BASE}/public/api/v1/inboxes/${identifier}`);
  assert.equal(r.status, 200);
  return r.json();
}

/** The aria-label of what has the focus inside the widget's shadow root. */
const focusedLabel = (page) =>
  page.evaluate(() => document.querySelector('#throughline-widget')?.shadowRoot?.activeElement?.getAttribute('aria-label') ?? null);

test('the visitor rates the conversation in the widget after it is resolved', async () => {
  const inbox = await widgetInbox(`Survey chat ${Date.now()}`);
  await api('PATCH', `{acc}/inboxes/${inbox.id}`, { csat_survey_enabled: true });
  const host = await hostPage(inbox.inbox_identifier);
  // A phone-sized screen: the panel takes the page's width.
  const ctx = await browser.newContext({ locale: 'en', viewport: { width: 390, height: 760 } });
  const errors = [];
  try {
    const visitor = await ctx.newPage();
    visitor.on('pageerror', (e) => errors.push(`visitor: ${e.message}`));
    const panel = await openWidget(visitor, host.url);
    await panel.locator('input[name=name]').fill('Survey visitor');
    await panel.locator('input[name=email]').fill(`survey.${Date.now()}@example.com`);
    await panel.locator('textarea[name=content]').fill('Hello, my parcel has not arrived');
    await panel.getByRole('button', { name: 'Start chat' }).click();
    await panel.locator('.messages li.mine', { hasText: 'my parcel has not arrived' }).waitFor(WAIT);
    const displayId = await visitor.evaluate(
      (key) => JSON.parse(localStorage.getItem(key) ?? '{}').conversation_id,
      `throughline:${inbox.inbox_identifier}`,
    );
    assert.ok(Number.isInteger(displayId), `the widget keeps its conversation: ${displayId}`);

    // The agent answers and resolves through the API; the visitor sees the answer live.
    await api('POST', `{acc}/conversations/${displayId}/messages`, { content: 'It is on its way, anything else?' });
    await panel.locator('.messages li.theirs', { hasText: 'It is on its way' }).waitFor(WAIT);
    await api('POST', `{acc}/conversations/${displayId}/toggle_status`, { status: 'resolved' });

    // The survey arrives as a rating control: five stars, Send waiting for a rating.
    const survey = panel.locator('.survey[data-survey=csat]');
    await survey.waitFor(WAIT);
    await survey.getByText('How would you rate this conversation?').waitFor(WAIT);
    const buttons = survey.locator('.scale button');
    assert.equal(await buttons.count(), 5);
    for (let n = 1; n <= 5; n++) assert.equal(await buttons.nth(n - 1).getAttribute('aria-label'), `${n} of 5`);
    assert.equal(await survey.locator('.scale button[aria-pressed=true]').count(), 0);
    const send = survey.getByRole('button', { name: 'Send', exact: true });
    assert.equal(await send.isDisabled(), true, 'nothing to send before a rating');
    assert.ok(!(await panel.innerText()).includes('/survey/responses/'), 'the survey is not shown as its text and link');

    // A second tab of the same visitor, to see the answer arrive through the socket.
    const other = await ctx.newPage();
    other.on('pageerror', (e) => errors.push(`other tab: ${e.message}`));
    const otherPanel = await openWidget(other, host.url);
    await otherPanel.locator('.survey .scale button').first().waitFor(WAIT);

    // Keyboard: the fourth star, pressed with Enter, keeps the focus.
    await buttons.nth(3).focus();
    await visitor.keyboard.press('Enter');
    await survey.locator('.scale button[aria-pressed=true][aria-label="4 of 5"]').waitFor(WAIT);
    assert.equal(await focusedLabel(visitor), '4 of 5');
    assert.equal(await send.isDisabled(), false);

    // Mouse: the fifth; then a comment.
    await buttons.nth(4).click();
    await survey.locator('.scale button[aria-pressed=true][aria-label="5 of 5"]').waitFor(WAIT);
    assert.equal(await survey.locator('.scale button[aria-pressed=true]').count(), 1);
    await survey.locator('textarea').fill('Quick and kind');
    assert.deepEqual(await axe(visitor, '#throughline-widget'), [], 'axe on the survey');
    await send.click();

    // Thanks instead of the buttons, here and in the other tab.
    await survey.getByText('Thank you! You rated 5/5').waitFor(WAIT);
    assert.equal(await survey.locator('.scale button').count(), 0);
    await otherPanel.locator('.survey', { hasText: 'Thank you! You rated 5/5' }).waitFor(WAIT);
    assert.equal(await otherPanel.locator('.survey .scale button').count(), 0);

    // After a reload the survey arrives answered.
    await visitor.reload();
    await visitor.locator('#throughline-widget .launcher').click();
    await panel.locator('.survey', { hasText: 'Thank you! You rated 5/5' }).waitFor(WAIT);
    assert.equal(await panel.locator('.survey .scale button').count(), 0);

    // One answer, given in the widget, with its comment.
    const list = await api('GET', `{acc}/csat_survey_responses?inbox_id=${inbox.id}`);
    assert.ok(Array.isArray(list), 'a bare list');
    const mine = list.filter((r) => r.conversation_id === displayId);
    assert.equal(mine.length, 1, JSON.stringify(list));
    assert.equal(mine[0].rating, 5);
    assert.equal(mine[0].answered_via, 'widget');
    assert.equal(mine[0].feedback_message, 'Quick and kind');
    assert.deepEqual(errors, []);
  } finally {
    await ctx.close();
    host.close();
  }
});

const week = (entry) => Array.from({ length: 7 }, (_, d) => ({ day_of_week: d, ...entry(d) }));

test('a closed inbox shows as away with its reply time', async () => {
  const inbox = await widgetInbox(`Closed chat ${Date.now()}`);
  await api('PATCH', `{acc}/inboxes/${inbox.id}`, {
    working_hours_enabled: true,
    timezone: 'UTC',
    working_hours: week(() => ({ closed_all_day: true })),
    reply_time: 'in_a_few_hours',
  });
  const shown = await publicInbox(inbox.inbox_identifier);
  assert.equal(shown.open_now, false);
  assert.equal(shown.opens_at, undefined, 'closed every day: it never opens');
  const host = await hostPage(inbox.inbox_identifier);
  try {
    for (const [locale, line] of [
      ['en', 'We typically reply in a few hours'],
      ['pt-BR', 'Costumamos responder em algumas horas'],
      ['pl', 'Zwykle odpowiadamy w ciągu kilku godzin'],
    ]) {
      const ctx = await browser.newContext({ locale, viewport: { width: 1100, height: 760 } });
      const page = await ctx.newPage();
      const errors = [];
      page.on('pageerror', (e) => errors.push(e.message));
      const panel = await openWidget(page, host.url);
      const presence = panel.locator('.presence[data-state=closed]', { hasText: line });
      await presence.waitFor(WAIT);
      assert.equal((await presence.innerText()).trim(), line, locale);
      assert.deepEqual(errors, [], locale);
      await ctx.close();
    }
  } finally {
    host.close();
  }
});

test('a closed inbox that opens later says when it is back', async () => {
  const inbox = await widgetInbox(`Back soon chat ${Date.now()}`);
  // Open only the day after tomorrow (UTC), 09:00–17:00.
  const day = (new Date().getUTCDay() + 2) % 7;
  await api('PATCH', `{acc}/inboxes/${inbox.id}`, {
    working_hours_enabled: true,
    timezone: 'UTC',
    working_hours: week((d) => (d === day
      ? { closed_all_day: false, open_hour: 9, open_minutes: 0, close_hour: 17, close_minutes: 0 }
      : { closed_all_day: true })),
    reply_time: 'in_a_day',
  });
  const shown = await publicInbox(inbox.inbox_identifier);
  assert.equal(shown.open_now, false);
  assert.ok(Number.isInteger(shown.opens_at), `opens_at: ${shown.opens_at}`);
  const weekday = new Intl.DateTimeFormat('en', { weekday: 'long', timeZone: 'UTC' }).format(new Date(shown.opens_at * 1000));
  const host = await hostPage(inbox.inbox_identifier);
  const ctx = await browser.newContext({ locale: 'en', timezoneId: 'UTC', viewport: { width: 1100, height: 760 } });
  try {
    const page = await ctx.newPage();
    const panel = await openWidget(page, host.url);
    const presence = panel.locator('.presence[data-state=closed]', { hasText: "We're away — back" });
    await presence.waitFor(WAIT);
    const text = await presence.innerText();
    assert.ok(text.includes(weekday), `${text} names ${weekday}`);
    assert.match(text, /9:00/, text);
  } finally {
    await ctx.close();
    host.close();
  }
});
