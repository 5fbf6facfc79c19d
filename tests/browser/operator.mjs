// An operator's day without traps, in Debian's Chromium, against a gateway that starts with no
// connector: what an empty overview says, scan modes made in the console and chosen (not typed)
// for an item, an item's test result where it was asked (and its trend), the keyboard kept after
// *Keep item*, start and stop that agree with the row, a rate for items scanned every 10 s, the
// error store selected whole, logs filtered by part of an id and their repeats grouped, one time
// format, a sign-out seen by another tab, and a 400 px window. Run by tests/e2e/console.rs.
//
// Environment: OIBUS_URL, OIBUS_TOKEN_FILE, OUT (a folder for the file-writer), SCREENSHOTS.

import { gateway, launch, signIn } from './browser.mjs';

const { url, token, shot: save } = gateway();
const { browser, context } = await launch();
const page = await context.newPage();
const pageErrors = [];
page.on('pageerror', (e) => pageErrors.push(e.message));

let step = '';
function begin(name) { step = name; console.log(`step: ${name}`); }
function check(cond, what) { if (!cond) throw new Error(what); }
const sleep = (ms) => new Promise((ok) => { setTimeout(ok, ms); });

/** The API with the bearer token, from this script (not the page). */
async function rest(method, path, body) {
  const r = await fetch(new URL(path, url), {
    method,
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await r.text();
  if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

/** The time format of the whole console: local `YYYY-MM-DD HH:MM:SS`. */
const TIME = /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/;

try {
  begin('an empty gateway says what to do next');
  await signIn(page, url, token);
  const start = page.locator('#getting-started');
  await start.waitFor();
  check(await page.locator('#overview').isHidden(), 'an empty table is shown');
  for (const link of ['#start-north', '#start-south']) check(await start.locator(link).isVisible(), `no ${link}`);
  check((await start.textContent()).includes('Scan modes'), 'no word of scan modes');
  const updated = (await page.locator('#ov-updated time').textContent()).trim();
  check(TIME.test(updated), `the overview's time is ${updated}`);
  await save(page, 'operator-empty-overview');

  begin('a scan mode made in the console; a wrong one is refused with the reason');
  await page.locator('#nav').getByRole('link', { name: 'Scan modes' }).click();
  await page.locator('#scan-mode-name').fill('every-10s');
  await page.locator('#scan-mode-kind').selectOption('every');
  await page.locator('#scan-mode-value').fill('ten seconds');
  await page.getByRole('button', { name: 'Save scan mode' }).click();
  await page.locator('#scan-mode-message .bad').waitFor();
  console.log(`  refused: ${await page.locator('#scan-mode-message').textContent()}`);
  await page.locator('#scan-mode-value').fill('10s');
  await page.getByRole('button', { name: 'Save scan mode' }).click();
  await page.locator('#scan-modes tr[data-mode="every-10s"]').waitFor();
  const modes = await rest('GET', '/api/scan-modes');
  check(modes.some((m) => m.name === 'every-10s' && m.every === '10s'), `scan modes: ${JSON.stringify(modes)}`);
  await save(page, 'operator-scan-modes');

  // The connectors of the day, made through the API (the connector form has its own test).
  await rest('POST', '/api/north', { id: 'files', type: 'file-writer', settings: { output_folder: process.env.OUT } });
  await rest('POST', '/api/south', {
    id: 'slow-tank', type: 'simulator', query: 'last-point',
    items: [{ name: 'tank.level', scan_mode: 'every-10s', settings: { signal: { type: 'ramp', min: 0, max: 100, period_s: 60 } } }],
  });
  // The South made disabled, its North, then the South enabled: every value reaches the North
  // (values 0 to 39, all refused).
  const numbers = { id: 'numbers', type: 'probe-south', enabled: false, settings: { batch_size: 1, batches: 40, interval_ms: 5 }, items: [{ name: 'n', scan_mode: 'subscription' }] };
  await rest('POST', '/api/south', numbers);
  await rest('POST', '/api/north', {
    id: 'refusing', type: 'probe-north', subscriptions: ['numbers'],
    settings: { refuse_values: Array.from({ length: 41 }, (_, i) => i) },
    caching: { group_count: 1, send_interval: '50ms', retry_interval: '20ms', retry_count: 1 },
  });
  await rest('PUT', '/api/south/numbers', { ...numbers, enabled: true });
  for (const n of [1, 2, 3]) {
    await rest('POST', '/api/north', { id: `offline-${n}`, type: 'probe-north', subscriptions: ['numbers'], settings: { behaviour: { connect_failures: 1000000 } } });
  }

  begin('items scanned every 10 s show a rate, steadily, and a trend');
  await page.locator('#nav').getByRole('link', { name: 'Overview' }).click();
  const tank = page.locator('#overview tr[data-id="slow-tank"]');
  await tank.waitFor();
  const inRate = async () => Number((await tank.locator('td').nth(3).textContent()).replace(/,/g, ''));
  await page.waitForFunction(() => {
    const cell = document.querySelector('#overview tr[data-id="slow-tank"] td:nth-of-type(4)');
    return cell && Number(cell.textContent.replace(/,/g, '')) > 0;
  }, null, { timeout: 60_000 });
  const seen = [];
  for (let i = 0; i < 12; i += 1) { seen.push(await inRate()); await sleep(1000); }
  check(seen.every((r) => r > 0), `In /s of a 10 s scan over 12 s: ${seen.join(', ')}`);
  await tank.locator('td.trend svg.spark').first().waitFor();
  // A last error's instant reads as every other time of the console.
  const errorTime = (await page.locator('#overview tr[data-id="offline-1"] td.error time').first().textContent()).trim();
  check(TIME.test(errorTime), `the last error's time reads ${errorTime}`);
  await save(page, 'operator-overview');

  begin('an item: its scan mode chosen from a list, the keyboard kept after Keep item');
  await page.locator('#overview a[data-key="edit:south/slow-tank"]').click();
  await page.locator('#items').waitFor();
  await page.getByRole('button', { name: 'Add item' }).click();
  await page.locator('#item-name').fill('tank.temperature');
  const choices = await page.locator('#item-scan-mode option').allTextContents();
  check(choices.includes('every-10s') && choices.some((c) => c.startsWith('subscription')), `scan mode choices: ${choices}`);
  check(await page.locator('#item-scan-mode').evaluate((e) => e.tagName) === 'SELECT', 'the scan mode is free text');
  await page.locator('#item-scan-mode').selectOption('every-10s');
  await page.locator('#item-keep').focus();
  await page.keyboard.press('Enter');
  await page.locator('#items tr[data-item="tank.temperature"]').waitFor();
  const focused = await page.evaluate(() => document.activeElement && document.activeElement.dataset.key);
  check(focused === 'item-edit:tank.temperature', `after Keep item the focus is on ${focused}`);

  begin("an item's test shows its result where it was asked, and a trend after a few");
  const testButton = page.locator('#items tr[data-item="tank.level"]').getByRole('button', { name: 'Test' });
  for (let i = 0; i < 3; i += 1) {
    await testButton.click();
    await page.locator('#item-result .ok').waitFor();
    await sleep(1100);
  }
  const result = page.locator('#item-result');
  check(await result.locator('figure.trend svg.spark').count() === 1, 'no trend of the values read');
  const box = await result.boundingBox();
  const view = page.viewportSize();
  check(box && box.y >= 0 && box.y < view.height, `the result is out of view: ${JSON.stringify(box)} in ${JSON.stringify(view)}`);
  check(await page.locator('#editor-message').textContent() === '', 'the result went above the form');
  await save(page, 'operator-item-test', false);

  begin('stop and start agree with the row');
  await page.locator('#nav').getByRole('link', { name: 'Connectors' }).click();
  const row = page.locator('#south-list tr[data-id="slow-tank"]');
  await row.locator('.state.connected').waitFor();
  check(await row.getByRole('button', { name: 'Start' }).isDisabled(), 'Start is offered to a running connector');
  await row.getByRole('button', { name: 'Stop' }).click();
  await page.locator('#toast').getByText('slow-tank: stopped').waitFor();
  check(await row.locator('.state').textContent() === 'stopped', `the row says ${await row.locator('.state').textContent()}`);
  check(await row.getByRole('button', { name: 'Stop' }).isDisabled(), 'Stop is offered to a stopped connector');
  await row.getByRole('button', { name: 'Start' }).click();
  await page.locator('#toast').getByText('slow-tank: started').waitFor();
  check(await row.locator('.state').textContent() !== 'stopped', 'the row still says stopped');

  begin('the error store: every entry selected with one box, numbers under right-aligned headers');
  for (let i = 0; i < 100; i += 1) {
    const c = await rest('GET', '/api/north/refusing/cache');
    if (c.errors.length === 40) break;
    await sleep(300);
  }
  await page.locator('#nav').getByRole('link', { name: 'Cache' }).click();
  await page.locator('#cache-north').selectOption('refusing');
  await page.locator('#cache-errors caption').getByText('Error store: 40 entries').waitFor();
  await page.locator('#select-all').check();
  check(await page.locator('#cache-errors input.entry:checked').count() === 40, 'select all missed some');
  await page.locator('#cache-errors input.entry').first().uncheck();
  check(await page.locator('#select-all').evaluate((e) => e.indeterminate && !e.checked), 'the box does not say "some"');
  const aligned = await page.locator('#cache-errors thead th', { hasText: 'Values' }).evaluate((e) => getComputedStyle(e).textAlign);
  check(aligned === 'right', `the Values header is aligned ${aligned}`);
  const setAside = (await page.locator('#cache-errors tbody tr').first().locator('time').textContent()).trim();
  check(TIME.test(setAside), `set aside at ${setAside}`);
  await page.getByRole('button', { name: 'Delete selected' }).click();
  await page.locator('#cache-errors caption').getByText('Error store: 1 entry').waitFor();
  await save(page, 'operator-cache');

  begin('logs: part of an id finds its connector, repeats are grouped, times as elsewhere');
  await page.locator('#nav').getByRole('link', { name: 'Logs' }).click();
  await page.locator('#logs tbody tr').first().waitFor();
  const grouped = page.locator('#logs tr.grouped', { hasText: 'offline' });
  await grouped.first().waitFor();
  const groupText = await grouped.first().textContent();
  check(/×\d+/.test(groupText), `a grouped row without its count: ${groupText}`);
  const offlineRows = await page.locator('#logs tbody tr', { hasText: 'offline-' }).count();
  console.log(`  grouped: ${groupText.slice(0, 160)} (${offlineRows} rows of the offline Norths)`);
  check(offlineRows <= 10, `${offlineRows} rows of the offline Norths bury the rest`);
  const time = (await page.locator('#logs tbody tr td.time').first().textContent()).trim();
  check(TIME.test(time), `a log time reads ${time}`);
  await page.locator('#logs-group').uncheck();
  await page.locator('#logs-connector').fill('TANK');
  await page.waitForFunction(() => {
    const rows = [...document.querySelectorAll('#logs tbody tr')];
    return rows.length > 0 && rows.every((r) => r.cells[2].textContent === 'slow-tank');
  });
  await save(page, 'operator-logs');

  begin('a sign-out in another tab signs this one out too');
  await page.locator('#nav').getByRole('link', { name: 'Overview' }).click();
  await page.locator('#overview tr[data-id="slow-tank"]').waitFor();
  const other = await context.newPage();
  await other.goto(url);
  await other.locator('#nav').waitFor();
  await other.locator('#sign-out').click();
  await other.getByLabel('Admin token').waitFor();
  await page.getByLabel('Admin token').waitFor({ timeout: 10_000 });
  check((await page.locator('.sign-in .problem').textContent()).includes('sign in again'), 'no word of the ended session');
  await other.close();

  begin('a 400 px window: nothing scrolls sideways');
  await page.setViewportSize({ width: 400, height: 800 });
  await signIn(page, url, token);
  for (const hash of ['#/overview', '#/connectors', '#/connector/south/slow-tank', '#/cache/refusing', '#/logs', '#/scan-modes', '#/plugins']) {
    await page.evaluate((h) => { location.hash = h; }, hash);
    await page.locator('main h1').first().waitFor();
    await sleep(500);
    const wide = await page.evaluate(() => document.documentElement.scrollWidth);
    check(wide <= 400, `${hash} is ${wide} px wide in a 400 px window`);
  }
  await page.evaluate(() => { location.hash = '#/overview'; });
  await page.locator('#overview tr[data-id="slow-tank"]').waitFor();
  await save(page, 'operator-400px');

  check(pageErrors.length === 0, `script errors: ${pageErrors.join(' | ')}`);
  console.log('every step passed');
} catch (e) {
  console.error(`FAILED at "${step}": ${e.message}`);
  if (pageErrors.length) console.error(`script errors: ${pageErrors.join(' | ')}`);
  try { await save(page, 'operator-failure'); } catch { /* the page is gone */ }
  process.exitCode = 1;
} finally {
  await browser.close();
}
