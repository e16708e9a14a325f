// Live state across browser contexts: typing indicators, unread badges, a context that goes
// offline and comes back without losing or doubling anything, and sends held back by the
// server's rate limit.
import { expect, test } from '@playwright/test';
import path from 'node:path';

import {
  createChannel,
  hydrated,
  joinChannel,
  refuseAsTooFast,
  send,
  signUp,
  timeline,
  unique,
} from './helpers';

test('typing and unread badges show in the other context', async ({ browser }) => {
  const channel = unique('typing-');
  const ann = await signUp(browser, unique('ann'), 'Ann Typist');
  const bob = await signUp(browser, unique('bob'), 'Bob Reader');
  const roomUrl = await createChannel(ann, channel);
  await joinChannel(bob, channel);

  await ann.getByLabel('Message', { exact: true }).pressSequentially('I am writi');

  await expect(bob.getByText('Ann Typist is typing…')).toBeVisible();

  // Bob looks elsewhere; Ann's next message becomes an unread badge in his sidebar.
  await bob.getByRole('link', { name: 'Parley', exact: true }).click();
  await expect(bob.getByRole('heading', { name: 'Welcome to Parley' })).toBeVisible();
  await ann.getByLabel('Message', { exact: true }).fill('');
  await send(ann, 'Are you there?');
  const link = bob.getByRole('navigation', { name: 'Conversations' }).getByRole('link', {
    name: channel,
  });
  await expect(link.locator('.unread')).toHaveText('1');

  // Reading the room clears it.
  await link.click();
  await expect(bob).toHaveURL(roomUrl);
  await expect(timeline(bob).getByText('Are you there?')).toBeVisible();
  await expect(link.locator('.unread')).toHaveCount(0);
});

test('an offline context catches up exactly once and sends its queued message once', async ({
  browser,
}) => {
  const channel = unique('offline-');
  const ann = await signUp(browser, unique('ann'), 'Ann Online');
  const bob = await signUp(browser, unique('bob'), 'Bob Offline');
  await createChannel(ann, channel);
  await joinChannel(bob, channel);
  await send(ann, 'before the outage');
  await expect(timeline(bob).getByText('before the outage')).toBeVisible();

  await bob.context().setOffline(true);
  await send(ann, 'while you were away 1');
  await send(ann, 'while you were away 2');
  await send(bob, 'typed while offline');
  const unreached = bob.getByText('Not sent yet: the server could not be reached; trying again');
  await expect(unreached).toBeVisible();
  await bob.context().setOffline(false);

  for (const text of ['while you were away 1', 'while you were away 2']) {
    await expect(timeline(bob).getByText(text, { exact: true })).toHaveCount(1, {
      timeout: 20_000,
    });
  }
  await expect(timeline(ann).getByText('typed while offline', { exact: true })).toHaveCount(1, {
    timeout: 20_000,
  });
  await expect(timeline(bob).getByText('typed while offline', { exact: true })).toHaveCount(1);
  await expect(unreached).toHaveCount(0);

  // Reloading shows the server's truth: each message once, in order.
  await bob.reload();
  const bodies = await timeline(bob).locator('.body').allTextContents();
  expect(bodies).toEqual([
    'before the outage',
    'while you were away 1',
    'while you were away 2',
    'typed while offline',
  ]);
});

// The server's side of the send limit has its own test (server/tests/bad_input.rs); here the
// first send is answered as the limit answers, to see what the writer sees, that the message
// still goes out by itself, and that what was typed after it does not overtake it.
test('a send refused for coming too fast waits, goes out by itself and keeps its place', async ({
  browser,
}) => {
  const channel = unique('slow-');
  const ann = await signUp(browser, unique('ann'), 'Ann Hasty');
  const bob = await signUp(browser, unique('bob'), 'Bob Reader');
  await createChannel(ann, channel);
  await joinChannel(bob, channel);

  let refused = 0;
  await ann.route('**/api/send_message', async (route) => {
    if (refused > 0) return route.continue();
    refused += 1;
    await refuseAsTooFast(route, 2);
  });
  await send(ann, 'first, held back');
  await expect(ann.getByText('Sending too fast: sends in a moment')).toBeVisible();
  await send(ann, 'second');
  await send(ann, 'third');
  await ann.screenshot({ path: path.join(test.info().outputDir, 'held-send.png') });

  await expect(timeline(bob).locator('.body')).toHaveText(['first, held back', 'second', 'third'], {
    timeout: 10_000,
  });
  await expect(ann.getByText('Sending too fast: sends in a moment')).toHaveCount(0);
  await expect(timeline(ann).locator('.body')).toHaveText(['first, held back', 'second', 'third']);
  expect(refused).toBe(1);
});

test('messages keep their order through a slow answer and a failed retry', async ({ browser }) => {
  const channel = unique('order-');
  const ann = await signUp(browser, unique('ann'), 'Ann Order');
  const bob = await signUp(browser, unique('bob'), 'Bob Order');
  await createChannel(ann, channel);
  await joinChannel(bob, channel);

  // The first send is slow to leave (a poor mobile network) and is then refused for coming too
  // fast; its retry gets no answer at all. Everything typed meanwhile must wait behind it.
  let attempts = 0;
  await ann.route('**/api/send_message', async (route) => {
    attempts += 1;
    if (attempts === 1) {
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      return refuseAsTooFast(route, 1);
    }
    if (attempts === 2) return route.abort('connectionreset');
    return route.continue();
  });
  await send(ann, 'one');
  await send(ann, 'two');
  await send(ann, 'three');
  await expect(ann.getByText('Queued: sends after the one above')).toHaveCount(2);

  await expect(timeline(bob).locator('.body')).toHaveText(['one', 'two', 'three'], {
    timeout: 15_000,
  });
  await expect(timeline(ann).locator('.pending')).toHaveCount(0);
  await expect(timeline(ann).locator('.body')).toHaveText(['one', 'two', 'three']);
});

test('a message still unsent when the page reloads is sent after it, once', async ({ browser }) => {
  const channel = unique('reload-');
  const ann = await signUp(browser, unique('ann'), 'Ann Reload');
  const bob = await signUp(browser, unique('bob'), 'Bob Reload');
  await createChannel(ann, channel);
  await joinChannel(bob, channel);

  let refused = 0;
  await ann.route('**/api/send_message', async (route) => {
    if (refused > 0) return route.continue();
    refused += 1;
    await refuseAsTooFast(route, 3);
  });
  await send(ann, 'typed before the reload');
  await expect(ann.getByText('Sending too fast: sends in a moment')).toBeVisible();

  // Still held after the reload, until the server's time comes.
  await ann.reload();
  await hydrated(ann);
  await expect(ann.getByText('Sending too fast: sends in a moment')).toBeVisible();
  await expect(timeline(bob).getByText('typed before the reload', { exact: true })).toHaveCount(1, {
    timeout: 10_000,
  });
  await expect(timeline(ann).getByText('typed before the reload', { exact: true })).toHaveCount(1);
  await expect(timeline(ann).locator('.pending')).toHaveCount(0);
});
