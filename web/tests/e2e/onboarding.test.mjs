// Team onboarding (issue #16): an administrator, in Brazilian Portuguese, adds an agent in
// Settings → Agents without a password. The browser-test server has no system mail, so the
// invitation's link is shown to copy; the agent opens it (in English), is greeted by name, is
// told of a mismatched confirmation by the page's own check, chooses a password, and signs in
// from the sign-in page the link leads to (the email already filled in). The link is then
// spent. axe checks the agents screen and the password page. The server side (and the mailed
// invitation over SMTP) is covered by crates/testkit/tests/api/onboarding.rs.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { BASE, launch, api, axe, signIn, untranslated, shot } from './lib.mjs';

let browser;
before(async () => (browser = await launch()));
after(async () => browser?.close());

const WAIT = { timeout: 20_000 };

test('an administrator invites an agent, who chooses a password through the link and signs in', { timeout: 150_000 }, async () => {
  const stamp = Date.now();
  const { id: accountId } = await api('GET', '{acc}');
  const name = `Łucja Wiśniewska ${stamp}`;
  const email = `lucja.${stamp}@browser.test`;
  const adminContext = await browser.newContext({ viewport: { width: 1366, height: 900 } });
  const agentContext = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const admin = await adminContext.newPage();
  const agent = await agentContext.newPage();
  const errors = [];
  for (const p of [admin, agent]) p.on('pageerror', (e) => errors.push(e.message));
  try {
    await signIn(admin, 'pt-BR');
    await admin.goto(`${BASE}/app/accounts/${accountId}/settings/agents`);
    const table = admin.locator('[data-testid=agents]');
    await table.waitFor(WAIT);
    // The client's own check first: a name and an email.
    await admin.getByRole('button', { name: 'Criar' }).click();
    await admin.locator('.field-error[data-field=name]').waitFor(WAIT);
    await admin.getByLabel('Nome', { exact: true }).fill(name);
    await admin.getByLabel('E-mail', { exact: true }).fill(email);
    await admin.getByRole('button', { name: 'Criar' }).click();
    const invitation = admin.locator('[data-testid=invitation]');
    await invitation.waitFor(WAIT);
    assert.match(await invitation.innerText(), new RegExp(`Passe este link para ${email.replace(/\./g, '\\.')}`));
    assert.match(await invitation.innerText(), /não há servidor de e-mail configurado no Throughline/, 'the reason in her language');
    const url = (await admin.locator('[data-testid=invitation-url]').innerText()).trim();
    assert.ok(url.startsWith(`${BASE}/app/auth/password/edit?reset_password_token=`), url);
    const row = table.locator('tr', { hasText: email });
    await row.waitFor(WAIT);
    assert.match(await row.innerText(), /Convidado, ainda sem senha/);
    assert.deepEqual(await axe(admin), [], 'the agents screen in Portuguese');
    assert.deepEqual(await untranslated(admin), []);
    await shot(admin, 'agents-invitation');

    // The agent opens the link in their own browser, in English.
    await agent.goto(`${BASE}/login`);
    await agent.evaluate(() => localStorage.setItem('tl.locale', 'en'));
    await agent.goto(url);
    await agent.getByRole('heading', { name: `Welcome, ${name}!` }).waitFor(WAIT);
    await agent.getByLabel('New password').fill('lucja-password-1');
    await agent.getByLabel('Type it again').fill('lucja-password-2');
    await agent.getByRole('button', { name: 'Save password' }).click();
    await agent.locator('.field-error[data-field=password_confirmation]', { hasText: 'The two passwords differ.' }).waitFor(WAIT);
    assert.deepEqual(await axe(agent), [], 'the password page in English');
    await agent.getByLabel('Type it again').fill('lucja-password-1');
    await agent.getByRole('button', { name: 'Save password' }).click();
    await agent.getByRole('heading', { name: 'Password saved' }).waitFor(WAIT);
    await agent.getByRole('button', { name: 'Go to sign in' }).click();
    await agent.waitForURL(/\/login\?email=/);
    assert.equal(await agent.locator('input[name=email]').inputValue(), email);
    await agent.fill('input[name=password]', 'lucja-password-1');
    await agent.click('button[type=submit]');
    await agent.waitForURL(/\/app\/accounts\/\d+\/conversations/);
    assert.deepEqual(await untranslated(agent), []);

    // She leaves the team: deactivated, she is shut out at once and told why at sign-in;
    // reactivated, she is back.
    admin.once('dialog', (d) => d.accept());
    await row.getByRole('button', { name: 'Desativar' }).click();
    await row.getByText(/Desativado em/).waitFor(WAIT);
    await agent.reload();
    await agent.waitForURL(/\/login/, WAIT);
    await agent.fill('input[name=email]', email);
    await agent.fill('input[name=password]', 'lucja-password-1');
    await agent.click('button[type=submit]');
    await agent.getByText('Your user has been deactivated. Ask an administrator of your account to reactivate it.').waitFor(WAIT);
    await row.getByRole('button', { name: 'Reativar' }).click();
    await row.getByRole('button', { name: 'Desativar' }).waitFor(WAIT);
    await agent.click('button[type=submit]');
    await agent.waitForURL(/\/app\/accounts\/\d+\/conversations/);

    // The agents screen and the password page (a fresh link) pass axe in every language.
    const resent = await api('POST', `{acc}/agents/${(await api('POST', '{acc}/agents', { name: `Axe ${stamp}`, email: `axe.${stamp}@browser.test`, role: 'agent' })).id}/resend_invitation`);
    for (const locale of ['en', 'pt-BR', 'pl']) {
      await admin.evaluate((l) => localStorage.setItem('tl.locale', l), locale);
      await admin.goto(`${BASE}/app/accounts/${accountId}/settings/agents`);
      await table.waitFor(WAIT);
      assert.deepEqual(await axe(admin), [], `the agents screen in ${locale}`);
      const reader = await browser.newContext();
      const page = await reader.newPage();
      await page.goto(`${BASE}/login`);
      await page.evaluate((l) => localStorage.setItem('tl.locale', l), locale);
      await page.goto(resent.url);
      await page.locator('input[name=password]').waitFor(WAIT);
      assert.deepEqual(await axe(page), [], `the password page in ${locale}`);
      assert.deepEqual(await untranslated(page), []);
      await reader.close();
    }

    // The link is spent.
    const again = await browser.newContext();
    const late = await again.newPage();
    await late.goto(url);
    await late.getByRole('heading', { name: 'This link no longer works' }).waitFor(WAIT);
    await again.close();
    assert.deepEqual(errors, []);
  } finally {
    await adminContext.close();
    await agentContext.close();
  }
});
