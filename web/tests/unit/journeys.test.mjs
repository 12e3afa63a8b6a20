// src/lib/journeys.ts (journey campaigns: the delay as a number and a unit, the form and its
// checks, the campaign in words in each language, where a sent message may be) and
// src/lib/optouts.ts (a contact's opt-outs: the panel's choice as the server keeps it, in
// words), loaded by transpiling them with the project's TypeScript (they import nothing).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import ts from 'typescript';

async function load(file) {
  const source = readFileSync(new URL(`../../src/lib/${file}`, import.meta.url), 'utf8');
  const { outputText } = ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } });
  return import(`data:text/javascript;base64,${Buffer.from(outputText).toString('base64')}`);
}
const m = await load('journeys.ts');
const o = await load('optouts.ts');

const catalogue = (locale) => JSON.parse(readFileSync(new URL(`../../src/i18n/${locale}.json`, import.meta.url), 'utf8'));
/** The app's t() over one catalogue: every key must be there. */
const translator = (locale) => {
  const words = catalogue(locale);
  return (key, vars = {}) => {
    assert.ok(key in words, `missing ${key} in ${locale}`);
    return Object.entries(vars).reduce((s, [k, v]) => s.replaceAll(`{${k}}`, String(v)), words[key]);
  };
};
const t = translator('en');
const tPt = translator('pt-BR');
const tPl = translator('pl');

test('the delay: a number and a unit to minutes and back', () => {
  assert.equal(m.toMinutes('3', 'days'), 4_320);
  assert.equal(m.toMinutes('1', 'hours'), 60);
  assert.equal(m.toMinutes(45, 'minutes'), 45);
  assert.equal(m.toMinutes('1,5', 'hours'), 90, 'a decimal comma');
  assert.equal(m.toMinutes('0.5', 'minutes'), 1, 'rounded to whole minutes');
  assert.equal(m.toMinutes('0', 'days'), 0);
  assert.equal(m.toMinutes('', 'days'), null);
  assert.equal(m.toMinutes('  ', 'days'), null);
  assert.equal(m.toMinutes(null, 'days'), null);
  assert.ok(Number.isNaN(m.toMinutes('soon', 'days')));
  assert.deepEqual(m.fromMinutes(4_320), { amount: '3', unit: 'days' });
  assert.deepEqual(m.fromMinutes(60), { amount: '1', unit: 'hours' });
  assert.deepEqual(m.fromMinutes(90), { amount: '90', unit: 'minutes' });
  assert.deepEqual(m.fromMinutes(1_500), { amount: '25', unit: 'hours' });
  assert.deepEqual(m.fromMinutes(0), { amount: '0', unit: 'minutes' });
  assert.deepEqual(m.fromMinutes(null), { amount: '0', unit: 'minutes' });
  for (const minutes of [1, 59, 60, 90, 1_440, 4_320, 10_080, m.MAX_DELAY_MINUTES]) {
    const d = m.fromMinutes(minutes);
    assert.equal(m.toMinutes(d.amount, d.unit), minutes, `${minutes} min round trip`);
  }
  assert.equal(m.MAX_DELAY_MINUTES, 259_200, '180 days, as the server allows');
});

test('event types: normalised, listed, suggested', () => {
  assert.equal(m.normalEventType('  Order_Delivered '), 'order_delivered');
  assert.equal(m.isEventType('order_delivered'), true);
  assert.equal(m.isEventType('shop.order-created2'), true);
  assert.equal(m.isEventType('order delivered'), false);
  assert.equal(m.isEventType(''), false);
  assert.equal(m.isEventType('x'.repeat(65)), false);
  assert.deepEqual(m.parseEventTypes('order_created, Order_Cancelled;refund order_created'), ['order_created', 'order_cancelled', 'refund']);
  assert.deepEqual(m.parseEventTypes(' , '), []);
  const known = m.knownEventTypes([{ trigger_event_type: 'subscription_renewed', cancel_on_event_types: ['order_created', 'zz_custom'] }]);
  assert.ok(known.includes('subscription_renewed') && known.includes('zz_custom') && known.includes('order_delivered'));
  assert.deepEqual(known, [...known].sort(), 'sorted');
  assert.equal(new Set(known).size, known.length, 'each once');
});

const stored = {
  id: 7, name: 'Delivery survey', active: true, trigger_event_type: 'order_delivered', delay_minutes: 4_320,
  cancel_on_event_types: ['order_created'], kind: 'survey', survey_type: 'csat',
  quiet_hours: { start: '21:00', end: '08:00' }, frequency_cap: { max: 1, days: 30 },
  whatsapp_template: { name: 'delivery_survey', language: 'pt_BR', processed_params: { 1: 'Ana' } },
  created_at: 1, updated_at: 2,
};

test('a campaign’s form to the API’s body and back', () => {
  const d = m.toCampaignDraft(stored);
  assert.deepEqual(d.delay, { amount: '3', unit: 'days' });
  assert.equal(d.kind, 'survey');
  assert.equal(d.quiet, true);
  assert.equal(d.cap, true);
  assert.equal(d.template, true);
  assert.equal(d.template_name, 'delivery_survey');
  assert.equal(d.template_language, 'pt_BR');
  assert.deepEqual(m.campaignBody(d), {
    name: 'Delivery survey', active: true, trigger_event_type: 'order_delivered', delay_minutes: 4_320,
    cancel_on_event_types: ['order_created'], kind: 'survey', message: null, survey_type: 'csat',
    quiet_hours: { start: '21:00', end: '08:00' }, frequency_cap: { max: 1, days: 30 },
    whatsapp_template: { processed_params: { 1: 'Ana' }, name: 'delivery_survey', language: 'pt_BR' },
  }, 'the template’s other fields are kept');
  d.cancel_on_event_types.push('refund');
  assert.deepEqual(stored.cancel_on_event_types, ['order_created'], 'the draft is a copy');

  // A message, its options switched off: nulls, so that PATCH clears them.
  Object.assign(d, {
    name: '  Cart reminder ', trigger_event_type: ' Cart_Abandoned ', delay: { amount: '1', unit: 'hours' }, kind: 'message',
    message: '  Oi {{contact.name}}!  ', quiet: false, cap: false, template: false, cancel_on_event_types: ['order_created'],
  });
  assert.deepEqual(m.campaignBody(d), {
    name: 'Cart reminder', active: true, trigger_event_type: 'cart_abandoned', delay_minutes: 60, cancel_on_event_types: ['order_created'],
    kind: 'message', message: 'Oi {{contact.name}}!', survey_type: null, quiet_hours: null, frequency_cap: null, whatsapp_template: null,
  });

  // Quiet hours typed short, a cap typed as text, a template without a language.
  Object.assign(d, { quiet: true, quiet_start: '9:30', quiet_end: '18:00', cap: true, cap_max: '2', cap_days: ' 7 ', template: true, template_name: ' reminder ', template_language: '', template_rest: {} });
  const body = m.campaignBody(d);
  assert.deepEqual(body.quiet_hours, { start: '09:30', end: '18:00' });
  assert.deepEqual(body.frequency_cap, { max: 2, days: 7 });
  assert.deepEqual(body.whatsapp_template, { name: 'reminder' });

  const empty = m.emptyCampaign();
  assert.equal(empty.active, true);
  assert.equal(m.campaignBody(empty).delay_minutes, 1_440, 'a day by default');
  assert.equal(m.toCampaignDraft({ id: 1, name: 'x', active: false, trigger_event_type: 'a', created_at: 0, updated_at: 0 }).kind, 'message', 'fields the server left out');
});

test('the server’s checks, by the field it names', () => {
  const d = m.emptyCampaign();
  assert.deepEqual(m.checkCampaign(d), { name: 'required', trigger_event_type: 'event_type', message: 'message' });
  Object.assign(d, { name: 'Reminder', trigger_event_type: 'Cart_Abandoned', message: 'Still there?' });
  assert.deepEqual(m.checkCampaign(d), {}, 'the trigger is lower-cased');
  d.delay = { amount: '181', unit: 'days' };
  assert.deepEqual(m.checkCampaign(d), { delay_minutes: 'delay' });
  d.delay = { amount: '', unit: 'days' };
  assert.deepEqual(m.checkCampaign(d), { delay_minutes: 'delay' }, 'blank');
  d.delay = { amount: '-1', unit: 'minutes' };
  assert.deepEqual(m.checkCampaign(d), { delay_minutes: 'delay' });
  d.delay = { amount: '180', unit: 'days' };
  assert.deepEqual(m.checkCampaign(d), {}, 'the longest');
  d.delay = { amount: '0', unit: 'minutes' };
  assert.deepEqual(m.checkCampaign(d), {}, 'right away');

  d.cancel_on_event_types = ['order_created', 'bad type!'];
  assert.deepEqual(m.checkCampaign(d), { 'cancel_on_event_types[1]': 'event_type' });
  d.cancel_on_event_types = Array.from({ length: 21 }, (_, i) => `type_${i}`);
  assert.deepEqual(m.checkCampaign(d), { cancel_on_event_types: 'too_many' });
  d.cancel_on_event_types = [];

  d.message = 'x'.repeat(4_001);
  assert.deepEqual(m.checkCampaign(d), { message: 'message' });
  d.kind = 'survey';
  assert.deepEqual(m.checkCampaign(d), {}, 'a survey needs no message');

  Object.assign(d, { quiet: true, quiet_start: '25:00', quiet_end: '8' });
  assert.deepEqual(m.checkCampaign(d), { 'quiet_hours.start': 'time', 'quiet_hours.end': 'time' });
  Object.assign(d, { quiet_start: '21:00', quiet_end: '21:00' });
  assert.deepEqual(m.checkCampaign(d), { 'quiet_hours.end': 'same' });
  Object.assign(d, { quiet_end: '08:00' });
  assert.deepEqual(m.checkCampaign(d), {});

  for (const [max, days] of [[0, 30], [101, 30], [1, 0], [1, 366], ['', 30], [1.5, 30]]) {
    Object.assign(d, { cap: true, cap_max: max, cap_days: days });
    assert.deepEqual(m.checkCampaign(d), { frequency_cap: 'cap' }, `cap ${max} per ${days}`);
  }
  Object.assign(d, { cap_max: 100, cap_days: 365 });
  assert.deepEqual(m.checkCampaign(d), {});

  Object.assign(d, { template: true, template_name: '  ' });
  assert.deepEqual(m.checkCampaign(d), { whatsapp_template: 'template' });
  d.template_name = 'delivery_survey';
  assert.deepEqual(m.checkCampaign(d), {});
  for (const code of ['required', 'event_type', 'too_many', 'delay', 'message', 'time', 'same', 'cap', 'template']) {
    for (const tr of [t, tPt, tPl]) assert.ok(tr(`journeys.check.${code}`));
  }
});

test('a campaign in words, in English, Portuguese and Polish', () => {
  assert.equal(m.campaignWords(stored, t, 'en'),
    '3 days after order_delivered, a CSAT survey, unless order_created; not between 21:00 and 08:00; at most 1 per 30 days; '
    + 'WhatsApp template delivery_survey when the 24-hour window is closed');
  const reminder = { trigger_event_type: 'cart_abandoned', delay_minutes: 60, cancel_on_event_types: ['order_created', 'order_placed'], kind: 'message' };
  assert.equal(m.campaignWords(reminder, t, 'en'), '1 hour after cart_abandoned, a message, unless order_created or order_placed');
  assert.equal(m.campaignWords({ ...reminder, delay_minutes: 0, cancel_on_event_types: [] }, t, 'en'), 'Right after cart_abandoned, a message');
  assert.equal(m.campaignWords({ trigger_event_type: 'order_shipped', delay_minutes: 90, kind: 'survey', survey_type: 'nps' }, t, 'en'),
    '90 minutes after order_shipped, an NPS survey');
  assert.equal(m.campaignWords({ trigger_event_type: '', delay_minutes: NaN, kind: 'message' }, t, 'en'), '… after …, a message', 'a form half written');

  assert.equal(m.campaignWords({ ...stored, whatsapp_template: null }, tPt, 'pt-BR'),
    '3 dias depois de order_delivered, uma pesquisa CSAT, a menos que chegue order_created; não entre 21:00 e 08:00; no máximo 1 a cada 30 dias');
  assert.equal(m.campaignWords({ ...stored, whatsapp_template: null }, tPl, 'pl'),
    '3 dni po zdarzeniu order_delivered, ankieta CSAT, chyba że wcześniej nadejdzie order_created; nie między 21:00 a 08:00; najwyżej 1 na 30 dni');
  assert.equal(m.campaignWords(reminder, tPl, 'pl'), '1 godzinę po zdarzeniu cart_abandoned, wiadomość, chyba że wcześniej nadejdzie order_created lub order_placed',
    'the accusative before “po”');

  // Plurals by each language's rules.
  assert.equal(m.delayWords(1, t, 'en'), '1 minute');
  assert.equal(m.delayWords(2 * 1_440, t, 'en'), '2 days');
  assert.equal(m.delayWords(1_440, tPt, 'pt-BR'), '1 dia');
  assert.equal(m.delayWords(120, tPt, 'pt-BR'), '2 horas');
  assert.equal(m.delayWords(2, tPl, 'pl'), '2 minuty');
  assert.equal(m.delayWords(5, tPl, 'pl'), '5 minut');
  assert.equal(m.delayWords(22 * 60, tPl, 'pl'), '22 godziny');
  assert.equal(m.delayWords(25 * 60, tPl, 'pl'), '25 godzin');
  assert.equal(m.delayWords(1_440, tPl, 'pl'), '1 dzień');
  assert.equal(m.unitWords(30, 'days', tPl, 'pl'), '30 dni');

  assert.equal(m.whenWords(stored, t, 'en'), '3 days after order_delivered');
  assert.equal(m.whenWords({ trigger_event_type: 'cart_abandoned', delay_minutes: 0 }, tPt, 'pt-BR'), 'Logo depois de cart_abandoned');
  assert.equal(m.kindWords(stored, t), 'Survey (CSAT)');
  assert.equal(m.kindWords({ kind: 'survey', survey_type: 'nps' }, tPl), 'Ankieta (NPS)');
  assert.equal(m.kindWords({ kind: 'message' }, tPt), 'Mensagem');
});

test('opt-outs: the panel’s choice as the server keeps it, and in words', () => {
  assert.deepEqual(o.optOutBody(['sms', 'email', 'sms', ' '], false), { channels: ['email', 'sms'] }, 'each once, sorted');
  assert.deepEqual(o.optOutBody(['sms'], true), { channels: ['all'] }, 'every channel: all alone');
  assert.deepEqual(o.optOutBody([], false), { channels: [] }, 'none: they may be contacted again');
  assert.deepEqual(o.optOutDraft(['all']), { all: true, channels: [] });
  assert.deepEqual(o.optOutDraft(['email', 'sms']), { all: false, channels: ['email', 'sms'] });
  assert.equal(o.optOutWords([], t, 'en'), 'Receives campaign messages');
  assert.equal(o.optOutWords(['sms', 'email'], t, 'en'), 'Opted out of: Email and SMS', 'in the panel’s order');
  assert.equal(o.optOutWords(['whatsapp', 'email', 'sms'], t, 'en'), 'Opted out of: Email, SMS, and WhatsApp');
  assert.equal(o.optOutWords(['all'], t, 'en'), 'Opted out of campaign messages on every channel');
  assert.equal(o.optOutWords(['email', 'sms'], tPt, 'pt-BR'), 'Não recebe por: E-mail e SMS');
  assert.equal(o.optOutWords(['email', 'sms'], tPl, 'pl'), 'Zrezygnowano z kanałów: E-mail i SMS');
  assert.equal(o.optOutWords(['pigeon'], t, 'en'), 'Opted out of: pigeon', 'an unknown channel as it is');
  for (const channel of o.OPT_OUT_CHANNELS) assert.notEqual(o.channelName(channel, t), channel, `${channel} has a name`);
  assert.deepEqual([...o.OPT_OUT_CHANNELS].sort(), ['api', 'email', 'facebook_page', 'instagram', 'sms', 'telegram', 'web_widget', 'whatsapp'], 'the server’s channel types');
});
