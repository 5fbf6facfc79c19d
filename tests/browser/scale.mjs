// The console at a large site: 1,000 connectors. The overview and the connectors list show one
// page at a time (the DOM stays small), the pager counts them all, and a filter finds one.
// Run by tests/e2e/console.rs. Environment: OIBUS_URL, OIBUS_TOKEN_FILE, SCREENSHOTS, CHROMIUM.

import { gateway, launch, signIn } from './browser.mjs';

const { url, token, shot } = gateway();
const { browser, context } = await launch();
const page = await context.newPage();
const errors = [];
page.on('pageerror', (e) => errors.push(e.message));
const check = (cond, what) => { if (!cond) throw new Error(what); };
try {
  await signIn(page, url, token);
  await page.locator('#overview tbody tr').first().waitFor();
  await page.locator('.pager span', { hasText: '1–50 of 1,000' }).waitFor();
  check(await page.locator('#overview tbody tr').count() === 50, 'the overview drew more than a page');
  await page.getByRole('button', { name: 'Next ›' }).click();
  await page.locator('.pager span', { hasText: '51–100 of 1,000' }).waitFor();
  await page.locator('#ov-q').fill('north-0444');
  await page.locator('.pager span', { hasText: '1–1 of 1' }).waitFor();
  await page.locator('#overview tr[data-id="north-0444"]').waitFor();
  await shot(page, 'overview-1000', false);
  await page.goto(`${url}#/connectors`);
  await page.locator('#north-list tbody tr').first().waitFor();
  check(await page.locator('#north-list tbody tr').count() === 50, 'the connectors list drew more than a page');
  await page.locator('#conn-q').fill('south-0499');
  await page.locator('#south-list tr[data-id="south-0499"]').waitFor();
  check(errors.length === 0, `script errors: ${errors.join(' | ')}`);
  console.log('passed: 1,000 connectors, one page at a time');
} catch (e) {
  console.error(`FAILED: ${e.message}`);
  try { await shot(page, 'failure-scale'); } catch { /* gone */ }
  process.exitCode = 1;
} finally {
  await browser.close();
}
