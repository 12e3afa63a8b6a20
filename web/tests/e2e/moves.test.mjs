// Issue #5: the agent merges two conversations of one customer from the contact sidebar and
// splits a message out into a new conversation (the server side is covered by
// crates/testkit/tests/api/moves.rs; this shows an agent can do it in the UI). Also: channel
// icons are labelled SVG (no emoji font on this Chromium), and below 1200 px the contact panel
// is reachable through the header's toggle.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { BASE, launch, api, axe, signIn, untranslated, shot } from './lib.mjs';

let browser;
before(async () => (browser = await launch()));
after(async () => browser?.close());

/** A customer of a fresh API inbox with two conversations, one message each. */
async function customerWithTwoConversations(name, texts) {
  const inbox = await api('POST', '{acc}/inboxes', { name: `Shop app ${name}`, channel: { type: 'api' } });
  const pub = `${BASE}/public/api/v1/inboxes/${inbox.inbox_identifier}`;
  const post = (path, body) =>
    fetch(`${pub}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }).then(async (r) => {
      assert.equal(r.status, 200, `${path}: ${r.status}`);
      return r.json();
    });
  const contact = await post('/contacts', { name });
  const ids = [];
  for (const content of texts) {
    const conversation = await post(`/contacts/${contact.source_id}/conversations`, {});
    await post(`/contacts/${contact.source_id}/conversations/${conversation.id}/messages`, { content });
    ids.push(conversation.id);
  }
  assert.notEqual(ids[0], ids[1], 'two conversations');
  const first = await api('GET', `{acc}/conversations/${ids[0]}`);
  return { ids, accountId: first.account_id, inbox };
}

test('merge from the sidebar, then split a message out into a new conversation', async () => {
  const stamp = Date.now();
  const FIRST = `My parcel ${stamp} is late`;
  const SECOND = `Also invoice ${stamp} is wrong`;
  const { ids: [target, source], accountId } = await customerWithTwoConversations(`Dana Moves ${stamp}`, [FIRST, SECOND]);
  const url = (id) => `${BASE}/app/accounts/${accountId}/conversations/${id}`;

  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await signIn(page);
  // A second agent window (its own context: a background tab would get no animation frames)
  // watches the conversation that is about to be merged away.
  const watcherCtx = await browser.newContext({ viewport: { width: 1280, height: 900 }, storageState: await context.storageState() });
  const watcher = await watcherCtx.newPage();
  await watcher.goto(url(source));
  await watcher.locator('article.message', { hasText: SECOND }).waitFor();

  await page.goto(url(target));
  await page.locator('article.message', { hasText: FIRST }).waitFor();
  // Channel icons: inline SVG labelled with the channel's name, drawn with a real size.
  const icon = page.locator('article.message .channel svg.channel-icon').first();
  assert.equal(await icon.getAttribute('role'), 'img');
  assert.equal(await icon.getAttribute('aria-label'), 'API');
  const box = await icon.boundingBox();
  assert.ok(box && box.width >= 10 && box.height >= 10, `icon drawn: ${JSON.stringify(box)}`);
  assert.equal(await page.evaluate(() => /\p{Extended_Pictographic}/u.test(document.body.innerText)), false, 'no emoji on screen');

  // Merge the other conversation into this one, from the sidebar, after a confirmation.
  const other = page.locator(`[data-other-conversation="${source}"]`);
  await other.getByRole('button', { name: 'Merge into this conversation' }).click();
  await other.getByText(`Merge #${source} into #${target}?`).waitFor();
  await other.getByRole('button', { name: 'Merge', exact: true }).click();
  await page.locator('article.message', { hasText: SECOND }).waitFor();
  await page.locator('article.message', { hasText: FIRST }).waitFor();
  await page.locator('p.activity', { hasText: `merged conversation #${source} into this one` }).waitFor();
  await other.getByText(`merged into #${target}`).waitFor();
  const merged = await api('GET', `{acc}/conversations/${source}`);
  assert.equal(merged.additional_attributes.merged_into, target);
  assert.equal(merged.status, 'resolved');

  // The watching tab refreshed live: its conversation is empty now and says where it went.
  const banner = watcher.locator('.banner.merged');
  await banner.waitFor();
  assert.equal((await banner.innerText()).trim(), `This conversation was merged into #${target}.`);
  await watcher.locator('article.message', { hasText: SECOND }).waitFor({ state: 'detached' });
  await banner.getByRole('link', { name: `#${target}` }).click();
  await watcher.waitForURL(url(target));
  await watcher.locator('article.message', { hasText: SECOND }).waitFor();
  await shot(watcher, 'merged');

  // Split the second message back out: selection mode, tick it, split → the new conversation opens.
  await page.getByRole('button', { name: 'Split…' }).click();
  assert.equal(await page.locator('p.activity input[type=checkbox]').count(), 0, 'activity lines cannot be picked');
  assert.deepEqual(await axe(page), [], 'axe with the selection mode on');
  await page.locator('article.message', { hasText: SECOND }).getByRole('checkbox', { name: 'Select this message' }).check();
  await page.getByText('Messages selected: 1').waitFor();
  await page.getByRole('button', { name: 'Split into a new conversation' }).click();
  await page.waitForURL((u) => /\/conversations\/\d+$/.test(u.pathname) && !u.pathname.endsWith(`/${target}`));
  const created = Number(/conversations\/(\d+)$/.exec(page.url())[1]);
  assert.ok(created !== target && created !== source, `a new conversation: ${created}`);
  await page.locator('article.message', { hasText: SECOND }).waitFor();
  assert.equal(await page.locator('article.message', { hasText: FIRST }).count(), 0);
  const splitBanner = page.locator('.banner.split');
  assert.equal((await splitBanner.innerText()).trim(), `This conversation was split out of #${target}.`);
  // The watcher, on the target, loses the message live.
  await watcher.locator('article.message', { hasText: SECOND }).waitFor({ state: 'detached' });
  await watcher.locator('p.activity', { hasText: `moved messages to the new conversation #${created}` }).waitFor();
  const split = await api('GET', `{acc}/conversations/${created}`);
  assert.equal(split.additional_attributes.split_from, target);
  await shot(page, 'split');

  // Refused by the server (it must leave a message behind): its words are shown.
  await page.getByRole('button', { name: 'Split…' }).click();
  await page.locator('article.message', { hasText: SECOND }).getByRole('checkbox').check();
  await page.getByRole('button', { name: 'Split into a new conversation' }).click();
  const refusal = page.locator('.split-bar [role=alert]');
  await refusal.waitFor();
  assert.ok((await refusal.innerText()).trim().length > 5, 'the server message is shown');
  assert.match(page.url(), new RegExp(`/conversations/${created}$`), 'stays on the conversation');

  assert.deepEqual(await untranslated(page), []);
  assert.deepEqual(await untranslated(watcher), []);
  assert.deepEqual(errors, []);
  await watcherCtx.close();
  await context.close();
});

test('below 1200 px the contact panel opens from the conversation header', async () => {
  const stamp = Date.now();
  const { ids: [target, source], accountId } = await customerWithTwoConversations(`Tablet ${stamp}`, [`Tablet one ${stamp}`, `Tablet two ${stamp}`]);
  for (const locale of ['en', 'pl']) {
    const context = await browser.newContext({ viewport: { width: 1024, height: 768 }, locale });
    const page = await context.newPage();
    await signIn(page, locale);
    await page.goto(`${BASE}/app/accounts/${accountId}/conversations/${target}`);
    await page.locator('article.message').first().waitFor();
    const panel = page.locator('#contact-panel');
    assert.equal(await panel.isVisible(), false, 'hidden at first');
    const toggle = page.locator('button[aria-controls=contact-panel]');
    assert.equal(await toggle.getAttribute('aria-expanded'), 'false');
    await toggle.click();
    await panel.waitFor({ state: 'visible' });
    assert.equal(await toggle.getAttribute('aria-expanded'), 'true');
    // Merge suggestions, the journey and the other conversations (with the merge action) are reachable.
    await panel.locator('#merge-title').waitFor({ state: 'visible' });
    await panel.locator('#journey-title').waitFor({ state: 'visible' });
    await panel.locator(`[data-other-conversation="${source}"] button.merge-here`).waitFor({ state: 'visible' });
    if (locale === 'en') {
      assert.deepEqual(await axe(page), [], 'axe with the drawer open');
      await shot(page, 'tablet-contact-panel');
    }
    assert.deepEqual(await untranslated(page), []);
    // Focus moves into the drawer; Escape closes it and gives focus back to the toggle.
    assert.equal(await page.evaluate(() => document.activeElement?.classList.contains('panel-close')), true);
    await page.keyboard.press('Escape');
    await panel.waitFor({ state: 'hidden' });
    assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('aria-controls')), 'contact-panel');
    await toggle.click();
    await panel.locator('.panel-close').click();
    await panel.waitFor({ state: 'hidden' });
    await context.close();
  }
});
