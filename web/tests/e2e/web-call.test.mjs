// Issue #19, must-show 2: a visitor on another origin starts a video call from the widget; the
// agent's app rings, the agent accepts, and the two browsers connect peer to peer through the
// sockets' signalling — both see the other's camera playing (the video element's frames
// advance; Chromium's fake devices stand in for camera and microphone). The agent hangs up;
// the widget says so and the call is on the customer's timeline with its medium and outcome.
// In Brazilian Portuguese, with axe on the ringing card and both ends of the call.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, api, hostPage, axe, signInAs, untranslated, shot } from './lib.mjs';

const PASSWORD = 'web-call-password-1';
const WAIT = { timeout: 20_000 };
let browser;
let host;
let inbox;
let agent;

before(async () => {
  browser = await launch(['--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream', '--autoplay-policy=no-user-gesture-required']);
  const stamp = Date.now();
  agent = await api('POST', '{acc}/agents', { name: 'Carla Atendente', email: `carla-${stamp}@calls.test`, role: 'agent', password: PASSWORD });
  inbox = await api('POST', '{acc}/inboxes', {
    name: `Loja ${stamp}`,
    enable_auto_assignment: false,
    channel: { type: 'web_widget', website_url: 'http://localhost', allowed_domains: ['localhost'], web_calls: { enabled: true, video: true } },
  });
  await api('POST', '{acc}/inbox_members', { inbox_id: inbox.id, user_ids: [agent.id] });
  host = await hostPage(inbox.inbox_identifier);
});
after(async () => {
  await browser?.close();
  host?.close();
});

/** Waits until the video element `selector` (in the page or the widget's shadow root) plays the
 * other end's camera: it has a stream, a picture size, and its decoded frames go on rising. */
async function playing(page, selector) {
  const frames = () => page.locator(selector).evaluate((v) => (v.srcObject && v.videoWidth > 0 ? v.getVideoPlaybackQuality().totalVideoFrames : 0));
  await page.waitForFunction(
    (sel) => {
      const find = (root) => root.querySelector(sel) ?? [...root.querySelectorAll('*')].map((e) => e.shadowRoot && find(e.shadowRoot)).find(Boolean);
      const v = find(document);
      return v && v.srcObject && v.videoWidth > 0 && v.getVideoPlaybackQuality().totalVideoFrames > 0;
    },
    selector,
    WAIT,
  );
  const first = await frames();
  await page.waitForFunction(
    ({ sel, before }) => {
      const find = (root) => root.querySelector(sel) ?? [...root.querySelectorAll('*')].map((e) => e.shadowRoot && find(e.shadowRoot)).find(Boolean);
      return find(document).getVideoPlaybackQuality().totalVideoFrames > before + 5;
    },
    { sel: selector, before: first },
    WAIT,
  );
}

test('a video call from the widget, answered in the app, in pt-BR', async () => {
  const agentCtx = await browser.newContext({ locale: 'pt-BR', viewport: { width: 1280, height: 800 } });
  const visitorCtx = await browser.newContext({ locale: 'pt-BR', viewport: { width: 1100, height: 800 } });
  const app = await agentCtx.newPage();
  const visitor = await visitorCtx.newPage();
  const errors = [];
  app.on('pageerror', (e) => errors.push(`agent: ${e.message}`));
  visitor.on('pageerror', (e) => errors.push(`visitor: ${e.message}`));

  await signInAs(app, agent.email, PASSWORD, 'pt-BR');
  // The widget offers calls once it knows an agent is there.
  await visitor.goto(host.url);
  await visitor.locator('#throughline-widget .launcher').click();
  const videoButton = visitor.getByRole('button', { name: 'Chamada de vídeo' });
  await videoButton.waitFor(WAIT);
  assert.equal(await visitor.getByRole('button', { name: 'Ligar para nós' }).count(), 1, 'a voice call is offered too');
  await videoButton.click();
  await visitor.locator('#throughline-widget .call').getByText('Chamando').waitFor(WAIT);

  // The agent's app rings: who, video, which website; axe on the card.
  const card = app.locator('.webcalls li.card');
  await card.waitFor(WAIT);
  assert.match(await card.innerText(), /Chamada de vídeo de Um visitante do site/);
  assert.match(await card.innerText(), new RegExp(inbox.name));
  assert.deepEqual(await axe(app, '.webcalls'), [], 'axe on the ringing card');
  await shot(app, 'web-call-ringing');
  await card.getByRole('button', { name: 'Atender' }).click();

  // Both ends see the other's camera.
  const call = app.locator('[data-testid=web-call]');
  await call.waitFor(WAIT);
  await playing(app, '[data-testid=web-call] video.remote');
  await playing(visitor, 'video.remote');
  await visitor.locator('#throughline-widget .call').getByText('Em chamada com Carla Atendente').waitFor(WAIT);
  assert.deepEqual(await axe(app, '[data-testid=web-call]'), [], 'axe on the agent\'s call');
  assert.deepEqual(await axe(visitor, '#throughline-widget'), [], 'axe on the widget\'s call');
  await shot(app, 'web-call-agent');
  await shot(visitor, 'web-call-visitor');

  // Mute and camera are toggles the screen reader hears.
  const mute = call.getByRole('button', { name: 'Silenciar' });
  await mute.click();
  assert.equal(await call.getByRole('button', { name: 'Ativar som' }).getAttribute('aria-pressed'), 'true');

  // The agent hangs up: the widget says so, and the call is on the record.
  await app.waitForTimeout(1100);
  await call.getByRole('button', { name: 'Desligar', exact: true }).click();
  await visitor.locator('#throughline-widget .call').getByText('Chamada encerrada').waitFor(WAIT);
  await call.getByText('Chamada encerrada').waitFor(WAIT);
  const calls = (await api('GET', `{acc}/calls?limit=5`)).payload;
  const mine = calls.find((c) => c.inbox_id === inbox.id);
  assert.ok(mine, 'the call is listed');
  assert.equal(mine.medium, 'web_video');
  assert.equal(mine.outcome, 'answered');
  assert.equal(mine.agent_id, agent.id);
  assert.ok(mine.duration >= 1, `talked a second at least: ${mine.duration}`);
  const timeline = (await api('GET', `{acc}/contacts/${mine.contact_id}/timeline`)).payload;
  assert.ok(timeline.some((i) => i.kind === 'call' && i.medium === 'web_video' && i.outcome === 'answered'), 'on the customer\'s timeline');

  assert.deepEqual(await untranslated(app), []);
  assert.deepEqual(errors, []);
  await agentCtx.close();
  await visitorCtx.close();
});

test('"Call me back" in the widget, in Polish: the request waits for an agent', async () => {
  const stamp = Date.now();
  // A phone line to call back from (its own number: other tests hold theirs).
  await api('POST', '{acc}/channels/twilio_channel', {
    twilio_channel: { name: `Linia ${stamp}`, account_sid: 'AC0123456789abcdef0123456789abcdef', auth_token: 'secret', phone_number: '+14155238893', medium: 'sms' },
  });
  const site = await api('POST', '{acc}/inboxes', {
    name: `Sklep ${stamp}`,
    channel: { type: 'web_widget', website_url: 'http://localhost', allowed_domains: ['localhost'], web_calls: { callbacks: true } },
  });
  const page = await hostPage(site.inbox_identifier);
  const ctx = await browser.newContext({ locale: 'pl', viewport: { width: 1100, height: 800 } });
  const visitor = await ctx.newPage();
  const errors = [];
  visitor.on('pageerror', (e) => errors.push(e.message));
  try {
    await visitor.goto(page.url);
    await visitor.locator('#throughline-widget .launcher').click();
    // Nobody is online: no call buttons, but the callback form is there.
    await visitor.getByRole('button', { name: 'Oddzwońcie do mnie' }).click();
    assert.equal(await visitor.getByRole('button', { name: 'Zadzwoń do nas' }).count(), 0, 'no browser calls here');
    const form = visitor.locator('#throughline-widget form.callback-form');
    await form.getByLabel('Twój numer telefonu z kodem kraju').fill('12');
    await form.getByRole('button', { name: 'Poproś o telefon' }).click();
    await form.getByRole('alert').waitFor(WAIT);
    assert.match(await form.getByRole('alert').innerText(), /phone_number|country/i, 'the server says what is wrong');
    await form.getByLabel('Twój numer telefonu z kodem kraju').fill('+48 500 600 700');
    await form.getByLabel('Coś, o czym powinniśmy wiedzieć? (opcjonalnie)').fill('Po 15:00');
    assert.deepEqual(await axe(visitor, '#throughline-widget'), [], 'axe on the callback form');
    await form.getByRole('button', { name: 'Poproś o telefon' }).click();
    await visitor.locator('#throughline-widget .callback').getByText('Dziękujemy! Zadzwonimy pod numer +48500600700.').waitFor(WAIT);
    const waiting = (await api('GET', '{acc}/callback_requests')).payload;
    const mine = waiting.find((r) => r.phone_number === '+48500600700' && r.note === 'Po 15:00');
    assert.ok(mine, JSON.stringify(waiting));
    assert.equal(mine.source, 'widget');
    assert.deepEqual(errors, []);
  } finally {
    await ctx.close();
    page.close();
  }
});
