// What every browser script shares: Debian's Chromium started the way this machine needs
// (no sandbox as root, no background network: the machine's network is closed), and the
// environment the Rust tests pass (OIBUS_URL, OIBUS_TOKEN_FILE, SCREENSHOTS, CHROMIUM).

import { chromium } from 'playwright-core';
import fs from 'node:fs';
import path from 'node:path';

/** The gateway's URL (ending in `/`), its admin token, and the screenshots folder. */
export function gateway() {
  const need = (name) => {
    const v = process.env[name];
    if (!v) throw new Error(`${name} is not set`);
    return v;
  };
  const shots = need('SCREENSHOTS');
  fs.mkdirSync(shots, { recursive: true });
  return {
    url: need('OIBUS_URL').replace(/\/?$/, '/'),
    token: fs.readFileSync(need('OIBUS_TOKEN_FILE'), 'utf8').trim(),
    shot: (page, name, full = true) => page.screenshot({ path: path.join(shots, `${name}.png`), fullPage: full }),
  };
}

/** Chromium, and a context of a laptop's screen whose actions wait at most 30 s. */
export async function launch() {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
  const context = await browser.newContext({ viewport: { width: 1366, height: 860 }, acceptDownloads: true });
  context.setDefaultTimeout(30_000);
  return { browser, context };
}

/** Signs in on the console's page with `token`, by keyboard. */
export async function signIn(page, url, token) {
  await page.goto(url);
  await page.getByLabel('Admin token').fill(token);
  await page.keyboard.press('Enter');
  await page.locator('#nav').waitFor();
}
