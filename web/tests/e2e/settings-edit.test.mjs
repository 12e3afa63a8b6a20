// Every setting editable after creation (issue #16): an administrator renames a label, gives a
// team its members, defines a contact attribute, changes a webhook's events and makes it a new
// signing secret, and chooses what the email digest tells them; each screen passes axe in en,
// pt-BR and pl.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { BASE, launch, api, axe, signIn, untranslated } from './lib.mjs';

let browser;
before(async () => (browser = await launch()));
after(async () => browser?.close());

const WAIT = { timeout: 30_000 };

test('labels, teams, attributes and webhooks are edited in place', { timeout: 240_000 }, async () => {
  const stamp = Date.now();
  const { id: accountId } = await api('GET', '{acc}');
  const label = await api('POST', '{acc}/labels', { title: `old-${stamp}`, color: '#112233' });
  const team = await api('POST', '{acc}/teams', { name: `Team ${stamp}` });
  const hook = await api('POST', '{acc}/webhooks', { url: `https://hooks.example.com/${stamp}`, subscriptions: ['message_created'] });
  const agent = await api('POST', '{acc}/agents', { name: `Member ${stamp}`, email: `member.${stamp}@browser.test`, role: 'agent' });
  const context = await browser.newContext({ viewport: { width: 1366, height: 900 } });
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  const settings = (s) => page.goto(`${BASE}/app/accounts/${accountId}/settings/${s}`);
  try {
    await signIn(page, 'en');
    await page.locator('nav.rail').waitFor(WAIT);

    // A label renamed: the server's own check shows beside the field first.
    await settings('labels');
    const row = page.locator(`tr[data-item="${label.id}"]`);
    await row.getByRole('button', { name: 'Edit' }).click();
    const form = page.locator('form.create');
    await form.getByLabel('Title').fill('not a valid title!');
    await form.getByRole('button', { name: 'Save' }).click();
    await form.locator('.error').first().waitFor(WAIT);
    await form.getByLabel('Title').fill(`renamed-${stamp}`);
    await form.getByRole('button', { name: 'Save' }).click();
    await page.locator(`tr[data-item="${label.id}"]`, { hasText: `renamed-${stamp}` }).waitFor(WAIT);

    // A team gets its member.
    await settings('teams');
    await page.locator(`tr[data-item="${team.id}"]`).getByRole('button', { name: 'Members' }).click();
    await page.locator('fieldset.members').getByLabel(`Member ${stamp}`).check();
    await page.locator('fieldset.members').getByRole('button', { name: 'Save' }).click();
    await page.locator('fieldset.members').waitFor({ state: 'detached', ...WAIT });
    const members = await api('GET', `{acc}/teams/${team.id}/team_members`);
    assert.deepEqual((Array.isArray(members) ? members : members.payload).map((m) => m.id), [agent.id]);

    // A contact attribute defined.
    await settings('attributes');
    const attr = page.locator('form.create');
    await attr.getByLabel('Name').fill(`Plan ${stamp}`);
    await attr.getByLabel('Key').fill(`plan_${stamp}`);
    await attr.getByLabel('Applies to').selectOption('contact_attribute');
    await attr.getByRole('button', { name: 'Create' }).click();
    await page.locator('tr', { hasText: `plan_${stamp}` }).waitFor(WAIT);

    // A webhook's events changed and a new secret made.
    await settings('webhooks');
    const hookRow = page.locator(`tr[data-webhook="${hook.id}"]`);
    await hookRow.getByRole('button', { name: 'Edit' }).click();
    const edit = page.locator('form.create');
    await edit.getByLabel('contact_created').check();
    await edit.getByRole('button', { name: 'Save' }).click();
    await hookRow.getByText('message_created, contact_created').waitFor(WAIT);
    page.once('dialog', (d) => d.accept());
    await hookRow.getByRole('button', { name: 'Make a new secret' }).click();
    const secret = hookRow.getByTestId('webhook-secret');
    await secret.waitFor(WAIT);
    assert.notEqual(await secret.innerText(), hook.secret);

    // The email digest's kinds, in the profile.
    await page.goto(`${BASE}/app/profile`);
    const follow = page.getByLabel('A new message in a conversation I follow');
    await follow.waitFor(WAIT);
    await page.locator('fieldset.email-notifications:not([disabled])').waitFor(WAIT);
    await follow.check();
    await page.locator('fieldset.email-notifications [role=status]').waitFor(WAIT);
    const chosen = await api('GET', '{acc}/notification_settings');
    assert.ok(chosen.selected_email_flags.includes('email_participating_conversation_new_message'), JSON.stringify(chosen));
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
  }

  for (const locale of ['en', 'pt-BR', 'pl']) {
    const ctx = await browser.newContext({ viewport: { width: 1366, height: 900 } });
    const p = await ctx.newPage();
    try {
      await signIn(p, locale);
      await p.locator('nav.rail').waitFor(WAIT);
      for (const section of ['labels', 'teams', 'attributes', 'webhooks']) {
        await p.goto(`${BASE}/app/accounts/${accountId}/settings/${section}`);
        await p.locator('form.create').waitFor(WAIT);
        await p.locator('tbody tr').first().waitFor(WAIT);
        assert.deepEqual(await axe(p), [], `${section} in ${locale}`);
        assert.deepEqual(await untranslated(p), [], `${section} in ${locale}`);
      }
      await p.goto(`${BASE}/app/profile`);
      await p.locator('fieldset.email-notifications:not([disabled])').waitFor(WAIT);
      assert.deepEqual(await axe(p), [], `the profile in ${locale}`);
      assert.deepEqual(await untranslated(p), [], `the profile in ${locale}`);
    } finally {
      await ctx.close();
    }
  }
});
