// A Twilio SMS inbox's phone settings (issue #19): an administrator sees the two URLs to paste
// in Twilio's console, sets the IVR in Portuguese — a greeting and a menu (key 1 → the sales
// team, "vendas") —, saves, reloads and finds them kept. A key used twice or a row without a
// team is shown by its row before anything is sent; a team deleted meanwhile is refused by the
// server and its words are shown by the row it names. The call queue (the longest wait, how long
// each agent's phone rings, the hold music) shows its defaults, refuses a ring of 5 seconds by its
// row (the client's check, then the server's), and keeps valid values; callers are offered a call
// back (pressing 2) unless it is turned off, and turned off it stays off. The screen passes axe
// in en, pt-BR and pl. An agent sets the phone rung for queued calls in their profile: saved as
// the server normalises it, refused by the field when it is not international.
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

/** The settings this screen edits (the server may keep others, with their defaults). */
const EDITED = ['language', 'greeting', 'menu', 'voicemail_max_seconds', 'queue_max_wait_seconds', 'agent_ring_seconds', 'hold_music_url'];
const edited = (voice) => Object.fromEntries(EDITED.map((k) => [k, voice[k]]));

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
    assert.equal(await form.getByLabel('Longest wait for an agent, in seconds').inputValue(), '180');
    assert.equal(await form.getByLabel('How long each agent\'s phone rings, in seconds').inputValue(), '20');
    assert.equal(await form.getByLabel('Hold music (address of an audio file)').inputValue(), '');
    await form.getByRole('group', { name: 'Waiting for an agent' }).waitFor(WAIT);

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
    assert.deepEqual(edited((await api('GET', `{acc}/inboxes/${inbox.id}`)).settings.voice), {
      language: 'pt-BR',
      greeting: { 'pt-BR': 'Olá! Você ligou para a Loja.' },
      menu: [{ digit: '1', team_id: sales.id, label: { 'pt-BR': 'vendas' } }],
      voicemail_max_seconds: 120,
      queue_max_wait_seconds: 180,
      agent_ring_seconds: 20,
      hold_music_url: null,
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

    // The call queue: a ring of 5 seconds is refused by its row before anything is sent…
    const ring = kept.getByLabel('How long each agent\'s phone rings, in seconds');
    const wait = kept.getByLabel('Longest wait for an agent, in seconds');
    const music = kept.getByLabel('Hold music (address of an audio file)');
    await wait.fill('240');
    await ring.fill('5');
    await music.fill('https://cdn.example.com/hold-loop.mp3');
    await kept.getByRole('button', { name: 'Save phone settings' }).click();
    const ringError = kept.locator('.error[data-field=agent_ring_seconds]');
    await ringError.filter({ hasText: 'Enter a whole number from 10 to 60.' }).waitFor(WAIT);
    assert.equal(await ring.getAttribute('aria-invalid'), 'true');
    assert.match(await ring.getAttribute('aria-describedby'), new RegExp(await ringError.getAttribute('id')));
    assert.equal(await wait.getAttribute('aria-invalid'), null);
    assert.equal(await kept.locator('.error[data-field]').count(), 1, 'only the ring is at fault');
    assert.equal((await api('GET', `{acc}/inboxes/${inbox.id}`)).settings.voice.agent_ring_seconds, 20, 'nothing was sent');
    assert.deepEqual(await axe(page), [], 'the call queue with an error');

    // …and by the server, whose words are shown by the same row (the body is changed on its way,
    // as another client could send it: the server's own check and message).
    const inboxUrl = new RegExp(`/api/v1/accounts/${accountId}/inboxes/${inbox.id}$`);
    const tamper = (route) => {
      const request = route.request();
      if (request.method() !== 'PATCH') return route.continue();
      const body = JSON.parse(request.postData());
      body.voice.agent_ring_seconds = 5;
      return route.continue({ postData: JSON.stringify(body) });
    };
    await page.route(inboxUrl, tamper);
    await ring.fill('30');
    await kept.getByRole('button', { name: 'Save phone settings' }).click();
    await ringError.filter({ hasText: 'agent_ring_seconds is from 10 to 60' }).waitFor(WAIT);
    assert.equal(await ring.getAttribute('aria-invalid'), 'true');
    assert.equal(await kept.locator('.error[data-field]').count(), 1);
    await page.unroute(inboxUrl, tamper);
    assert.equal((await api('GET', `{acc}/inboxes/${inbox.id}`)).settings.voice.agent_ring_seconds, 20, 'the refused settings were not kept');

    // Valid values are saved, and kept.
    await kept.getByRole('button', { name: 'Save phone settings' }).click();
    await kept.getByRole('status').filter({ hasText: 'Saved' }).waitFor(WAIT);
    assert.equal(await kept.locator('.error').count(), 0);
    assert.equal(await ring.getAttribute('aria-invalid'), null);
    const queued = (await api('GET', `{acc}/inboxes/${inbox.id}`)).settings.voice;
    assert.equal(queued.queue_max_wait_seconds, 240);
    assert.equal(queued.agent_ring_seconds, 30);
    assert.equal(queued.hold_music_url, 'https://cdn.example.com/hold-loop.mp3');
    await page.reload();
    voice = await openVoice(page, accountId, `Loja ${stamp}`);
    assert.equal(await wait.inputValue(), '240');
    assert.equal(await ring.inputValue(), '30');
    assert.equal(await music.inputValue(), 'https://cdn.example.com/hold-loop.mp3');
    assert.deepEqual(await axe(page), [], 'the call queue saved');
    assert.deepEqual(await untranslated(page), []);

    // No queue (0) and no hold music: kept as such.
    await wait.fill('0');
    await music.fill('');
    await kept.getByRole('button', { name: 'Save phone settings' }).click();
    await kept.getByRole('status').filter({ hasText: 'Saved' }).waitFor(WAIT);
    const noQueue = (await api('GET', `{acc}/inboxes/${inbox.id}`)).settings.voice;
    assert.equal(noQueue.queue_max_wait_seconds, 0);
    assert.equal(noQueue.hold_music_url, null);
    assert.equal(await wait.inputValue(), '0');

    // Callers about to queue are offered a call back (pressing 2) unless it is turned off: kept off.
    const offer = kept.getByLabel('Offer to call back');
    assert.equal(await offer.isChecked(), true, 'offered by default');
    assert.match(await offer.getAttribute('aria-describedby'), /voice-callback-help/);
    assert.match(await kept.locator('#voice-callback-help').innerText(), /press 2 to be called back/);
    await offer.uncheck();
    await kept.getByRole('button', { name: 'Save phone settings' }).click();
    for (let i = 0; i < 100 && (await api('GET', `{acc}/inboxes/${inbox.id}`)).settings.voice.offer_callback !== false; i++) await page.waitForTimeout(100);
    assert.equal((await api('GET', `{acc}/inboxes/${inbox.id}`)).settings.voice.offer_callback, false);
    await kept.getByRole('status').filter({ hasText: 'Saved' }).waitFor(WAIT);
    await page.reload();
    voice = await openVoice(page, accountId, `Loja ${stamp}`);
    assert.equal(await offer.isChecked(), false, 'kept off');
    assert.equal(await wait.inputValue(), '0', 'the rest kept too');

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

test('an agent sets the phone rung for queued calls in their profile', { timeout: 120_000 }, async () => {
  const context = await browser.newContext({ viewport: { width: 1366, height: 900 } });
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  try {
    await signIn(page, 'en');
    await page.goto(`${BASE}/app/profile`);
    const phone = page.getByLabel('Phone for calls');
    await phone.waitFor(WAIT);
    assert.equal(await phone.getAttribute('type'), 'tel');
    assert.equal(await phone.getAttribute('autocomplete'), 'tel');
    const form = page.locator('form', { has: phone });
    const help = form.locator('#profile-phone-help');
    assert.match(await help.innerText(), /queue/);
    assert.match(await phone.getAttribute('aria-describedby'), /profile-phone-help/);

    // Saved as the server normalises it.
    await phone.fill('+48 601 234 567');
    await form.getByRole('button', { name: 'Save', exact: true }).click();
    await form.getByRole('status').filter({ hasText: 'Saved' }).waitFor(WAIT);
    assert.equal(await phone.inputValue(), '+48601234567');
    assert.equal((await api('GET', '/api/v1/profile')).phone_number, '+48601234567');
    await page.reload();
    await phone.waitFor(WAIT);
    assert.equal(await phone.inputValue(), '+48601234567', 'kept');

    // A number without its country code: refused by the field, the one kept unchanged.
    await phone.fill('601 000');
    await form.getByRole('button', { name: 'Save', exact: true }).click();
    const refused = form.locator('.field-error[data-field=phone_number]');
    await refused.waitFor(WAIT);
    assert.match(await refused.innerText(), /international number/);
    assert.equal(await phone.getAttribute('aria-invalid'), 'true');
    assert.match(await phone.getAttribute('aria-describedby'), /profile-error-phone_number/);
    assert.equal(await form.getByRole('status').count(), 0);
    assert.equal(await form.getByRole('alert').count(), 0, 'the error is by its field, not repeated below');
    assert.equal((await api('GET', '/api/v1/profile')).phone_number, '+48601234567');
    await phone.scrollIntoViewIfNeeded();
    await shot(page, 'profile-phone');
    assert.deepEqual(await axe(page), [], 'the profile with a refused phone');
    assert.deepEqual(await untranslated(page), []);

    // Emptied: no phone, so no calls.
    await phone.fill('');
    await form.getByRole('button', { name: 'Save', exact: true }).click();
    await form.getByRole('status').filter({ hasText: 'Saved' }).waitFor(WAIT);
    assert.equal(await refused.count(), 0);
    assert.equal(await phone.getAttribute('aria-invalid'), null);
    assert.equal((await api('GET', '/api/v1/profile')).phone_number, null);
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
    await api('PUT', '/api/v1/profile', { profile: { phone_number: '' } });
  }

  for (const [locale, label] of [['pt-BR', 'Telefone para chamadas'], ['pl', 'Telefon do połączeń']]) {
    const ctx = await browser.newContext({ viewport: { width: 1366, height: 900 } });
    const p = await ctx.newPage();
    try {
      await signIn(p, locale);
      await p.goto(`${BASE}/app/profile`);
      await p.getByLabel(label).waitFor(WAIT);
      assert.deepEqual(await axe(p), [], `the profile in ${locale}`);
      assert.deepEqual(await untranslated(p), []);
    } finally {
      await ctx.close();
    }
  }
});
