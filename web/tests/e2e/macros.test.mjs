// Macros, as an agent: Settings (which agents reach for their macros) → Macros lists the
// account's global macros and the agent's own, never an administrator's personal one. The
// agent builds a personal macro "Late order" (add label late, change status to pending) in the
// editor — no visibility choice for agents; the agent picker offers "Me (whoever runs it)"; the
// server's refusal of an action shows next to that action —, opens a conversation of their
// inbox, opens "Run macro" with the m shortcut, runs it, reads the outcome and sees the label and
// the status change on screen (through the realtime events the run causes). At the end the agent
// deletes the macro from the list. The server side is covered by crates/testkit/tests/api/macros.rs.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { BASE, launch, api, axe, signInAs, widgetInbox, publicPost, untranslated, shot } from './lib.mjs';

let browser;
before(async () => (browser = await launch()));
after(async () => browser?.close());

const PASSWORD = 'macros-password-1';
const WAIT = { timeout: 20_000 };
const NAME = 'Late order';

const listOf = (answer) => (Array.isArray(answer) ? answer : (answer?.payload ?? []));

test('an agent builds a personal macro, runs it on a conversation from the menu and sees it act', { timeout: 150_000 }, async () => {
  const stamp = Date.now();
  const { id: accountId } = await api('GET', '{acc}');
  // The label the macro adds (the editor offers the account's labels).
  if (!listOf(await api('GET', '{acc}/labels')).some((l) => l.title === 'late')) await api('POST', '{acc}/labels', { title: 'late', color: '#b54708' });
  // An agent, member of a website inbox with a customer's conversation in it.
  const email = `mia.macros.${stamp}@browser.test`;
  const agent = await api('POST', '{acc}/agents', { name: `Mia Macros ${stamp}`, email, role: 'agent', password: PASSWORD });
  assert.equal(agent.role, 'agent');
  const inbox = await widgetInbox(`Macros ${stamp}`);
  await api('POST', '{acc}/inbox_members', { inbox_id: inbox.id, user_ids: [agent.id] });
  const contact = await publicPost(inbox.inbox_identifier, '/contacts', { name: `Lena Late ${stamp}` });
  const conversation = await publicPost(inbox.inbox_identifier, `/contacts/${contact.source_id}/conversations`, {});
  await publicPost(inbox.inbox_identifier, `/contacts/${contact.source_id}/conversations/${conversation.id}/messages`, { content: `Where is my order ${stamp}?` });
  const id = conversation.id;
  // The administrator's macros: a personal one (the agent never sees it) and a global one.
  const secret = (await api('POST', '{acc}/macros', { name: `Admin only ${stamp}`, visibility: 'personal', actions: [{ action_name: 'resolve_conversation', action_params: [] }] })).payload;
  const shared = (await api('POST', '{acc}/macros', { name: `Everyone ${stamp}`, visibility: 'global', actions: [{ action_name: 'change_priority', action_params: ['high'] }] })).payload;
  assert.equal(shared.visibility, 'global');

  const context = await browser.newContext({ viewport: { width: 1366, height: 1000 } });
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  let created = null;
  try {
    await signInAs(page, email, PASSWORD);

    // --- Settings → Macros, reachable by agents: the global macro, not the admin's personal one.
    await page.locator('nav.rail a', { hasText: 'Settings' }).click();
    await page.waitForURL(`${BASE}/app/accounts/${accountId}/settings/macros`);
    // The navigation draws once the account's settings are known: wait for it.
    await page.locator('.admin nav a', { hasText: 'Macros' }).waitFor(WAIT);
    await page.locator('.admin nav a', { hasText: 'SLA' }).waitFor(WAIT);
    assert.deepEqual(await page.locator('.admin nav a').allInnerTexts(), ['SLA', 'Macros', 'Help center'], 'agents get macros, SLA policies to read and the help center');
    const table = page.locator('[data-testid=macros]');
    const sharedRow = table.locator(`tr[data-macro-id="${shared.id}"]`);
    await sharedRow.waitFor(WAIT);
    assert.match(await sharedRow.innerText(), /Global/);
    assert.equal(await sharedRow.getByRole('button').count(), 0, 'a global macro is the administrators’ to change');
    assert.equal(await table.locator(`tr[data-macro-id="${secret.id}"]`).count(), 0, 'an administrator’s personal macro is not shown');
    assert.equal(await table.getByText(secret.name).count(), 0);

    // --- The editor: no visibility choice for agents; the actions as automation rules have them.
    await page.getByRole('button', { name: 'New macro' }).click();
    const editor = page.locator('[data-testid=macro-editor]');
    await editor.waitFor();
    assert.equal(await editor.locator('input[name=visibility]').count(), 0, 'agents make personal macros only');
    // The client's own check: a name first.
    await editor.getByRole('button', { name: 'Save' }).click();
    await editor.locator('.field-error[data-field=name]', { hasText: 'Give the macro a name.' }).waitFor();
    await editor.getByLabel('Name', { exact: true }).fill(NAME);
    const first = editor.locator('[data-action="0"]');
    await first.getByLabel('Action').selectOption('add_label');
    await first.getByLabel('Value').selectOption('late');
    await editor.getByRole('button', { name: 'Add action' }).click();
    const second = editor.locator('[data-action="1"]');
    await second.getByLabel('Action').selectOption('change_status');
    await second.getByLabel('Value').selectOption('pending');
    // The agent picker offers whoever runs the macro.
    await editor.getByRole('button', { name: 'Add action' }).click();
    const third = editor.locator('[data-action="2"]');
    await third.getByLabel('Action').selectOption('assign_agent');
    assert.ok((await third.getByLabel('Value').locator('option').allInnerTexts()).includes('Me (whoever runs it)'));
    // The server's refusal of an action, shown next to it: a webhook needs an http(s) URL.
    await third.getByLabel('Action').selectOption('send_webhook_event');
    await third.getByLabel('Value').fill('ftp://example.com/hook');
    await editor.getByRole('button', { name: 'Save' }).click();
    const refusal = editor.locator('.field-error[data-field="actions[2]"]');
    await refusal.waitFor(WAIT);
    assert.match(await refusal.innerText(), /http\(s\) URL/);
    assert.equal(await third.getAttribute('aria-describedby'), await refusal.getAttribute('id'), 'the row is described by its error');
    assert.deepEqual(await axe(page, 'section.body'), [], 'axe on the editor with an error');
    await shot(page, 'macros-editor');
    await third.getByRole('button', { name: 'Remove' }).click();
    assert.equal(
      (await page.locator('[data-testid=macro-summary]').innerText()).trim(),
      'Add label late, change status to pending',
    );
    await editor.getByRole('button', { name: 'Save' }).click();
    await editor.waitFor({ state: 'detached', ...WAIT });
    const mine = table.locator('tr', { hasText: NAME });
    await mine.waitFor(WAIT);
    created = Number(await mine.getAttribute('data-macro-id'));
    assert.match(await mine.innerText(), /Personal[\s\S]*You[\s\S]*add label late, change status to pending/);
    assert.equal(await mine.getByRole('button', { name: `Edit ${NAME}` }).count(), 1, 'the author may change it');

    // --- The conversation: "Run macro" (the m shortcut) lists the macros the agent may run.
    await page.goto(`${BASE}/app/accounts/${accountId}/conversations/${id}`);
    const actions = page.locator('.actions');
    await actions.waitFor(WAIT);
    assert.equal(await actions.locator('.chip.status').getAttribute('data-status'), 'open');
    await page.evaluate(() => document.activeElement instanceof HTMLElement && document.activeElement.blur());
    await page.keyboard.press('m');
    const menu = page.locator('[data-testid=macro-menu]');
    const item = menu.getByRole('button', { name: NAME, exact: true });
    await item.waitFor(WAIT);
    assert.ok(await menu.getByRole('button', { name: shared.name, exact: true }).isVisible(), 'the global macro is offered');
    assert.equal(await menu.getByRole('button', { name: secret.name }).count(), 0, 'not the administrator’s personal one');
    assert.equal(await page.evaluate(() => document.activeElement?.closest('[data-testid=macro-menu]') !== null), true, 'the menu takes the focus');
    assert.deepEqual(await axe(page), [], 'axe on the conversation with the macro menu open');
    await shot(page, 'macros-menu');

    // Run it: the notice says all was done and the conversation shows the label and the status.
    await item.click();
    await page.locator('[data-testid=macro-result] [role=status]', { hasText: `Ran “${NAME}”: all done.` }).waitFor(WAIT);
    await actions.locator('.chip.status[data-status=pending]').waitFor(WAIT);
    await actions.locator('.chip', { hasText: /^late$/ }).waitFor(WAIT);
    const after = await api('GET', `{acc}/conversations/${id}`);
    assert.equal(after.status, 'pending');
    assert.ok(listOf(await api('GET', `{acc}/conversations/${id}/labels`)).some((l) => (typeof l === 'string' ? l : l.title) === 'late'));
    assert.deepEqual(await axe(page), [], 'axe on the conversation after the run');
    await shot(page, 'macros-ran');
    assert.deepEqual(await untranslated(page), [], 'untranslated');

    // --- Back in Settings → Macros: deleted from the list, after a confirmation.
    await page.locator('nav.rail a', { hasText: 'Settings' }).click();
    await mine.waitFor(WAIT);
    page.once('dialog', (dialog) => dialog.accept());
    await mine.getByRole('button', { name: `Delete ${NAME}` }).click();
    await mine.waitFor({ state: 'detached', ...WAIT });
    // Gone for its author too (an administrator never sees it: it was personal).
    const left = await page.evaluate(async (path) => (await (await fetch(path)).json()).payload.map((m) => m.id), `/api/v1/accounts/${accountId}/macros`);
    assert.equal(left.includes(created), false, 'deleted on the server');
    assert.ok(left.includes(shared.id));
    created = null;
    assert.deepEqual(errors, []);
  } finally {
    // The agent's own macro, if the test stopped before deleting it, is theirs alone to delete.
    if (created) await page.evaluate((path) => fetch(path, { method: 'DELETE' }), `/api/v1/accounts/${accountId}/macros/${created}`).catch(() => {});
    await api('DELETE', `{acc}/macros/${secret.id}`).catch(() => {});
    await api('DELETE', `{acc}/macros/${shared.id}`).catch(() => {});
    await context.close();
  }
});
