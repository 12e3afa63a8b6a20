// Issue #19: recordings, wrap-up and the calls report. An administrator turns on "Record
// answered calls" in a phone line's settings (callers are told the call may be recorded) and it
// is kept. A visitor calls from a website inbox's widget with nobody to answer: the call ends at
// once, missed. Reports → Calls counts it (that inbox: one call in, missed, a 0% answer rate, no
// wait to average, nobody's talk time), refuses a service level of 0 seconds by its field, says
// so when the figures are partial; in en, pt-BR and pl, axe clean, nothing untranslated. On the
// contact's timeline the administrator wraps the missed call up — a disposition too long is
// refused by the server, by its field —, and the disposition and notes are shown and kept; a
// recorded call shows a player (the recording is a stand-in: Twilio records, and the browser
// tests have no fake of it).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { BASE, launch, api, axe, signIn, untranslated, shot, publicPost } from './lib.mjs';

let browser;
before(async () => (browser = await launch()));
after(async () => browser?.close());

const WAIT = { timeout: 30_000 };

test('recording answered calls is turned on in a phone line\'s settings, and kept', { timeout: 180_000 }, async () => {
  const stamp = Date.now();
  const { id: accountId } = await api('GET', '{acc}');
  // Its number is neither voice-settings.test.mjs's nor callbacks.test.mjs's (an account's
  // numbers are one inbox's each).
  const line = await api('POST', '{acc}/channels/twilio_channel', {
    twilio_channel: { name: `Gravação ${stamp}`, account_sid: 'AC0123456789abcdef0123456789abcdef', auth_token: 'browser-tests-token', phone_number: '+14155238889', medium: 'sms' },
  });
  const context = await browser.newContext({ viewport: { width: 1366, height: 900 } });
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  const openVoice = async () => {
    await page.goto(`${BASE}/app/accounts/${accountId}/settings/inboxes`);
    await page.getByRole('button', { name: new RegExp(`Gravação ${stamp}`) }).click();
    const form = page.getByTestId('inbox-voice').locator('form.voice-form');
    await form.waitFor(WAIT);
    return form;
  };
  try {
    await signIn(page, 'en');
    let form = await openVoice();
    const record = () => form.getByRole('switch', { name: 'Record answered calls' });
    assert.equal(await record().isChecked(), false, 'off by default');
    assert.match(await record().getAttribute('aria-describedby'), /voice-record-help/);
    assert.match(await form.locator('#voice-record-help').innerText(), /This call may be recorded/);
    await record().check();
    await form.getByRole('button', { name: 'Save phone settings' }).click();
    await form.getByRole('status').filter({ hasText: 'Saved' }).waitFor(WAIT);
    const voice = (await api('GET', `{acc}/inboxes/${line.id}`)).settings.voice;
    assert.equal(voice.record_calls, true);
    assert.equal(voice.offer_callback, true, 'the other settings as they were');
    await record().scrollIntoViewIfNeeded();
    await shot(page, 'voice-record-calls');
    assert.deepEqual(await axe(page), [], 'the phone settings with recording on');
    assert.deepEqual(await untranslated(page), []);

    await page.reload();
    form = await openVoice();
    assert.equal(await record().isChecked(), true, 'kept');
    await record().uncheck();
    await form.getByRole('button', { name: 'Save phone settings' }).click();
    await form.getByRole('status').filter({ hasText: 'Saved' }).waitFor(WAIT);
    assert.equal((await api('GET', `{acc}/inboxes/${line.id}`)).settings.voice.record_calls, false, 'turned off again');
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
    // An SMS line would become a reply channel of later tests' customers with a phone number.
    await api('DELETE', `{acc}/inboxes/${line.id}`);
  }
});

test('a missed web call is counted in Reports → Calls and wrapped up on the timeline', { timeout: 240_000 }, async () => {
  const stamp = Date.now();
  const { id: accountId } = await api('GET', '{acc}');
  const me = await api('GET', '/api/v1/profile');
  const inbox = await api('POST', '{acc}/inboxes', {
    name: `Chamadas ${stamp}`,
    enable_auto_assignment: false,
    channel: { type: 'web_widget', website_url: 'http://localhost', allowed_domains: ['localhost'], web_calls: { enabled: true } },
  });
  // A visitor calls on their conversation; nobody's app is open in that inbox: missed at once.
  const visitor = await publicPost(inbox.inbox_identifier, '/contacts', { name: `Rita Calls ${stamp}` });
  const conversation = await publicPost(inbox.inbox_identifier, `/contacts/${visitor.source_id}/conversations`, {});
  const { call } = await publicPost(inbox.inbox_identifier, `/contacts/${visitor.source_id}/calls`, { conversation_id: conversation.id });
  assert.equal(call.medium, 'web_voice');
  assert.equal(call.outcome, 'missed', JSON.stringify(call));
  assert.equal(call.agent_id, null);
  const contactId = (await api('GET', `{acc}/conversations/${conversation.id}`)).meta.sender.id;

  const context = await browser.newContext({ viewport: { width: 1366, height: 900 } });
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  try {
    await signIn(page, 'en');

    // --- Reports → Calls.
    await page.locator('nav.rail a', { hasText: 'Reports' }).click();
    await page.waitForURL(`${BASE}/app/accounts/${accountId}/reports/satisfaction`);
    const calls = page.locator('.reports nav').getByRole('link', { name: 'Calls' });
    await calls.click();
    await page.waitForURL(`${BASE}/app/accounts/${accountId}/reports/calls`);
    assert.equal(await calls.getAttribute('aria-current'), 'page');
    const body = page.locator('section.body');
    await body.getByRole('heading', { name: 'Calls', level: 1 }).waitFor(WAIT);
    const figure = (name) => body.locator(`[data-figure=${name}] dd.value`);
    await figure('missed').waitFor(WAIT);
    assert.ok(Number((await figure('missed').innerText()).replace(/\D/g, '')) >= 1, 'the account\'s calls: the missed call among them');
    assert.equal(await body.getByLabel('Period').inputValue(), '7');

    // That inbox's calls today: the one missed call.
    await body.getByLabel('Inbox').selectOption({ label: inbox.name });
    await body.getByLabel('Period').selectOption('today');
    await page.waitForFunction(() => document.querySelector('[data-figure=inbound] dd.value')?.textContent === '1', null, WAIT);
    const shown = async () => Object.fromEntries(await body.locator('[data-figure]').evaluateAll((cards) =>
      cards.map((c) => [c.dataset.figure, c.querySelector('dd.value').textContent.trim()])));
    await page.waitForFunction(() => document.querySelector('[data-figure=missed] dd.value')?.textContent === '1', null, WAIT);
    assert.deepEqual(await shown(), {
      inbound: '1', outbound: '0', answered: '0', missed: '1', abandoned: '0', voicemail: '0', callback: '0',
      answer_rate: '0%', abandon_rate: '0%', service_level: '0%', average_wait: '—', longest_wait: '—', talk: '0 sec', average_talk: '—',
    });
    assert.match(await body.locator('[data-figure=service_level] dd.help').innerText(), /answered within 20 sec/);
    assert.match(await body.getByTestId('calls-agents').innerText(), /No answered calls in this period\./);
    assert.equal(await body.getByTestId('calls-truncated').count(), 0);
    assert.deepEqual(await axe(page, 'section.body'), [], 'axe on the calls report');
    assert.deepEqual(await untranslated(page), []);
    await shot(page, 'calls-report');

    // The service level's threshold: 0 is refused by its field, 30 is asked for.
    const threshold = body.getByLabel('Service level target, in seconds');
    await threshold.fill('0');
    await threshold.press('Enter');
    const thresholdError = body.locator('.field-error[data-field=service_level_seconds]');
    await thresholdError.filter({ hasText: 'Enter a whole number from 1 to 3,600.' }).waitFor(WAIT);
    assert.equal(await threshold.getAttribute('aria-invalid'), 'true');
    assert.match(await threshold.getAttribute('aria-describedby'), /calls-threshold-error/);
    assert.deepEqual(await axe(page, 'section.body'), [], 'axe on the refused threshold');
    const asked = page.waitForRequest((r) => r.url().includes('/calls/metrics?') && r.url().includes('service_level_seconds=30'));
    await threshold.fill('30');
    await threshold.press('Enter');
    await asked;
    await body.locator('[data-figure=service_level] dd.help', { hasText: 'answered within 30 sec' }).waitFor(WAIT);
    assert.equal(await thresholdError.count(), 0);
    assert.equal(await threshold.getAttribute('aria-invalid'), null);

    // More calls than one report reads: the figures say they are partial (the answer is changed
    // on its way: 100,000 calls are too many to make here).
    const metricsUrl = /\/calls\/metrics\?/;
    const partial = async (route) => {
      const response = await route.fetch();
      return route.fulfill({ response, json: { ...(await response.json()), truncated: true } });
    };
    await page.route(metricsUrl, partial);
    await body.getByLabel('Period').selectOption('30');
    await body.getByTestId('calls-truncated').waitFor(WAIT);
    assert.match(await body.getByTestId('calls-truncated').innerText(), /first 100,000 calls/);
    assert.deepEqual(await axe(page, 'section.body'), [], 'axe on the partial report');
    await page.unroute(metricsUrl, partial);

    // --- The contact's timeline: the missed call, wrapped up by the administrator. Its
    // recording is a stand-in (the timeline's answer is changed on its way: nothing was recorded).
    const recordingUrl = `/api/v1/accounts/${accountId}/calls/${call.id}/recording`;
    await page.route(new RegExp(`/contacts/${contactId}/timeline`), async (route) => {
      const response = await route.fetch();
      const data = await response.json();
      for (const item of data.payload) if (item.kind === 'call' && item.id === call.id) item.recording_url = recordingUrl;
      return route.fulfill({ response, json: data });
    });
    await page.goto(`${BASE}/app/accounts/${accountId}/contacts/${contactId}`);
    const item = page.locator('.page .timeline li[data-kind=call]');
    await item.waitFor(WAIT);
    assert.match(await item.innerText(), /Voice call from the website/);
    await item.locator('.chip[data-outcome=missed]').waitFor(WAIT);
    const player = item.locator('audio');
    assert.equal(await player.getAttribute('src'), recordingUrl);
    assert.equal(await player.getAttribute('preload'), 'none');
    assert.equal(await player.getAttribute('controls'), '');
    assert.match(await player.getAttribute('aria-label'), /^Recording of the call \(/);
    assert.equal(await item.locator('.chip.disposition').count(), 0, 'not wrapped up yet');

    await item.getByRole('button', { name: 'Wrap up' }).click();
    const form = item.getByRole('form', { name: 'Wrap-up of the call' });
    const disposition = form.getByLabel('Disposition');
    await disposition.waitFor(WAIT);
    assert.equal(await disposition.evaluate((e) => e === document.activeElement), true, 'the form opens on its first field');
    const choices = await disposition.evaluate((e) => [...e.list.options].map((o) => o.value));
    assert.deepEqual(choices, ['resolved', 'follow-up', 'sale', 'complaint', 'wrong number', 'transferred']);
    assert.equal(await disposition.getAttribute('maxlength'), '64');

    // Refused by the server, by its field (the body is changed on its way, as another client
    // could send it: the server's own check and words).
    const callUrl = new RegExp(`/api/v1/accounts/${accountId}/calls/${call.id}$`);
    const tooLong = (route) => route.continue({ postData: JSON.stringify({ ...JSON.parse(route.request().postData()), disposition: 'x'.repeat(65) }) });
    await page.route(callUrl, tooLong);
    await disposition.fill('wrong number');
    await form.getByLabel('Notes').fill(`Asked for the bakery next door ${stamp}`);
    await form.getByRole('button', { name: 'Save wrap-up' }).click();
    const refused = form.locator('.field-error[data-field=disposition]');
    await refused.waitFor(WAIT);
    assert.match(await refused.innerText(), /too long/);
    assert.equal(await disposition.getAttribute('aria-invalid'), 'true');
    assert.match(await disposition.getAttribute('aria-describedby'), new RegExp(await refused.getAttribute('id')));
    assert.equal(await form.getByRole('alert').count(), 0, 'the error is by its field');
    assert.deepEqual(await axe(page, '.page .timeline'), [], 'axe on the refused wrap-up');
    await shot(page, 'call-wrap-up-refused');
    await page.unroute(callUrl, tooLong);

    await form.getByRole('button', { name: 'Save wrap-up' }).click();
    await item.getByRole('status').filter({ hasText: 'Wrap-up saved.' }).waitFor(WAIT);
    assert.equal(await form.count(), 0, 'the form closes');
    assert.equal(await item.getByRole('button', { name: 'Edit wrap-up' }).evaluate((e) => e === document.activeElement), true, 'focus back on its button');
    assert.equal(await item.locator('.chip.disposition').textContent(), 'Disposition: wrong number');
    assert.match(await item.getByTestId('wrap-up-notes').innerText(), new RegExp(`Notes: Asked for the bakery next door ${stamp}`));
    const stored = (await api('GET', '{acc}/calls?limit=200')).payload.find((c) => c.id === call.id);
    assert.equal(stored.disposition, 'wrong number');
    assert.equal(stored.wrap_up_notes, `Asked for the bakery next door ${stamp}`);
    assert.equal(stored.wrapped_up_by, me.id);
    await item.scrollIntoViewIfNeeded();
    await shot(page, 'call-wrap-up');
    assert.deepEqual(await axe(page), [], 'axe on the contact page with the wrap-up');
    assert.deepEqual(await untranslated(page), []);

    // Kept: reloaded, the timeline shows it.
    await page.reload();
    await item.locator('.chip.disposition', { hasText: 'wrong number' }).waitFor(WAIT);
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
  }

  // The report and the wrap-up in the other two languages: translated, and axe clean.
  for (const [locale, report, edit] of [['pt-BR', 'Chamadas', 'Editar pós-atendimento'], ['pl', 'Połączenia', 'Edytuj podsumowanie']]) {
    const ctx = await browser.newContext({ viewport: { width: 1366, height: 900 } });
    const p = await ctx.newPage();
    try {
      await signIn(p, locale);
      await p.goto(`${BASE}/app/accounts/${accountId}/reports/calls`);
      await p.locator('section.body').getByRole('heading', { name: report, level: 1 }).waitFor(WAIT);
      await p.locator('[data-figure=missed] dd.value').waitFor(WAIT);
      assert.deepEqual(await axe(p, 'section.body'), [], `the calls report in ${locale}`);
      assert.deepEqual(await untranslated(p), []);
      await p.goto(`${BASE}/app/accounts/${accountId}/contacts/${contactId}`);
      const item = p.locator('.page .timeline li[data-kind=call]');
      await item.getByRole('button', { name: edit }).click();
      await item.getByRole('form').waitFor(WAIT);
      assert.deepEqual(await axe(p, '.page .timeline'), [], `the wrap-up form in ${locale}`);
      assert.deepEqual(await untranslated(p), []);
    } finally {
      await ctx.close();
    }
  }
});
