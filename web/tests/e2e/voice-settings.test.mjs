// A Twilio SMS inbox's phone settings (issue #19): an administrator sees the two URLs to paste
// in Twilio's console, sets the IVR in Portuguese — a greeting and a menu (key 1 → the sales
// team, "vendas") —, saves, reloads and finds them kept. A key used twice or a row without a
// team is shown by its row before anything is sent; a team deleted meanwhile is refused by the
// server and its words are shown by the row it names. The screen passes axe in en, pt-BR and pl.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { BASE, launch, api, axe, signIn, untranslated, shot } from './lib.mjs';

let browser;
before(async () => (browser = await launch()));
after(async () => browser?.close());

const WAIT = { timeout: 30_000 };

/** A Twilio SMS inbox (creating it does not call Twilio: the credentials check is separate). */
async function twilioInbox(name) {
  return api('POST', '{acc}/channels/twilio_channel', {
    twilio_channel: { name, account_sid: 'AC0123456789abcdef0123456789abcdef', auth_token: 'browser-tests-token', phone_number: '+14155238886', medium: 'sms' },
  });
}

async function openVoice(page, accountId, name) {
  await page.goto(`${BASE}/app/accounts/${accountId}/settings/inboxes`);
  await page.getByRole('button', { name: new RegExp(name) }).click();
  const voice = page.getByTestId('inbox-voice');
  await voice.locator('form.voice-form').waitFor(WAIT);
  return voice;
}

test('a Twilio number\'s IVR is set, kept, and refused by the row at fault', { timeout: 240_000 }, async () => {
  const stamp = Date.now();
  const { id: accountId } = await api('GET', '{acc}');
  const sales = await api('POST', '{acc}/teams', { name: `Vendas ${stamp}` });
  const support = await api('POST', '{acc}/teams', { name: `Suporte ${stamp}` });
  const inbox = await twilioInbox(`Loja ${stamp}`);
  assert.match(inbox.provider_voice_url, /\/twilio\/voice\/call\/14155238886$/);
  assert.match(inbox.provider_voice_status_url, /\/twilio\/voice\/status\/14155238886$/);

  const context = await browser.newContext({ viewport: { width: 1366, height: 900 } });
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  try {
    await signIn(page, 'en');
    let voice = await openVoice(page, accountId, `Loja ${stamp}`);

    // The URLs to paste at Twilio, each with its copy button.
    assert.equal(await voice.getByTestId('voice-url').innerText(), inbox.provider_voice_url);
    assert.equal(await voice.getByTestId('voice-status-url').innerText(), inbox.provider_voice_status_url);
    await voice.getByRole('button', { name: 'Copy the incoming call URL' }).click();
    await voice.getByRole('button', { name: 'Copied: Incoming call URL' }).waitFor(WAIT);
    await voice.getByRole('button', { name: 'Copy the call status URL' }).waitFor(WAIT);
    assert.match(await voice.getByTestId('voice-how').innerText(), /voicemail/);

    // No settings yet: English, the product's greeting, no menu, 120 seconds.
    const form = voice.locator('form.voice-form');
    assert.equal(await form.getByLabel('Language callers hear').inputValue(), 'en');
    assert.equal(await form.locator('textarea[name=voice_greeting]').getAttribute('placeholder'), `Thank you for calling Loja ${stamp}.`);
    assert.equal(await form.getByLabel('Longest voicemail, in seconds').inputValue(), '120');

    await form.getByLabel('Language callers hear').selectOption('pt-BR');
    const greeting = form.getByLabel('Greeting in Portuguese (Brazil)');
    assert.equal(await greeting.getAttribute('placeholder'), `Obrigado por ligar para Loja ${stamp}.`);
    await greeting.fill('Olá! Você ligou para a Loja.');
    await form.getByRole('button', { name: 'Add an option' }).click();
    await form.getByLabel('Team of option 1').selectOption({ label: sales.name });
    await form.getByLabel('Label of option 1 in Portuguese (Brazil)').fill('vendas');

    // A second option with the same key and no team: refused by its row, nothing sent.
    await form.getByRole('button', { name: 'Add an option' }).click();
    assert.equal(await form.getByLabel('Key of option 2').inputValue(), '2');
    await form.getByLabel('Key of option 2').selectOption('1');
    await form.getByLabel('Label of option 2 in Portuguese (Brazil)').fill('suporte');
    await form.getByRole('button', { name: 'Save phone settings' }).click();
    const second = form.locator('li[data-option="1"]');
    await second.locator('.error[data-part=digit]', { hasText: 'Another option already uses this key.' }).waitFor(WAIT);
    await second.locator('.error[data-part=team]', { hasText: 'Choose the team this key leads to.' }).waitFor(WAIT);
    assert.equal(await form.getByLabel('Key of option 2').getAttribute('aria-invalid'), 'true');
    assert.equal(await form.getByLabel('Team of option 2').getAttribute('aria-invalid'), 'true');
    assert.equal(await form.locator('li[data-option="0"] .error').count(), 0, 'the first row is fine');
    assert.deepEqual(await axe(page), [], 'the phone settings with errors');
    assert.equal((await api('GET', `{acc}/inboxes/${inbox.id}`)).settings.voice, undefined, 'nothing was sent');

    await form.getByRole('button', { name: 'Remove option 2' }).click();
    await form.getByRole('button', { name: 'Save phone settings' }).click();
    await form.getByRole('status').filter({ hasText: 'Saved' }).waitFor(WAIT);
    assert.equal(await form.locator('.error').count(), 0);
    assert.deepEqual((await api('GET', `{acc}/inboxes/${inbox.id}`)).settings.voice, {
      language: 'pt-BR',
      greeting: { 'pt-BR': 'Olá! Você ligou para a Loja.' },
      menu: [{ digit: '1', team_id: sales.id, label: { 'pt-BR': 'vendas' } }],
      voicemail_max_seconds: 120,
    });
    assert.deepEqual(await axe(page), [], 'the phone settings in en');
    assert.deepEqual(await untranslated(page), []);

    // Kept: reloaded, the form shows what was saved.
    await page.reload();
    voice = await openVoice(page, accountId, `Loja ${stamp}`);
    const kept = voice.locator('form.voice-form');
    assert.equal(await kept.getByLabel('Language callers hear').inputValue(), 'pt-BR');
    assert.equal(await kept.getByLabel('Greeting in Portuguese (Brazil)').inputValue(), 'Olá! Você ligou para a Loja.');
    assert.equal(await kept.getByLabel('Key of option 1').inputValue(), '1');
    assert.equal(await kept.getByLabel('Team of option 1').locator('option:checked').innerText(), sales.name);
    assert.equal(await kept.getByLabel('Label of option 1 in Portuguese (Brazil)').inputValue(), 'vendas');
    await kept.getByRole('button', { name: 'Save phone settings' }).scrollIntoViewIfNeeded();
    await shot(page, 'voice-settings');

    // A team deleted while the form is open: the server refuses it, by its row.
    await kept.getByRole('button', { name: 'Add an option' }).click();
    await kept.getByLabel('Team of option 2').selectOption({ label: support.name });
    await kept.getByLabel('Label of option 2 in Portuguese (Brazil)').fill('suporte');
    await api('DELETE', `{acc}/teams/${support.id}`);
    await kept.getByRole('button', { name: 'Save phone settings' }).click();
    const refused = kept.locator('li[data-option="1"] .error[data-part=team]');
    await refused.waitFor(WAIT);
    assert.match(await refused.innerText(), new RegExp(`team ${support.id}`));
    assert.equal(await kept.getByLabel('Team of option 2').getAttribute('aria-invalid'), 'true');
    assert.equal(await kept.locator('li[data-option="0"] .error').count(), 0);
    assert.equal((await api('GET', `{acc}/inboxes/${inbox.id}`)).settings.voice.menu.length, 1, 'the refused menu was not kept');
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
  }

  // The same screen in the other two languages: translated, and axe clean.
  for (const [locale, title] of [['pt-BR', 'Chamadas telefônicas'], ['pl', 'Połączenia telefoniczne']]) {
    const ctx = await browser.newContext({ viewport: { width: 1366, height: 900 } });
    const p = await ctx.newPage();
    try {
      await signIn(p, locale);
      const voice = await openVoice(p, accountId, `Loja ${stamp}`);
      await voice.getByRole('heading', { name: title }).waitFor(WAIT);
      assert.deepEqual(await axe(p), [], `the phone settings in ${locale}`);
      assert.deepEqual(await untranslated(p), []);
    } finally {
      await ctx.close();
    }
  }
});
