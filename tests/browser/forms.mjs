// Every connector type of the project's plugins gets a form of fields, not JSON: the editor of
// a new connector of each type is opened, and each of its settings (and item settings) must be
// drawn as a field the user can fill. Run by tests/e2e/console.rs with every product plugin.
// Environment: OIBUS_URL, OIBUS_TOKEN_FILE, SCREENSHOTS, CHROMIUM.

import { gateway, launch, signIn } from './browser.mjs';

const { url, token, shot } = gateway();
const { browser, context } = await launch();
const page = await context.newPage();
const errors = [];
page.on('pageerror', (e) => errors.push(e.message));
try {
  await signIn(page, url, token);
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
    if (t.id === 'opcua') await shot(page, 'form-opcua');
    drawn.push(`${t.id}: ${fields} fields${items}`);
  }
  if (errors.length) throw new Error(`script errors: ${errors.join(' | ')}`);
  console.log(drawn.join('\n'));
  console.log(`passed: ${types.length} connector types drawn as forms`);
} catch (e) {
  console.error(`FAILED: ${e.message}`);
  try { await shot(page, 'failure-forms'); } catch { /* gone */ }
  process.exitCode = 1;
} finally {
  await browser.close();
}
