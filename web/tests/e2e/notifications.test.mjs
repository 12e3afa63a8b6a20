// Mentions and notifications (issue #16): Ana, in English, writes a private note in a customer's
// conversation and picks Jan from the composer's mention list; Jan, signed in at the same time in
// Polish, sees his bell's unread count rise live, opens the list (in Polish), opens the
// conversation from it and finds the note with his name as a mention; the count is gone. axe
// checks both panels. The server side is covered by crates/testkit/tests/api/notifications.rs.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { BASE, launch, api, axe, signInAs, widgetInbox, publicPost, untranslated, shot } from './lib.mjs';

let browser;
before(async () => (browser = await launch()));
after(async () => browser?.close());

const PASSWORD = 'notifications-password-1';
const WAIT = { timeout: 20_000 };

test('a mention in a note notifies the mentioned agent live, in his language', { timeout: 150_000 }, async () => {
  const stamp = Date.now();
  const { id: accountId } = await api('GET', '{acc}');
  const ana = await api('POST', '{acc}/agents', { name: `Ana Notes ${stamp}`, email: `ana.notes.${stamp}@browser.test`, role: 'agent', password: PASSWORD });
  const jan = await api('POST', '{acc}/agents', { name: `Jan${stamp} Kowalski`, email: `jan.notes.${stamp}@browser.test`, role: 'agent', password: PASSWORD });
  const inbox = await widgetInbox(`Notes ${stamp}`);
  // Who is told of what follows the note alone: nothing is assigned on its own.
  await api('PATCH', `{acc}/inboxes/${inbox.id}`, { enable_auto_assignment: false });
  await api('POST', '{acc}/inbox_members', { inbox_id: inbox.id, user_ids: [ana.id, jan.id] });
  const contact = await publicPost(inbox.inbox_identifier, '/contacts', { name: `Zofia Nowak ${stamp}` });
  const conversation = await publicPost(inbox.inbox_identifier, `/contacts/${contact.source_id}/conversations`, {});
  await publicPost(inbox.inbox_identifier, `/contacts/${contact.source_id}/conversations/${conversation.id}/messages`, { content: `Gdzie jest moje zamówienie ${stamp}?` });
  const id = conversation.id;

  const anaContext = await browser.newContext({ viewport: { width: 1366, height: 900 } });
  const janContext = await browser.newContext({ viewport: { width: 1366, height: 900 } });
  const anaPage = await anaContext.newPage();
  const janPage = await janContext.newPage();
  const errors = [];
  for (const p of [anaPage, janPage]) p.on('pageerror', (e) => errors.push(e.message));
  try {
    await signInAs(janPage, jan.email, PASSWORD, 'pl');
    const janBell = janPage.locator('[data-testid=notifications-bell]');
    await janBell.waitFor(WAIT);
    assert.equal(await janPage.locator('[data-testid=notifications-unread]').count(), 0, 'nothing yet');

    await signInAs(anaPage, ana.email, PASSWORD, 'en');
    await anaPage.goto(`${BASE}/app/accounts/${accountId}/conversations/${id}`);
    await anaPage.getByRole('tab', { name: 'Note' }).click();
    const area = anaPage.locator('textarea[name=content]');
    await area.click();
    await area.pressSequentially(`@Jan${stamp}`);
    const option = anaPage.locator('.suggestions button', { hasText: jan.email });
    await option.waitFor(WAIT);
    await option.click();
    await area.pressSequentially('can you check the parcel?');
    await area.press('Enter');
    // Ana sees her note with Jan's name as a mention, not the markup.
    const sent = anaPage.locator('.mention', { hasText: `@Jan${stamp} Kowalski` });
    await sent.waitFor(WAIT);
    assert.equal(await sent.getAttribute('data-mention'), String(jan.id));
    assert.equal(await anaPage.getByText('mention://').count(), 0, 'the markup is never shown');

    // Jan's bell counts it, live.
    const count = janPage.locator('[data-testid=notifications-unread]');
    await count.waitFor(WAIT);
    assert.equal((await count.innerText()).trim(), '1');
    await janBell.click();
    const panel = janPage.locator('#notifications-panel');
    const item = panel.locator(`li[data-conversation="${id}"]`);
    await item.waitFor(WAIT);
    assert.equal(await item.getAttribute('data-notification'), 'conversation_mention');
    const text = await item.innerText();
    assert.match(text, new RegExp(`Ana Notes ${stamp} wspomniał\\(a\\) o Tobie w #${id}`));
    assert.match(text, /can you check the parcel\?/);
    assert.deepEqual(await axe(janPage, '#notifications-panel'), [], 'the panel in Polish');
    assert.deepEqual(await untranslated(janPage), []);
    await shot(janPage, 'notifications');

    await item.locator('button.item').click();
    await janPage.waitForURL(`${BASE}/app/accounts/${accountId}/conversations/${id}`);
    await janPage.locator('.mention', { hasText: `@Jan${stamp} Kowalski` }).waitFor(WAIT);
    await count.waitFor({ state: 'detached', ...WAIT });

    // Ana's own list has nothing of her note; the panel in English passes axe too.
    await anaPage.locator('[data-testid=notifications-bell]').click();
    await anaPage.locator('#notifications-panel').getByText('Nothing new.').waitFor(WAIT);
    assert.deepEqual(await axe(anaPage, '#notifications-panel'), [], 'the panel in English');
    // Jan's list (read now) in Brazilian Portuguese.
    await janPage.evaluate(() => localStorage.setItem('tl.locale', 'pt-BR'));
    await janPage.reload();
    await janBell.click();
    await janPage.locator(`#notifications-panel li[data-conversation="${id}"]`, { hasText: 'mencionou você' }).waitFor(WAIT);
    assert.deepEqual(await axe(janPage, '#notifications-panel'), [], 'the panel in Brazilian Portuguese');
    assert.deepEqual(errors, []);
  } finally {
    await anaContext.close();
    await janContext.close();
  }
});
