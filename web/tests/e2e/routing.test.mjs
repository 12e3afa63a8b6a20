// Issue #15, must-show 5: a supervisor sees a chat waiting in the live view, an agent goes
// online from the status control, routing assigns the chat, and both screens update without a
// reload — the supervisor's waiting list loses it and the agent's row shows the chat load, the
// agent's "Mine" tab gains it. axe on the live view, no untranslated key. Then the supervisor
// gives the agent a language skill in Settings → Routing (supervisors may edit the agents'
// part). Then offers: with chats offered, an agent accepts an offered chat from the tray and
// lands on it; a chat declined by one agent is offered to the other. The server side is covered
// by the routing tests of crates/testkit and crates/server.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { BASE, launch, api, axe, signInAs, publicPost, untranslated, shot } from './lib.mjs';

let browser;
before(async () => (browser = await launch()));
after(async () => browser?.close());

const PASSWORD = 'routing-password-1';
const WAIT = { timeout: 20_000 }; // events land at once; the live view also polls every 15 s

/** A member of the suite's account who can sign in with PASSWORD. */
async function member(name, role) {
  const email = `${name.toLowerCase().replace(/\W+/g, '.')}@browser.test`;
  const user = await api('POST', '{acc}/agents', { name, email, role, password: PASSWORD });
  assert.equal(user.role, role, `${name} is a ${role}`);
  return { ...user, email };
}

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

async function openWindow(errors, who) {
  const context = await browser.newContext({ viewport: { width: 1366, height: 900 } });
  const page = await context.newPage();
  page.on('pageerror', (e) => errors.push(`${who}: ${e.message}`));
  return { context, page };
}

let setup;

test('a supervisor sees a chat waiting, an agent goes online, the chat is assigned and both screens update', async () => {
  const stamp = Date.now();
  const { id: accountId } = await api('GET', '{acc}');
  // A website inbox that assigns by itself; the agent is its only member, offline for now.
  const inbox = await api('POST', '{acc}/inboxes', {
    name: `Routing chat ${stamp}`,
    enable_auto_assignment: true,
    channel: { type: 'web_widget', website_url: 'http://localhost', widget_color: '#1d4ed8', allowed_domains: ['localhost'] },
  });
  const supervisor = await member(`Sara Supervisor ${stamp}`, 'supervisor');
  const agent = await member(`Otto Agent ${stamp}`, 'agent');
  await api('POST', '{acc}/inbox_members', { inbox_id: inbox.id, user_ids: [agent.id] });
  await api('PATCH', `{acc}/agents/${agent.id}`, { availability: 'offline' });

  // A customer starts a chat (the Client API the widget uses) and writes.
  const customer = `Maria Waiting ${stamp}`;
  const contact = await publicPost(inbox.inbox_identifier, '/contacts', { name: customer });
  const conversation = await publicPost(inbox.inbox_identifier, `/contacts/${contact.source_id}/conversations`, {});
  await publicPost(inbox.inbox_identifier, `/contacts/${contact.source_id}/conversations/${conversation.id}/messages`, { content: `Is anyone there? ${stamp}` });
  const id = conversation.id;
  assert.equal((await api('GET', `{acc}/conversations/${id}`)).meta?.assignee ?? null, null, 'nobody is online to take it');

  const errors = [];
  // The supervisor opens the live view from the navigation.
  const sup = await openWindow(errors, 'supervisor');
  await signInAs(sup.page, supervisor.email, PASSWORD);
  await sup.page.locator('nav.rail a', { hasText: 'Live' }).click();
  await sup.page.waitForURL(`${BASE}/app/accounts/${accountId}/live`);
  const waitingRow = sup.page.locator(`[data-testid=live-waiting] tr[data-conversation-id="${id}"]`);
  await waitingRow.waitFor(WAIT);
  assert.match(await waitingRow.innerText(), new RegExp(customer));
  assert.equal(
    await waitingRow.getByRole('link', { name: new RegExp(customer) }).getAttribute('href'),
    `/app/accounts/${accountId}/conversations/${id}`,
  );
  // The wait counts up here, second by second.
  const waited = waitingRow.locator('[data-field=waited]');
  const first = await waited.innerText();
  await sup.page.waitForFunction(
    ([selector, before]) => document.querySelector(selector)?.textContent?.trim() !== before,
    [`[data-testid=live-waiting] tr[data-conversation-id="${id}"] [data-field=waited]`, first.trim()],
    { timeout: 5_000 },
  );
  const agentRow = sup.page.locator(`[data-testid=live-agents] tr[data-agent-id="${agent.id}"]`);
  await agentRow.waitFor();
  assert.equal(await agentRow.getAttribute('data-presence'), 'offline');
  assert.match(await agentRow.locator('[data-kind=chat]').innerText(), /^0\/\d+$/);
  await sup.page.locator('[data-testid=live-queues]').waitFor();
  assert.deepEqual(await axe(sup.page), [], 'axe on the live view');
  await shot(sup.page, 'live-view');

  // The agent signs in: offline, as stored; no live view for agents.
  const ag = await openWindow(errors, 'agent');
  await signInAs(ag.page, agent.email, PASSWORD);
  const status = ag.page.locator('[data-testid=presence-select]');
  await status.waitFor();
  assert.equal(await status.inputValue(), 'offline');
  assert.equal(await ag.page.locator('nav.rail a', { hasText: 'Live' }).count(), 0, 'agents have no live view');
  assert.equal(await ag.page.getByRole('tab', { selected: true }).innerText().then((s) => s.startsWith('Mine')), true, 'the Mine tab');
  assert.equal(await ag.page.locator(`[data-conversation="${id}"]`).count(), 0, 'nothing of theirs yet');

  // The agent goes online: routing assigns the chat to them.
  await status.selectOption('online');
  await ag.page.locator('.presence .presence-dot[data-presence=online]').waitFor();

  // Both screens update: gone from the waiting list, counted in the agent's load…
  await waitingRow.waitFor({ state: 'detached', ...WAIT });
  await sup.page.locator(`[data-testid=live-agents] tr[data-agent-id="${agent.id}"][data-presence=online]`).waitFor(WAIT);
  await agentRow.locator('[data-kind=chat]', { hasText: /^1\/\d+$/ }).waitFor(WAIT);
  // …and in the agent's own list, under Mine.
  await ag.page.locator(`[data-conversation="${id}"]`).waitFor(WAIT);
  const assigned = await api('GET', `{acc}/conversations/${id}`);
  assert.equal(assigned.meta?.assignee?.id, agent.id, 'assigned to the agent');
  // The choice is stored: the next connection starts online.
  await eventually('the stored availability', async () => {
    const profile = await ag.page.evaluate(async () => (await fetch('/api/v1/profile')).json());
    return profile.accounts.find((a) => a.id === accountId)?.availability === 'online';
  });

  assert.deepEqual(await axe(sup.page), [], 'axe on the live view after the update');
  assert.deepEqual(await untranslated(sup.page), [], 'supervisor: untranslated');
  assert.deepEqual(await untranslated(ag.page), [], 'agent: untranslated');
  assert.deepEqual(errors, []);
  setup = { supervisor, agent, accountId };
  await ag.context.close();
  await sup.context.close();
});

test('a supervisor gives an agent a language skill in Settings → Routing', async (t) => {
  if (!setup) return t.skip('needs the first test');
  const { supervisor, agent, accountId } = setup;
  const errors = [];
  const sup = await openWindow(errors, 'supervisor');
  await signInAs(sup.page, supervisor.email, PASSWORD);
  await sup.page.locator('nav.rail a', { hasText: 'Settings' }).click();
  await sup.page.waitForURL(`${BASE}/app/accounts/${accountId}/settings/routing`);
  // Supervisors get the agents' part only: no account form.
  const row = sup.page.locator(`[data-testid=routing-agents] tr[data-agent-id="${agent.id}"]`);
  await row.waitFor(WAIT);
  assert.equal(await sup.page.locator('[data-testid=routing-settings]').count(), 0);
  await row.getByRole('button', { name: 'Add lang:pl' }).click();
  await row.getByRole('spinbutton', { name: /^Chats: capacity of/ }).fill('2');
  await row.getByRole('button', { name: `Save ${agent.name}` }).click();
  await row.getByRole('status').filter({ hasText: 'Saved.' }).waitFor();
  const agents = await api('GET', '{acc}/routing/agents');
  const saved = agents.find((a) => a.id === agent.id);
  assert.deepEqual(saved.skills, [{ name: 'lang:pl', level: 3 }]);
  assert.equal(saved.capacity.chat, 2);
  assert.equal(saved.capacity.email, null, 'an empty field keeps the account default');
  assert.deepEqual(await axe(sup.page), [], 'axe on Settings → Routing');
  assert.deepEqual(await untranslated(sup.page), []);
  assert.deepEqual(errors, []);
  await sup.context.close();
});

/** The offer card of a conversation in the tray. */
const offerCard = (page, conversationId) => page.locator(`[data-testid=offers] [data-offer-id="${conversationId}"]`);

/** Online from the status control (if not already), and seen online by the server. */
async function goOnline(page, userId) {
  const status = page.locator('[data-testid=presence-select]');
  await status.waitFor(WAIT);
  if ((await status.inputValue()) !== 'online') await status.selectOption('online');
  await page.locator('.presence .presence-dot[data-presence=online]').waitFor(WAIT);
  await eventually('the server to see the agent online', async () => {
    const live = await api('GET', '{acc}/routing/live');
    return live.agents?.find((a) => a.id === userId)?.presence === 'online';
  });
}

/** A customer starts a chat in the inbox (the Client API the widget uses) and writes. */
async function customerChat(inbox, name, content) {
  const contact = await publicPost(inbox.inbox_identifier, '/contacts', { name });
  const conversation = await publicPost(inbox.inbox_identifier, `/contacts/${contact.source_id}/conversations`, {});
  await publicPost(inbox.inbox_identifier, `/contacts/${contact.source_id}/conversations/${conversation.id}/messages`, { content });
  return conversation.id;
}

test('an offered chat is accepted by the agent and a declined one goes to the next agent', async () => {
  const stamp = Date.now();
  const { id: accountId } = await api('GET', '{acc}');
  const errors = [];
  const windows = [];
  try {
    await api('PUT', '{acc}/routing/settings', { offer_kinds: ['chat'], offer_timeout_seconds: 60 });
    const inbox = await api('POST', '{acc}/inboxes', {
      name: `Routing offers ${stamp}`,
      enable_auto_assignment: true,
      channel: { type: 'web_widget', website_url: 'http://localhost', widget_color: '#1d4ed8', allowed_domains: ['localhost'] },
    });
    const agentA = await member(`Alice Offers ${stamp}`, 'agent');
    const agentB = await member(`Bruno Offers ${stamp}`, 'agent');
    await api('POST', '{acc}/inbox_members', { inbox_id: inbox.id, user_ids: [agentA.id, agentB.id] });
    for (const agent of [agentA, agentB]) await api('PATCH', `{acc}/agents/${agent.id}`, { availability: 'offline' });

    // Agent A signs in and goes online; a customer starts a chat: it is offered to A.
    const a = await openWindow(errors, 'agent A');
    windows.push(a);
    await signInAs(a.page, agentA.email, PASSWORD);
    await goOnline(a.page, agentA.id);
    const maria = `Maria Offered ${stamp}`;
    const first = await customerChat(inbox, maria, `Hello, anyone? ${stamp}`);
    const card = offerCard(a.page, first);
    await card.waitFor(WAIT);
    assert.match(await card.innerText(), new RegExp(maria));
    assert.match(await card.innerText(), /\bChat\b/);
    // Announced politely to screen readers.
    await a.page.locator('[data-testid=offers] [role=status]', { hasText: maria }).waitFor({ state: 'attached', ...WAIT });
    // The countdown ticks here, second by second.
    const left = card.locator('[data-field=left]');
    const before = (await left.innerText()).trim();
    assert.match(before, /^\d+ s left$/);
    await a.page.waitForFunction(
      ([selector, was]) => document.querySelector(selector)?.textContent?.trim() !== was,
      [`[data-testid=offers] [data-offer-id="${first}"] [data-field=left]`, before],
      { timeout: 5_000 },
    );
    assert.deepEqual(await axe(a.page, '[data-testid=offers]'), [], 'axe on the offers tray');
    await shot(a.page, 'routing-offer');

    // A accepts: the conversation opens, assigned to A, and the card is gone.
    await card.getByRole('button', { name: 'Accept' }).click();
    await a.page.waitForURL(`${BASE}/app/accounts/${accountId}/conversations/${first}`, WAIT);
    await card.waitFor({ state: 'detached', ...WAIT });
    await eventually('A to be the assignee', async () => (await api('GET', `{acc}/conversations/${first}`)).meta?.assignee?.id === agentA.id);

    // Agent B signs in and goes online; another customer's chat is offered to the agent with
    // fewer chats (B, as A holds the first one).
    const b = await openWindow(errors, 'agent B');
    windows.push(b);
    await signInAs(b.page, agentB.email, PASSWORD);
    await goOnline(b.page, agentB.id);
    const jonas = `Jonas Offered ${stamp}`;
    const second = await customerChat(inbox, jonas, `Hi there ${stamp}`);
    const agents = [
      { agent: agentA, page: a.page },
      { agent: agentB, page: b.page },
    ];
    const offered = await eventually('the second chat to be offered', async () => {
      for (const x of agents) if (await offerCard(x.page, second).count()) return x;
      return null;
    });
    const next = agents.find((x) => x !== offered);
    const declined = offerCard(offered.page, second);
    assert.match(await declined.innerText(), new RegExp(jonas));

    // Declined: gone there, offered to the other agent.
    await declined.getByRole('button', { name: 'Decline' }).click();
    await declined.waitFor({ state: 'detached', ...WAIT });
    await offerCard(next.page, second).waitFor(WAIT);
    assert.match(await offerCard(next.page, second).innerText(), new RegExp(jonas));
    assert.equal(await offerCard(offered.page, second).count(), 0, 'the agent who declined is not offered it again');
    const waiting = await api('GET', `{acc}/conversations/${second}`);
    assert.notEqual(waiting.meta?.assignee?.id, offered.agent.id, 'not assigned to the agent who declined');
    assert.deepEqual(await axe(next.page, '[data-testid=offers]'), [], 'axe on the offers tray');

    assert.deepEqual(await untranslated(a.page), [], 'agent A: untranslated');
    assert.deepEqual(await untranslated(b.page), [], 'agent B: untranslated');
    assert.deepEqual(errors, []);
  } finally {
    for (const w of windows) await w.context.close().catch(() => {});
    await api('PUT', '{acc}/routing/settings', { offer_kinds: [] });
  }
});
