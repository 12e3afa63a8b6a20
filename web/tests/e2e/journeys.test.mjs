// Journey campaigns in the app: an administrator opens Settings → Journeys, submits a campaign
// that cannot be saved (a trigger that is no event type, no message: refused next to those
// fields, nothing stored), then writes it properly — 3 days after an order is delivered, a CSAT
// survey, unless the order is returned first; quiet at night; at most one per 30 days — reads it
// in words in the editor and in the list, and switches it off and on again from the list. A
// delivered order posted on a customer (a contact with a conversation in an API inbox) shows as
// a scheduled send in the campaign's sends. In the conversation's contact panel the
// administrator opts the customer out of campaign messages by SMS and email; the choice is kept
// across a reload and by the server (["email", "sms"]). The list and the panel read the same in
// Polish. The campaign is deleted at the end (its scheduled send with it). The server side is
// covered by crates/testkit/tests/api/journeys.rs.
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

const campaignsNamed = async (name) => (await api('GET', '{acc}/journey_campaigns')).payload.filter((c) => c.name === name);

test('a journey campaign written in Settings → Journeys, its sends, and a contact’s opt-outs in the panel', { timeout: 180_000 }, async () => {
  const stamp = Date.now();
  const { id: accountId } = await api('GET', '{acc}');
  const NAME = `Delivery survey ${stamp}`;
  // Event types of this run only: nothing else posts them, no other campaign waits for them.
  const TRIGGER = `e2e_delivered_${stamp}`;
  const CANCEL = `e2e_returned_${stamp}`;
  const WORDS = `3 days after ${TRIGGER}, a CSAT survey, unless ${CANCEL}; not between 21:00 and 08:00; at most 1 per 30 days`;
  const WORDS_PL = `3 dni po zdarzeniu ${TRIGGER}, ankieta CSAT, chyba że wcześniej nadejdzie ${CANCEL}; nie między 21:00 a 08:00; najwyżej 1 na 30 dni`;

  // A customer who wrote through an API inbox: a contact with a conversation.
  const CUSTOMER = `Jonas Journey ${stamp}`;
  const TEXT = `Where is my order? ${stamp}`;
  const inbox = await api('POST', '{acc}/inboxes', { name: `Journeys app ${stamp}`, channel: { type: 'api' } });
  const contact = (await api('POST', '{acc}/contacts', { name: CUSTOMER, email: `jonas.${stamp}@shop.example`, inbox_id: inbox.id })).payload.contact;
  const conversation = await api('POST', '{acc}/conversations', { inbox_id: inbox.id, contact_id: contact.id });
  await api('POST', `{acc}/conversations/${conversation.id}/messages`, { content: TEXT, message_type: 'incoming' });

  let campaign = null;
  try {
    await asAdministrator();
    await inPolish();
  } finally {
    // Deleted with its scheduled send, so that nothing of this run is left to go out.
    if (campaign) await api('DELETE', `{acc}/journey_campaigns/${campaign.id}`).catch(() => {});
  }

  async function asAdministrator() {
    const context = await browser.newContext({ viewport: { width: 1366, height: 1000 } });
    const page = await context.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(e.message));
    try {
      await signIn(page);

      // --- Settings → Journeys: a new campaign.
      await page.locator('nav.rail a', { hasText: 'Settings' }).click();
      await page.locator('.admin nav a', { hasText: 'Journeys' }).click();
      await page.waitForURL(`${BASE}/app/accounts/${accountId}/settings/journeys`);
      await page.locator('[data-testid=journey-campaigns]').waitFor(WAIT);
      await page.getByRole('button', { name: 'New campaign' }).click();
      const editor = page.locator('[data-testid=journey-editor]');
      await editor.waitFor(WAIT);

      // Not an event type, and a message campaign without its message: refused by those fields.
      const trigger = editor.getByLabel('After this business event');
      await editor.getByLabel('Name', { exact: true }).fill(NAME);
      await trigger.fill('order delivered!');
      await editor.getByRole('button', { name: 'Save' }).click();
      const triggerError = editor.locator('.field-error[data-field=trigger_event_type]');
      await triggerError.waitFor(WAIT);
      assert.match(await triggerError.innerText(), /order_delivered/);
      assert.equal(await trigger.getAttribute('aria-invalid'), 'true');
      assert.match(await trigger.getAttribute('aria-describedby'), /jn-error-trigger_event_type/);
      await editor.locator('.field-error[data-field=message]').waitFor(WAIT);
      assert.equal(await editor.locator('.field-error[data-field=name]').count(), 0, 'the name is fine');
      assert.deepEqual(await campaignsNamed(NAME), [], 'nothing was saved');

      // Written properly: the event, 3 days, cancelled by a return, a CSAT survey, quiet at night,
      // at most one per 30 days.
      await trigger.fill(TRIGGER);
      await editor.getByLabel('Wait: amount').fill('3');
      await editor.getByLabel('Wait: unit').selectOption('days');
      await editor.getByLabel('Event type to add').fill(CANCEL);
      await editor.getByRole('button', { name: 'Add', exact: true }).click();
      await editor.locator(`li.cancel-type[data-type="${CANCEL}"]`).waitFor(WAIT);
      await editor.getByRole('radio', { name: 'A satisfaction survey' }).check();
      await editor.getByRole('radio', { name: 'CSAT: a rating from 1 to 5' }).check();
      await editor.getByRole('checkbox', { name: 'Quiet hours', exact: true }).check();
      await editor.getByLabel('Quiet from').fill('21:00');
      await editor.getByLabel('Quiet until').fill('08:00');
      await editor.getByRole('checkbox', { name: 'Limit how often a contact gets campaign messages' }).check();
      await editor.getByLabel('At most (messages)').fill('1');
      await editor.getByLabel('Within (days)').fill('30');
      const summary = editor.locator('[data-testid=journey-summary]');
      await summary.filter({ hasText: WORDS }).waitFor(WAIT);
      assert.equal((await summary.innerText()).trim(), WORDS);
      assert.deepEqual(await axe(page, 'section.body'), [], 'axe on the journeys editor');
      assert.deepEqual(await untranslated(page), [], 'untranslated (editor)');
      await shot(page, 'journeys-editor');
      await editor.getByRole('button', { name: 'Save' }).click();
      await editor.waitFor({ state: 'detached', ...WAIT });
      await page.getByRole('status').filter({ hasText: 'Saved.' }).waitFor(WAIT);

      campaign = await eventually('the campaign', async () => (await campaignsNamed(NAME))[0]);
      assert.equal(campaign.active, true);
      assert.equal(campaign.trigger_event_type, TRIGGER);
      assert.equal(campaign.delay_minutes, 3 * 24 * 60);
      assert.deepEqual(campaign.cancel_on_event_types, [CANCEL]);
      assert.equal(campaign.kind, 'survey');
      assert.equal(campaign.survey_type, 'csat');
      assert.deepEqual(campaign.quiet_hours, { start: '21:00', end: '08:00' });
      assert.deepEqual(campaign.frequency_cap, { max: 1, days: 30 });
      assert.equal(campaign.whatsapp_template ?? null, null);

      // --- The list: the campaign in words; off and on again.
      const rowSelector = `[data-testid=journey-campaigns] tr[data-campaign-id="${campaign.id}"]`;
      const row = page.locator(rowSelector);
      await row.waitFor(WAIT);
      assert.equal((await row.locator('.words').innerText()).trim(), WORDS);
      assert.equal((await row.locator('td.when').innerText()).trim(), `3 days after ${TRIGGER}`);
      assert.equal((await row.locator('td.kind').innerText()).trim(), 'Survey (CSAT)');
      const active = row.getByRole('checkbox', { name: `Active: ${NAME}` });
      assert.equal(await active.isChecked(), true);
      await active.uncheck();
      await page.locator(`${rowSelector}[data-active="false"]`).waitFor(WAIT);
      await eventually('the campaign switched off', async () => (await api('GET', `{acc}/journey_campaigns/${campaign.id}`)).payload.active === false);
      assert.equal(await active.isChecked(), false);
      await active.check();
      await page.locator(`${rowSelector}[data-active="true"]`).waitFor(WAIT);
      await eventually('the campaign switched on', async () => (await api('GET', `{acc}/journey_campaigns/${campaign.id}`)).payload.active === true);
      assert.equal(await active.isChecked(), true);
      assert.deepEqual(await axe(page, 'section.body'), [], 'axe on the journeys list');
      assert.deepEqual(await untranslated(page), [], 'untranslated (list)');
      await shot(page, 'journeys-list');

      // --- An order delivered to the customer: a send scheduled three days ahead.
      await api('POST', `{acc}/contacts/${contact.id}/events`, { event_id: `order-${stamp}`, type: TRIGGER, title: `Order ${stamp}` });
      const [scheduled] = await eventually('the scheduled send', async () => {
        const sends = (await api('GET', `{acc}/journey_campaigns/${campaign.id}/sends`)).payload;
        return sends.length ? sends : null;
      });
      assert.equal(scheduled.status, 'scheduled');
      assert.equal(scheduled.contact_id, contact.id);
      await row.getByRole('button', { name: `Sends of ${NAME}` }).click();
      const sendsView = page.locator(`[data-testid=journey-sends][data-campaign-id="${campaign.id}"]`);
      await sendsView.waitFor(WAIT);
      const send = sendsView.locator(`tr[data-send-id="${scheduled.id}"]`);
      await send.waitFor(WAIT);
      assert.equal(await send.getAttribute('data-status'), 'scheduled');
      await send.filter({ hasText: CUSTOMER }).waitFor(WAIT);
      const sendText = await send.innerText();
      assert.match(sendText, /Scheduled/);
      assert.match(sendText, /due /);
      assert.deepEqual(await axe(page, 'section.body'), [], 'axe on the sends');
      assert.deepEqual(await untranslated(page), [], 'untranslated (sends)');
      await shot(page, 'journeys-sends');

      // --- The contact panel: opted out of campaign messages by SMS and email.
      await page.goto(`${BASE}/app/accounts/${accountId}/conversations/${conversation.id}`);
      await page.locator('article.message', { hasText: TEXT }).waitFor(WAIT);
      let optOuts = page.locator('aside.panel [data-testid=opt-outs]');
      await optOuts.getByRole('heading', { name: 'Campaign messages' }).waitFor(WAIT);
      await optOuts.locator('p.state', { hasText: 'Receives campaign messages' }).waitFor(WAIT);
      await optOuts.getByRole('button', { name: 'Change campaign messages' }).click();
      await optOuts.getByRole('checkbox', { name: 'SMS', exact: true }).check();
      await optOuts.getByRole('checkbox', { name: 'Email', exact: true }).check();
      assert.equal(await optOuts.getByRole('checkbox', { name: 'All channels' }).isChecked(), false);
      assert.deepEqual(await axe(page, 'aside.panel'), [], 'axe on the opt-outs form');
      await optOuts.getByRole('button', { name: 'Save' }).click();
      await optOuts.locator('p.state', { hasText: 'Opted out of: Email and SMS' }).waitFor(WAIT);
      await optOuts.getByRole('status').filter({ hasText: 'Saved.' }).waitFor(WAIT);
      assert.equal(await optOuts.locator('form').count(), 0, 'the form closed');
      await shot(page, 'contact-opt-outs');

      // Reloaded: kept; and the server keeps them sorted.
      await page.reload();
      await page.locator('article.message', { hasText: TEXT }).waitFor(WAIT);
      optOuts = page.locator('aside.panel [data-testid=opt-outs]');
      const state = optOuts.locator('p.state', { hasText: 'Opted out of: Email and SMS' });
      await state.waitFor(WAIT);
      assert.equal(await state.getAttribute('data-channels'), 'email sms');
      assert.deepEqual((await api('GET', `{acc}/contacts/${contact.id}/opt_outs`)).payload.channels, ['email', 'sms']);
      // The form starts from what is stored.
      await optOuts.getByRole('button', { name: 'Change campaign messages' }).click();
      assert.equal(await optOuts.getByRole('checkbox', { name: 'SMS', exact: true }).isChecked(), true);
      assert.equal(await optOuts.getByRole('checkbox', { name: 'Email', exact: true }).isChecked(), true);
      assert.equal(await optOuts.getByRole('checkbox', { name: 'WhatsApp', exact: true }).isChecked(), false);
      await optOuts.getByRole('button', { name: 'Cancel' }).click();
      await optOuts.locator('form').waitFor({ state: 'detached', ...WAIT });
      assert.deepEqual(await axe(page, 'aside.panel'), [], 'axe on the panel');
      assert.deepEqual(await untranslated(page), [], 'untranslated (panel)');
      assert.deepEqual(errors, []);
    } finally {
      await context.close();
    }
  }

  // --- In Polish: the list and the panel.
  async function inPolish() {
    const pl = await browser.newContext({ viewport: { width: 1366, height: 1000 } });
    const plPage = await pl.newPage();
    const plErrors = [];
    plPage.on('pageerror', (e) => plErrors.push(e.message));
    try {
      await signIn(plPage, 'pl');
      await plPage.goto(`${BASE}/app/accounts/${accountId}/settings/journeys`);
      const row = plPage.locator(`[data-testid=journey-campaigns] tr[data-campaign-id="${campaign.id}"]`);
      await row.waitFor(WAIT);
      assert.equal((await row.locator('.words').innerText()).trim(), WORDS_PL);
      assert.equal((await row.locator('td.kind').innerText()).trim(), 'Ankieta (CSAT)');
      assert.deepEqual(await untranslated(plPage), [], 'pl: untranslated (list)');
      await plPage.goto(`${BASE}/app/accounts/${accountId}/conversations/${conversation.id}`);
      const optOuts = plPage.locator('aside.panel [data-testid=opt-outs]');
      await optOuts.getByRole('heading', { name: 'Wiadomości kampanii' }).waitFor(WAIT);
      await optOuts.locator('p.state', { hasText: 'Zrezygnowano z kanałów: E-mail i SMS' }).waitFor(WAIT);
      assert.deepEqual(await untranslated(plPage), [], 'pl: untranslated (panel)');
      assert.deepEqual(plErrors, []);
    } finally {
      await pl.close();
    }
  }
});
