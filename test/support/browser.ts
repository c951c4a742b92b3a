/**
 * A real headless Chromium for tests (Debian's `chromium` package, driven by playwright-core):
 * the user of the authorization code flow. Each test takes a fresh context (no cookies shared).
 *
 * The flags keep it quiet and offline but for what the test opens: no background networking,
 * component updates, sync or QUIC; `--no-sandbox` because tests may run as root in a container.
 */

import { existsSync } from 'node:fs';
import { type Browser, chromium } from 'playwright-core';

export const CHROMIUM_PATH = '/usr/bin/chromium';

export async function launchBrowser(): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(
      `${CHROMIUM_PATH} is missing: install Debian's chromium package (apt-get install -y chromium)`,
    );
  }
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--disable-quic',
    ],
  });
}
