// Browser tests for Parley: Playwright drives Debian's Chromium against a real server binary
// started fresh for each run. Run them with `cargo xtask test` (everything) or
// `cargo xtask e2e [playwright args]` (browser tests only); both build first.
import { execSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { defineConfig } from '@playwright/test';

const repoRoot = path.resolve(__dirname, '..');

// Its own port, so a `cargo xtask run` on the default 3000 can stay up during a test run.
const addr = '127.0.0.1:3210';
const baseURL = `http://${addr}`;

// The xtask always passes PARLEY_BIN, since cargo's target dir may be moved; the default is
// for a bare `npx playwright test` after `cargo xtask build`.
const serverBinary = process.env.PARLEY_BIN ?? path.join(repoRoot, 'target', 'release', 'parley');

// Playwright's own browser download is unreachable from our machines, so use Debian's.
function chromiumPath(): string {
  if (process.env.CHROMIUM_PATH) return process.env.CHROMIUM_PATH;
  try {
    const found = execSync('command -v chromium', { shell: '/bin/sh', encoding: 'utf8' }).trim();
    if (found) return found;
  } catch {
    // Not on PATH: fall through to Debian's location and let the launch report it.
  }
  return '/usr/bin/chromium';
}

// Each run gets an empty data folder so tests never see accounts from an earlier run.
// Playwright loads this file again in every worker process; the folder is made once, in the
// main process, and handed to the workers through the environment they inherit.
function freshDataDir(): string {
  const existing = process.env.E2E_PARLEY_DATA_DIR;
  if (existing) return existing;

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-e2e-'));
  process.env.E2E_PARLEY_DATA_DIR = dir;
  // By exit time Playwright has stopped the server, so nothing is still writing here.
  process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export default defineConfig({
  testDir: './tests',
  outputDir: './test-results',
  // One worker: the tests share one server and one database, and the machine has 2 cores.
  workers: 1,
  fullyParallel: false,
  forbidOnly: !!process.env.CI,
  retries: 0,
  reporter: 'list',
  timeout: 30_000,
  expect: { timeout: 5_000 },

  use: {
    baseURL,
    browserName: 'chromium',
    headless: true,
    screenshot: 'only-on-failure',
    trace: 'retain-on-failure',
    // Video needs Playwright's own ffmpeg download, which we cannot fetch.
    video: 'off',
    launchOptions: {
      executablePath: chromiumPath(),
      // As root without a sandbox helper, and with no network beyond loopback: without the
      // background-networking flags Chromium keeps dialling Google's hosts and failing.
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
      ],
    },
  },

  webServer: {
    command: JSON.stringify(serverBinary),
    cwd: repoRoot,
    url: `${baseURL}/healthz`,
    // Always our freshly built binary with an empty database, never a leftover server.
    reuseExistingServer: false,
    timeout: 60_000,
    // SIGTERM, as an operator would stop it, so every run also exercises graceful shutdown.
    gracefulShutdown: { signal: 'SIGTERM', timeout: 5_000 },
    // The server's logs stay out of the report; its stderr (panics) still shows.
    stdout: 'ignore',
    stderr: 'pipe',
    env: {
      PARLEY_ADDR: addr,
      PARLEY_DATA_DIR: freshDataDir(),
      // The suite signs up and logs in far more often than a person would.
      PARLEY_SIGNUP_PER_HOUR: '1000',
      PARLEY_LOGIN_PER_MINUTE: '1000',
      PARLEY_SENDS_PER_MINUTE: '1000000',
    },
  },
});
