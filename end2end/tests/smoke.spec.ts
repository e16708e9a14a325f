import { expect, test } from '@playwright/test';

// Placeholder until the real specs land: the server starts, renders the login page, and the
// page has a heading.
test('login page renders a heading', async ({ page }) => {
  await page.goto('/login');

  await expect(page.getByRole('heading').first()).toBeVisible();
});
