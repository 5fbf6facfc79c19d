// Every connector type of the project's plugins gets a form of fields, not JSON: the editor of
// a new connector of each type is opened, and each of its settings (and item settings) must be
// drawn as a field the user can fill. Run by tests/e2e/console.rs with every product plugin.
// Environment: OIBUS_URL, OIBUS_TOKEN_FILE, SCREENSHOTS, CHROMIUM.

import { chromium } from 'playwright-core';
import fs from 'node:fs';
import path from 'node:path';

const url = process.env.OIBUS_URL.replace(/\/?$/, '/');
const token = fs.readFileSync(process.env.OIBUS_TOKEN_FILE, 'utf8').trim();
const shots = process.env.SCREENSHOTS;
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync'],
});
const page = await browser.newPage({ viewport: { width: 1366, height: 860 } });
page.setDefaultTimeout(30_000);
const errors = [];
page.on('pageerror', (e) => errors.push(e.message));
try {
  await page.goto(url);
  await page.getByLabel('Admin token').fill(token);
  await page.keyboard.press('Enter');
  await page.locator('#nav').waitFor();
  const types = await page.evaluate(async () => (await fetch('/api/connector-types')).json());
  const drawn = [];
  for (const t of types) {
    await page.goto(`${url}#/connector/${t.kind}/+new`);
    await page.locator('#connector-type').selectOption(t.id);
    await page.locator('#settings-form fieldset').first().waitFor();
    const fields = await page.locator('#settings-form input, #settings-form select, #settings-form textarea').count();
    const json = await page.locator('#settings-form label', { hasText: '(JSON)' }).allTextContents();
    if (json.length) throw new Error(`${t.id}: settings drawn as JSON: ${json.join(', ')}`);
    const top = Object.keys(t.settings_schema.properties || {}).length;
    if (fields < top) throw new Error(`${t.id}: ${fields} fields for ${top} settings`);
    let items = '';
    if (t.kind === 'south' && t.item_schema) {
      await page.getByRole('button', { name: 'Add item' }).click();
      const itemJson = await page.locator('#item-editor label', { hasText: '(JSON)' }).allTextContents();
      if (itemJson.length) throw new Error(`${t.id}: item settings drawn as JSON: ${itemJson.join(', ')}`);
      items = `, item form of ${await page.locator('#item-editor input, #item-editor select, #item-editor textarea').count()} fields`;
    }
    if (t.id === 'opcua') await page.screenshot({ path: path.join(shots, 'form-opcua.png'), fullPage: true });
    drawn.push(`${t.id}: ${fields} fields${items}`);
  }
  if (errors.length) throw new Error(`script errors: ${errors.join(' | ')}`);
  console.log(drawn.join('\n'));
  console.log(`passed: ${types.length} connector types drawn as forms`);
} catch (e) {
  console.error(`FAILED: ${e.message}`);
  try { await page.screenshot({ path: path.join(shots, 'failure-forms.png'), fullPage: true }); } catch { /* gone */ }
  process.exitCode = 1;
} finally {
  await browser.close();
}
