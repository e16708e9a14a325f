// Shared steps for the browser tests: sign up in a fresh context, wait for hydration, send.
import { expect, type Browser, type Page, type Route } from '@playwright/test';

export const PASSWORD = 'correct horse battery';

export function unique(prefix: string): string {
  return `${prefix}${Date.now().toString(36)}${Math.floor(Math.random() * 1e4)}`;
}

export async function signUp(
  browser: Browser,
  username: string,
  displayName: string,
): Promise<Page> {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto('/signup');
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Display name').fill(displayName);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign up' }).click();
  await expect(page.getByRole('heading', { name: 'Welcome to Parley' })).toBeVisible();
  await hydrated(page);
  return page;
}

/// The app marks the workspace once the WASM bundle has taken over the server-rendered page.
export async function hydrated(page: Page) {
  await expect(page.locator('.workspace')).toHaveAttribute('data-hydrated', 'true');
}

export async function send(page: Page, text: string) {
  const composer = page.getByLabel('Message', { exact: true });
  await composer.fill(text);
  await composer.press('Enter');
  await expect(composer).toHaveValue('');
}

export function timeline(page: Page) {
  return page.getByRole('log', { name: 'Messages' });
}


/// Creates a public channel from the directory page and returns its URL.
export async function createChannel(page: Page, name: string): Promise<string> {
  await page.goto('/browse');
  await page.getByLabel('Name').fill(name);
  await page.getByRole('button', { name: 'Create channel' }).click();
  await expect(page.getByRole('heading', { level: 1, name })).toBeVisible();
  await hydrated(page);
  return page.url();
}

/// Joins a public channel from the directory page.
export async function joinChannel(page: Page, name: string) {
  await page.goto('/browse');
  await page
    .getByRole('listitem')
    .filter({ hasText: name })
    .getByRole('button', { name: 'Join' })
    .click();
  await expect(page.getByRole('heading', { level: 1, name })).toBeVisible();
  await hydrated(page);
}

// Answers one intercepted send as the server's send limit does.
export function refuseAsTooFast(route: Route, retryAfterSecs: number) {
  return route.fulfill({
    status: 429,
    headers: { 'retry-after': String(retryAfterSecs) },
    contentType: 'application/json',
    body: JSON.stringify({ error: 'rate_limited', retry_after_secs: retryAfterSecs }),
  });
}
