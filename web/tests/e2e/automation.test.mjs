// Settings → Automation: an administrator builds a rule in the editor ("Tag refunds": on a new
// message, if its content contains "refund", add the label refund), reads it in words, tries it
// on the latest conversations, sees the server's refusal of a condition next to that condition
// and the client's own check next to the name, saves it and finds it in the list. A customer
// then writes about a refund through the Client API: the conversation gets the label, and the
// rule's log shows the run as acted. The rule is deleted from the list at the end (so that it
// tags nothing in the tests after this one). The server side is covered by the automation tests
// of crates/core, crates/service and crates/testkit.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { BASE, launch, api, axe, signIn, widgetInbox, publicPost, untranslated, shot } from './lib.mjs';

let browser;
before(async () => (browser = await launch()));
after(async () => browser?.close());

const WAIT = { timeout: 20_000 };
const NAME = 'Tag refunds';

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

const rulesNamed = async (name) => (await api('GET', '{acc}/automation_rules')).payload.filter((r) => r.name === name);

test('an administrator builds a rule, it tags a customer’s message and its log shows it acted', { timeout: 120_000 }, async () => {
  const stamp = Date.now();
  const { id: accountId } = await api('GET', '{acc}');
  // The label the rule adds (the editor offers the account's labels) and a website inbox.
  const answer = await api('GET', '{acc}/labels');
  const labels = Array.isArray(answer) ? answer : (answer.payload ?? []);
  if (!labels.some((l) => l.title === 'refund')) await api('POST', '{acc}/labels', { title: 'refund', color: '#b42318' });
  const inbox = await widgetInbox(`Automation ${stamp}`);
  const before = (await rulesNamed(NAME)).map((r) => r.id);

  const context = await browser.newContext({ viewport: { width: 1366, height: 1000 } });
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  let created = null;
  try {
    await signIn(page);
    await page.locator('nav.rail a', { hasText: 'Settings' }).click();
    await page.locator('.admin nav a', { hasText: 'Automation' }).click();
    await page.waitForURL(`${BASE}/app/accounts/${accountId}/settings/automation`);
    await page.locator('[data-testid=automation-rules]').waitFor();

    // --- The editor: name, event, a condition, an action; the rule reads in words.
    await page.getByRole('button', { name: 'New rule' }).click();
    const editor = page.locator('[data-testid=automation-editor]');
    await editor.waitFor();
    await editor.getByLabel('Name', { exact: true }).fill(NAME);
    await editor.locator('select[name=event_name]').selectOption('message_created');
    await editor.getByRole('button', { name: 'Add condition' }).click();
    const first = editor.locator('[data-condition="0"]');
    await first.getByLabel('Attribute').selectOption('content');
    // Operators follow the attribute: text takes "contains", a choice does not.
    assert.ok((await first.getByLabel('Operator').locator('option').allInnerTexts()).includes('contains'));
    await first.getByLabel('Operator').selectOption('contains');
    await first.getByLabel('Value').fill('refund');
    const action = editor.locator('[data-action="0"]');
    await action.getByLabel('Action').selectOption('add_label');
    await action.getByLabel('Value').selectOption('refund');
    const summary = editor.locator('[data-testid=automation-summary]');
    assert.equal((await summary.innerText()).trim(), 'When a message is created, if content contains “refund”, then add label refund');

    // A dry run over the latest conversations.
    await editor.getByRole('button', { name: 'Preview' }).click();
    await editor.locator('[data-testid=automation-preview]', { hasText: /Matches \d+ of \d+ recent conversations/ }).waitFor(WAIT);

    // The client's own check: a rule needs a name (shown by the name, nothing sent).
    await editor.getByLabel('Name', { exact: true }).fill('');
    await editor.getByRole('button', { name: 'Save' }).click();
    await editor.locator('.field-error[data-field=name]', { hasText: 'Give the rule a name.' }).waitFor();
    assert.equal(await editor.getByLabel('Name', { exact: true }).getAttribute('aria-invalid'), 'true');
    await editor.getByLabel('Name', { exact: true }).fill(NAME);

    // The server's refusal of a condition, shown next to that condition.
    await editor.getByRole('button', { name: 'Add condition' }).click();
    const second = editor.locator('[data-condition="1"]');
    await second.getByLabel('Attribute').selectOption('country_code');
    await second.getByLabel('Operator').selectOption('equal_to');
    await second.getByLabel('Value').fill('Brazil');
    await editor.getByRole('button', { name: 'Save' }).click();
    const refusal = editor.locator('.field-error[data-field="conditions[1]"]');
    await refusal.waitFor(WAIT);
    assert.match(await refusal.innerText(), /two-letter country code/);
    assert.equal(await second.getAttribute('aria-describedby'), await refusal.getAttribute('id'), 'the row is described by its error');
    assert.equal(await editor.locator('.field-error[data-field="conditions[0]"]').count(), 0, 'the first condition is fine');
    assert.deepEqual((await rulesNamed(NAME)).map((r) => r.id), before, 'nothing was saved');
    assert.deepEqual(await axe(page, 'section.body'), [], 'axe on the editor with errors');
    await shot(page, 'automation-editor');

    // Without it, the rule saves and is listed.
    await second.getByRole('button', { name: 'Remove' }).click();
    await editor.getByRole('button', { name: 'Save' }).click();
    await editor.waitFor({ state: 'detached', ...WAIT });
    created = await eventually('the rule to be saved', async () => (await rulesNamed(NAME)).find((r) => !before.includes(r.id)));
    assert.equal(created.event_name, 'message_created');
    assert.equal(created.active, true);
    assert.deepEqual(created.conditions.map((c) => [c.attribute_key, c.filter_operator, c.values]), [['content', 'contains', ['refund']]]);
    assert.deepEqual(created.actions.map((a) => [a.action_name, a.action_params]), [['add_label', ['refund']]]);
    const row = page.locator(`[data-testid=automation-rules] tr[data-rule-id="${created.id}"]`);
    await row.waitFor(WAIT);
    assert.match(await row.innerText(), /Tag refunds[\s\S]*Message created/);
    assert.equal(await row.getByRole('checkbox', { name: `Active: ${NAME}` }).isChecked(), true);

    // --- A customer writes about a refund: the rule tags the conversation.
    const contact = await publicPost(inbox.inbox_identifier, '/contacts', { name: `Rita Refund ${stamp}` });
    const conversation = await publicPost(inbox.inbox_identifier, `/contacts/${contact.source_id}/conversations`, {});
    await publicPost(inbox.inbox_identifier, `/contacts/${contact.source_id}/conversations/${conversation.id}/messages`, {
      content: `Hello, I would like a refund for order ${stamp}`,
    });
    await eventually('the label refund on the conversation', async () => {
      const answer = await api('GET', `{acc}/conversations/${conversation.id}/labels`);
      const list = Array.isArray(answer) ? answer : (answer.payload ?? []);
      return list.some((l) => (typeof l === 'string' ? l : l.title) === 'refund');
    }, 10_000);

    // --- The rule's log shows the run, acted, on that conversation.
    const log = page.locator('[data-testid=automation-log]');
    const acted = log.locator('tr[data-outcome=acted]', { has: page.getByRole('link', { name: `#${conversation.id}`, exact: true }) });
    await eventually('an acted run in the log', async () => {
      await row.getByRole('button', { name: `Log of ${NAME}` }).click();
      await log.waitFor();
      return (await acted.count()) > 0;
    });
    assert.match(await acted.first().innerText(), /Acted[\s\S]*Add label: done/);
    assert.deepEqual(await axe(page, 'section.body'), [], 'axe on the list and the log');
    await shot(page, 'automation-log');
    assert.deepEqual(await untranslated(page), [], 'untranslated');

    // --- Deleted from the list, after a confirmation.
    page.once('dialog', (dialog) => dialog.accept());
    await row.getByRole('button', { name: `Delete ${NAME}` }).click();
    await row.waitFor({ state: 'detached', ...WAIT });
    assert.equal((await rulesNamed(NAME)).some((r) => r.id === created.id), false, 'deleted on the server');
    created = null;
    assert.deepEqual(errors, []);
  } finally {
    if (created) await api('DELETE', `{acc}/automation_rules/${created.id}`).catch(() => {});
    await context.close();
  }
});
