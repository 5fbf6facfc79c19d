// Drives the oibus web console in Debian's Chromium through an operator's day: sign in, watch
// the connectors live, create a North from its form (a wrong value, then right ones), test its
// connection, fix a destination and retry its error store, upload a new plugin version and see
// the upgrade, edit items through CSV, read one connector's logs; and attacks the session from
// another site. Run by tests/e2e/console.rs, which starts the engine and the broker and checks
// afterwards, through the API, what the clicks did.
//
// Environment: OIBUS_URL, OIBUS_TOKEN_FILE, BROKER_PORT, BROKER_USER, BROKER_PASSWORD,
// UPLOAD_FILE (a plugin file), SCREENSHOTS (a folder), CHROMIUM (default /usr/bin/chromium).

import { gateway, launch } from './browser.mjs';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';

const env = (name) => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set`);
  return v;
};
const { url, token, shot: save } = gateway();
const shots = env('SCREENSHOTS');
const { browser, context } = await launch();
const page = await context.newPage();
const pageErrors = [];
page.on('pageerror', (e) => pageErrors.push(e.message));
// The console loads nothing from anywhere but the gateway.
const foreign = [];
page.on('request', (r) => { if (!r.url().startsWith(url) && !r.url().startsWith('data:') && !r.url().startsWith('blob:')) foreign.push(r.url()); });

let step = '';
const steps = [];
function begin(name) { step = name; steps.push(name); console.log(`step: ${name}`); }
function check(cond, what) { if (!cond) throw new Error(what); }
async function shot(name) { await save(page, name); }
async function api(method, p) {
  return page.evaluate(async ([m, q]) => { const r = await fetch(q, { method: m }); return { status: r.status, body: await r.text() }; }, [method, p]);
}

try {
  begin('a wrong token is refused, the right one signs in with a strict HttpOnly cookie');
  await page.goto(url);
  await page.getByLabel('Admin token').fill('not-the-token');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.locator('.sign-in .problem').filter({ hasText: 'wrong token' }).waitFor();
  await page.getByLabel('Admin token').fill(token);
  await page.keyboard.press('Enter');
  await page.locator('#nav').waitFor();
  const cookie = (await context.cookies()).find((c) => c.name === 'oibus_session');
  check(cookie && cookie.httpOnly && cookie.sameSite === 'Strict', `session cookie ${JSON.stringify(cookie)}`);
  check(!(await page.evaluate(() => document.cookie)).includes('oibus_session'), 'a script can read the session cookie');

  begin('the overview shows the connectors live, without a reload');
  const sim = page.locator('#overview tr[data-id="plant-simulator"]');
  await sim.locator('.state.connected').waitFor();
  await page.waitForFunction(() => {
    const cell = document.querySelector('#overview tr[data-id="plant-simulator"] td:nth-of-type(4)');
    return cell && Number(cell.textContent.replace(/,/g, '')) > 0;
  });
  const navigations = [];
  page.on('framenavigated', (f) => { if (f === page.mainFrame()) navigations.push(f.url()); });
  const before = await page.locator('#overview').getAttribute('data-updated');
  await page.waitForFunction((b) => document.querySelector('#overview').dataset.updated !== b, before);
  check(navigations.length === 0, `the overview reloaded: ${navigations}`);
  await shot('overview');

  begin('a change without the CSRF token is refused, and another site cannot use the session');
  const forged = await api('POST', '/api/south/plant-simulator/stop');
  check(forged.status === 403, `a POST without the CSRF token answered ${forged.status}: ${forged.body}`);
  const attack = http.createServer((_, res) => {
    res.setHeader('Content-Type', 'text/html');
    res.end(`<form id=f method=post action="${url}api/south/plant-simulator/stop"></form><script>f.submit()</script>`);
  });
  await new Promise((ok) => attack.listen(0, 'localhost', ok));
  const evil = await context.newPage();
  const answer = evil.waitForResponse((r) => r.url().endsWith('/api/south/plant-simulator/stop'));
  await evil.goto(`http://localhost:${attack.address().port}/`);
  const forgedStatus = (await answer).status();
  attack.close();
  await evil.close();
  check(forgedStatus === 401, `another site's form answered ${forgedStatus}`);
  const still = JSON.parse((await api('GET', '/api/status/page?q=plant-simulator')).body);
  check(still.connectors[0].state === 'connected', `the simulator is ${still.connectors[0].state}`);

  begin('a new North from its form: a wrong value is shown at its field');
  await page.getByRole('link', { name: 'Connectors' }).click();
  await page.locator('#new-north').click();
  await page.locator('#connector-type').selectOption('mqtt-north');
  await page.locator('#connector-id').fill('browser-mqtt');
  const form = page.locator('#settings-form');
  await form.getByLabel('host', { exact: true }).fill('127.0.0.1');
  await form.getByLabel('port', { exact: true }).fill('not-a-port');
  await form.getByLabel('username', { exact: true }).fill(env('BROKER_USER'));
  await form.getByLabel('password (secret)', { exact: true }).fill('wrong-password');
  await form.getByLabel('topic', { exact: true }).fill('plant/{pointId}');
  await page.locator('#save').click();
  const portProblem = form.locator('.field', { has: page.getByLabel('port', { exact: true }) }).locator('.problem');
  await portProblem.waitFor();
  console.log(`  the port's problem: ${await portProblem.textContent()}`);
  await shot('north-form-error');

  begin('test connection: refused with the wrong password, passes with the right one');
  await form.getByLabel('port', { exact: true }).fill(env('BROKER_PORT'));
  await page.locator('#test-connection').click();
  const message = page.locator('#editor-message');
  await message.locator('.bad').waitFor();
  console.log(`  wrong password: ${await message.textContent()}`);
  await form.getByLabel('password (secret)', { exact: true }).fill(env('BROKER_PASSWORD'));
  await page.locator('#test-connection').click();
  await message.getByText('Connection test passed.').waitFor();
  await page.locator('#save').click();
  await page.waitForURL(/#\/connector\/north\/browser-mqtt$/);
  await message.getByText('browser-mqtt saved and applied.').waitFor();
  await page.locator('#settings-form').getByLabel('password (secret)', { exact: true }).waitFor();
  const shown = await page.locator('#settings-form').getByLabel('password (secret)', { exact: true }).inputValue();
  check(shown === '', 'the saved password came back to the browser');
  // The saved connector's test uses its saved password, which the form does not hold.
  await page.locator('#test-connection').click();
  await message.getByText('Connection test passed.').waitFor();

  begin('the new North runs');
  await page.getByRole('link', { name: 'Overview' }).click();
  await page.locator('#overview tr[data-id="browser-mqtt"] .state.connected').waitFor();

  begin('fix a refusing destination, then retry its error-store entry');
  await page.goto(`${url}#/cache/refusing`);
  await page.locator('#cache-errors tbody tr').first().waitFor();
  const refusedRow = await page.locator('#cache-errors tbody tr').first().textContent();
  check(refusedRow.includes('probe: value 7 of a#0 refused') && refusedRow.includes('a#0'), `the error-store entry says no reason: ${refusedRow}`);
  await shot('cache');
  await page.goto(`${url}#/connector/north/refusing`);
  await page.locator('#settings-form').getByLabel('refuse_values (one per line)').fill('');
  await page.locator('#save').click();
  await page.locator('#editor-message').getByText('refusing saved and applied.').waitFor();
  await page.goto(`${url}#/cache/refusing`);
  const entry = page.locator('#cache-errors tbody tr').first();
  await entry.locator('input[type=checkbox]').check();
  await page.locator('#retry-selected').click();
  await page.locator('#toast').getByText('1 entry queued again').waitFor();
  await page.locator('#cache-errors caption').getByText('Error store: 0 entries').waitFor();

  begin("send again what a South's log retains (a replay)");
  const logRow = page.locator('#cache-logs tbody tr[data-south="counter"]');
  await logRow.waitFor();
  const retained = await logRow.textContent();
  check(retained.includes('30'), `the log of "counter" retains its 30 values: ${retained}`);
  await page.locator('#replay').click();
  await page.locator('#toast').getByText('30 values to send again').waitFor();

  begin('a connector that failed and works again shows its last error as resolved, not in red');
  await page.getByRole('link', { name: 'Overview' }).click();
  await page.locator('#overview tr[data-id="flaky"] td.error.resolved', { hasText: /^resolved: .*transient fault/ }).waitFor();
  const red = await page.locator('#overview tr:has(td.error:not(.resolved))').evaluateAll((rows) => rows.map((r) => `${r.dataset.id}: ${r.querySelector('td.error').textContent}`));
  // `doomed`, whose destination is down for good (it is deleted below), is the one failing.
  check(red.length === 1 && red[0].startsWith('doomed: '), `connectors shown failing: ${red.join(' | ')}`);

  begin('deleting a North that holds unsent values says what is lost, and asks again');
  const dialogs = [];
  let replies = [true, false];
  const onDialog = async (d) => { dialogs.push(d.message()); await (replies.shift() ? d.accept() : d.dismiss()); };
  page.on('dialog', onDialog);
  await page.goto(`${url}#/connector/north/doomed`);
  await page.locator('#settings-form').waitFor();
  await page.getByRole('button', { name: 'Delete', exact: true }).click();
  for (let i = 0; i < 50 && dialogs.length < 2; i++) await page.waitForTimeout(100);
  check(dialogs.length === 2, `dialogs: ${JSON.stringify(dialogs)}`);
  check(dialogs[0].includes('queue and error store are deleted with it'), `first dialog: ${dialogs[0]}`);
  check(/still holds [1-9][0-9]* queued value/.test(dialogs[1]) && dialogs[1].includes('lose this data'), `second dialog: ${dialogs[1]}`);
  console.log(`  asked: ${dialogs[1].split('\n')[0]}`);
  const kept = await api('GET', '/api/north/doomed');
  check(kept.status === 200, `cancelled, yet doomed answered ${kept.status}`);
  replies = [true, true];
  await page.getByRole('button', { name: 'Delete', exact: true }).click();
  await page.locator('#toast').getByText('doomed deleted').waitFor();
  page.off('dialog', onDialog);
  const gone = await api('GET', '/api/north/doomed');
  check(gone.status === 404, `deleted, yet doomed answered ${gone.status}`);

  begin('upload a new plugin version and see the upgrade');
  await page.getByRole('link', { name: 'Plugins' }).click();
  await page.locator('#upload-library').setInputFiles(env('UPLOAD_FILE'));
  await page.getByRole('button', { name: 'Upload' }).click();
  await page.locator('#upload .summary').getByText(/ok \(oibus-test-probe 0\.2\.0\)/).waitFor();
  const upgrade = page.locator('#upgrades tbody tr', { hasText: 'oibus-test-probe 0.2.0' }).first();
  await upgrade.waitFor();
  console.log(`  upgrade: ${await upgrade.textContent()}`);
  await shot('plugins');

  begin('force the older version, see the downgrade, then clear it');
  await page.locator('#plugin-files tr[data-file="liboibus_test_probe.so"]').getByRole('button', { name: 'Force this version' }).click();
  await page.locator('#loaded-versions tr', { hasText: '0.1.0' }).getByText('yes (forced)').waitFor();
  await page.locator('#upgrades tbody tr', { hasText: 'counter' }).getByText('oibus-test-probe 0.1.0').last().waitFor();
  await page.locator('#loaded-versions').getByRole('button', { name: 'Clear forced version' }).click();
  await page.locator('#loaded-versions tr', { hasText: '0.2.0' }).getByText(/^yes$/).waitFor();
  check(await page.locator('#loaded-versions').getByText('yes (forced)').count() === 0, 'still forced');

  begin('a file that is not a plugin is refused and not kept; a standby version is deleted');
  await page.locator('#upload-library').setInputFiles({ name: 'not-a-plugin.so', mimeType: 'application/octet-stream', buffer: Buffer.from('#!/bin/sh\necho hi\n') });
  await page.getByRole('button', { name: 'Upload' }).click();
  await page.locator('#upload .summary').getByText(/Upload refused: .*not a plugin library, so it was not kept/).waitFor();
  check(await page.locator('#plugin-files tr[data-file="not-a-plugin.so"]').count() === 0, 'the refused file is listed');
  page.once('dialog', (d) => d.accept());
  await page.locator('#plugin-files tr[data-file="liboibus_test_probe.so"]').getByRole('button', { name: 'Delete' }).click();
  await page.locator('#toast').getByText('liboibus_test_probe.so deleted').waitFor();
  await page.locator('#plugin-files tr[data-file="liboibus_test_probe.so"]').waitFor({ state: 'detached' });

  begin('stop a connector from its list, then start it again');
  await page.getByRole('link', { name: 'Connectors' }).click();
  const simRow = page.locator('#south-list tr[data-id="plant-simulator"]');
  await simRow.getByRole('button', { name: 'Stop' }).click();
  await page.locator('#toast').getByText('plant-simulator: stopped').waitFor();
  await page.getByRole('link', { name: 'Overview' }).click();
  await page.locator('#overview tr[data-id="plant-simulator"] .state.stopped').waitFor();
  await page.getByRole('link', { name: 'Connectors' }).click();
  await simRow.getByRole('button', { name: 'Start' }).click();
  await page.locator('#toast').getByText('plant-simulator: started').waitFor();

  begin('items: add one from its form, test one, export them as CSV, import a changed file, save');
  await page.goto(`${url}#/connector/south/plant-simulator`);
  await page.getByRole('button', { name: 'Add item' }).click();
  const itemForm = page.locator('#item-editor');
  await itemForm.getByLabel('Name', { exact: true }).fill('conveyor.speed');
  await itemForm.getByLabel(/^Scan mode/).selectOption('every-second');
  await itemForm.getByLabel('type', { exact: true }).selectOption('"random"');
  await itemForm.getByLabel('min', { exact: true }).fill('0.5');
  await itemForm.getByLabel('max', { exact: true }).fill('1.5');
  await page.locator('#item-keep').click();
  await page.locator('#items tr[data-item="conveyor.speed"]').waitFor();
  await page.locator('#items tr[data-item="boiler.temperature"]').getByRole('button', { name: 'Test' }).click();
  await page.locator('#test-item-values').waitFor();
  console.log(`  test item: ${await page.locator('#test-item-values').textContent()}`);
  await shot('south-editor');
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Export CSV' }).click()]);
  const csv = fs.readFileSync(await download.path(), 'utf8');
  check(csv.startsWith('name,enabled,scan_mode,') && csv.includes('settings.signal.type'), `exported CSV: ${csv}`);
  const bad = path.join(shots, 'bad-items.csv');
  fs.writeFileSync(bad, 'name,enabled\nx,maybe\n');
  await page.locator('#import-csv').setInputFiles(bad);
  await page.locator('#editor-message').getByText('line 2, column enabled: maybe is neither true nor false').waitFor();
  const changed = path.join(shots, 'items.csv');
  const header = csv.split(/\r?\n/)[0].split(',');
  const row = header.map((c) => ({ name: 'boiler.level', enabled: 'true', scan_mode: 'every-second', 'settings.signal.type': 'random', 'settings.signal.min': '0', 'settings.signal.max': '5' }[c] ?? ''));
  fs.writeFileSync(changed, `${csv.trimEnd()}\r\n${row.join(',')}\r\n`);
  await page.locator('#import-csv').setInputFiles(changed);
  await page.locator('#editor-message').getByText('5 item(s) read').waitFor();
  await page.locator('#save').click();
  await page.locator('#editor-message').getByText('plant-simulator saved and applied.').waitFor();

  begin('a history read of the last two minutes, followed to its end');
  await page.getByRole('link', { name: 'History' }).click();
  await page.locator('#history-south').selectOption('plant-simulator');
  const local = (d) => new Date(d.getTime() - d.getTimezoneOffset() * 60e3).toISOString().slice(0, 16);
  await page.locator('#history-start').fill(local(new Date(Date.now() - 120e3)));
  await page.locator('#history-end').fill(local(new Date()));
  await page.getByRole('button', { name: 'Read history' }).click();
  await page.locator('#history-state').getByText(/^done: /).waitFor();
  console.log(`  history: ${await page.locator('#history-state').textContent()}`);
  await shot('history');

  begin('the logs of one connector');
  await page.getByRole('link', { name: 'Logs' }).click();
  await page.locator('#logs-connector').fill('browser-mqtt');
  await page.waitForFunction(() => {
    const rows = [...document.querySelectorAll('#logs tbody tr')];
    return rows.length > 0 && rows.every((r) => r.children[2].textContent === 'browser-mqtt');
  });
  await shot('logs');

  begin('keyboard: the skip link comes first and every page is reachable from the navigation');
  await page.goto(`${url}#/overview`);
  await page.reload();
  await page.locator('#overview tbody tr').first().waitFor();
  await page.keyboard.press('Tab');
  check(await page.evaluate(() => document.activeElement.className === 'skip'), 'the skip link is not the first stop');
  await page.keyboard.press('Tab');
  await page.keyboard.press('Tab');
  await page.keyboard.press('Enter');
  await page.locator('#plugin-files').waitFor();

  check(pageErrors.length === 0, `script errors in the page: ${pageErrors.join(' | ')}`);
  check(foreign.length === 0, `requests outside the gateway: ${foreign.join(' ')}`);
  console.log(`passed: ${steps.length} steps`);
} catch (e) {
  console.error(`FAILED at "${step}": ${e.message}`);
  if (pageErrors.length) console.error(`script errors: ${pageErrors.join(' | ')}`);
  try { await shot('failure'); } catch { /* the page is gone */ }
  process.exitCode = 1;
} finally {
  await browser.close();
}
