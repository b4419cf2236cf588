import { mkdtempSync, rmSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tinyJsonl } from '../finetune/tiny-model-dir.ts';
import { hasChromium, launchChromium, screenshotDir } from '../helpers/chromium.ts';
import { ADMIN, startLabServer, type LabServer } from '../server/helpers/lab-server.ts';

/** The embedded model: it answers arithmetic with a rationale, so a vote has something to count. */
const modelDir = fileURLToPath(new URL('../../models/flan-mini', import.meta.url));
const MODEL = 'flan-mini';

/**
 * The admin console driven in Chromium against a real server with a data directory: /v1 keyless (the
 * loopback mode the websocket relies on until it takes a key), admin routes behind the admin key, as
 * `FLAN_ADMIN_KEY=... npm start` runs it. The tests run in order, as a person would use the page.
 */
// A finetune and model loads on two shared cores: each step gets more than vitest's default minute.
describe.skipIf(!hasChromium)('admin console in Chromium', { timeout: 150_000 }, () => {
  const root = mkdtempSync(join(tmpdir(), 'flan-console-'));
  let server: LabServer;
  let browser: Browser;
  let page: Page;
  /** Messages the page could not have wanted: script errors, CSP refusals, failed loads. */
  const pageErrors: string[] = [];
  /** Every websocket frame the server sent, parsed. */
  const wsFrames: { type: string; text?: string }[] = [];

  beforeAll(async () => {
    server = await startLabServer(join(root, 'data'), modelDir, { keys: { apiKeys: [], adminKey: ADMIN }, model: MODEL });
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    page.on('pageerror', (err) => pageErrors.push(err.message));
    page.on('console', (message) => {
      if (message.type() === 'error') pageErrors.push(message.text());
    });
    page.on('websocket', (ws) => ws.on('framereceived', (frame) => wsFrames.push(JSON.parse(String(frame.payload)))));
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    rmSync(root, { recursive: true, force: true });
  });

  const shot = (name: string) => page.screenshot({ path: join(screenshotDir, `${name}.png`) });
  const turns = () => page.locator('.turn.assistant');

  it('loads, says what it serves, and refuses admin sections until the admin key is given', async () => {
    await page.goto(`${server.url}/console`);
    await expect.poll(() => page.textContent('#server-status')).toBe(`Serving ${MODEL}`);
    await expect.poll(() => page.inputValue('#model-picker')).toBe(MODEL);

    await page.click('#tab-models');
    await expect.poll(() => page.textContent('#models-status')).toMatch(/set the key above/);
    // Chromium logs the 401 this test asked for; the last test checks for errors after it.
    pageErrors.length = 0;
    await page.fill('#key-input', ADMIN);
    await page.click('#key-form button[type="submit"]');
    await expect.poll(() => page.locator('#versions tbody tr').count()).toBe(1);
    // Page-side code goes in as strings: the tests compile without the DOM's types.
    expect(await page.evaluate("sessionStorage.getItem('flan-serve.key')")).toBe(ADMIN);
    expect(await page.textContent(`#versions tr[data-version="${MODEL}@base"]`)).toContain('serving');
  });

  it('moves between sections with the keyboard', async () => {
    await page.focus('#tab-models');
    await page.keyboard.press('ArrowRight');
    expect(await page.getAttribute('#tab-finetune', 'aria-selected')).toBe('true');
    expect(await page.isVisible('#finetune')).toBe(true);
    expect(await page.isVisible('#models')).toBe(false);
    await page.keyboard.press('Home');
    expect(await page.evaluate('document.activeElement.id')).toBe('tab-playground');
    expect(await page.isVisible('#playground')).toBe(true);
  });

  it('chats over the websocket with the text streamed as it is generated', async () => {
    await page.reload();
    await page.check('#cot');
    await page.fill('#chat-input', 'What is 23 + 19?');
    await page.press('#chat-input', 'Enter');
    await page.locator('.turn.assistant .meta').first().waitFor({ timeout: 60_000 });

    const deltas = wsFrames.filter((f) => f.type === 'delta');
    const done = wsFrames.find((f) => f.type === 'done');
    expect(deltas.length).toBeGreaterThan(5);
    expect(done?.text).toBe(deltas.map((d) => d.text).join(''));
    expect((await turns().first().locator('.text').textContent())?.trim()).toBe(done?.text?.trim());
    expect(await turns().first().locator('.answer').textContent()).toBe('Answer: 42');
  });

  it('asks with self-consistency and shows the vote tally and every sample', async () => {
    await page.check('#sc');
    await page.fill('#sc-samples', '5');
    // Hot enough that the samples may disagree, so the tally has something to show.
    await page.fill('#sc-temperature', '1');
    await page.fill('#chat-input', 'What is 48 + 37?');
    await page.press('#chat-input', 'Enter');
    const turn = turns().nth(1);
    await turn.locator('.tally-chart').waitFor({ timeout: 90_000 });

    expect(await turn.locator('details.sample').count()).toBe(5);
    for (const text of await turn.locator('details.sample .text').allTextContents()) expect(text.length).toBeGreaterThan(0);
    expect(await turn.locator('.tally-chart').getAttribute('aria-label')).toMatch(/^Vote tally of 5 samples: /);
    // One bar per answer, labelled with its votes; samples without an answer are in no bar.
    const votes = (await turn.locator('.tally-chart text.value').allTextContents()).map(Number);
    expect(votes.length).toBeGreaterThan(0);
    expect(votes.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(5);
    expect(await turn.locator('.tally-chart rect.bar').count()).toBe(votes.length);
    expect(await turn.locator('.answer').textContent()).toMatch(/^Majority answer: \S+ \(\d+% of samples\)$/);
    await shot('playground');
  });

  it('uploads a JSONL file, finetunes on it, follows the loss, and activates the new version', async () => {
    await page.click('#tab-finetune');
    await page.setInputFiles('#upload-file', { name: 'tiny.jsonl', mimeType: 'application/jsonl', buffer: Buffer.from(tinyJsonl) });
    await page.click('#upload-form button[type="submit"]');
    // The server checks the file in a worker thread, which takes a moment to start on a busy machine.
    await expect.poll(() => page.textContent('#finetune-status'), { timeout: 30_000 }).toMatch(/^Uploaded tiny\.jsonl: 6 examples/);

    await page.selectOption('#job-model', MODEL);
    await page.check('input[name="job-method"][value="full"]');
    for (const [id, value] of [['job-steps', '3'], ['job-lr', '0.001'], ['job-batch', '3'], ['job-source-length', '32'], ['job-target-length', '16'], ['job-suffix', 'console']]) {
      await page.fill(`#${id}`, value);
    }
    await page.click('#job-form button[type="submit"]');
    await page.locator('#job-state[data-status="succeeded"]').waitFor({ timeout: 100_000 });

    // Three metrics events, three points on the curve; the held-out evaluation at the end, a dot.
    const points = await page.locator('#loss-chart polyline.train-line').getAttribute('points');
    expect(points?.trim().split(' ')).toHaveLength(3);
    expect(await page.locator('#loss-chart circle.held-out-dot').count()).toBeGreaterThan(0);
    // The job's state and its event list come by separate updates: the last event may land just after.
    await expect
      .poll(() => page.locator('#job-events li').allTextContents(), { timeout: 30_000 })
      .toContainEqual(expect.stringMatching(/^Job succeeded: model ft:/));
    await shot('finetune');

    await page.click('#tab-models');
    const row = page.locator('#versions tr[data-version*=":console:"]');
    await row.waitFor();
    const version = (await row.getAttribute('data-version'))!;
    expect(await row.locator('td').nth(0).textContent()).toMatch(/^ftjob-/);
    expect(Number(await row.locator('td').nth(1).textContent())).toBeGreaterThan(0);
    await row.getByRole('button', { name: `Activate ${version}` }).click();
    await page.locator(`#versions tr.active[data-version="${version}"]`).waitFor();
    expect(await page.textContent('#models-status')).toBe(`Now serving ${version}.`);
    const listed = (await (await fetch(`${server.url}/admin/models`, { headers: { authorization: `Bearer ${ADMIN}` } })).json()) as { active: string };
    expect(listed.active).toBe(version);
    // The playground's picker now offers the new version's name.
    await expect.poll(() => page.locator('#model-picker option').allTextContents()).toContain(version);
    await shot('models');
  });

  it('runs an eval suite twice, follows both to success, and shows a report and the comparison', async () => {
    await page.click('#tab-evals');
    await page.selectOption('#eval-suite', 'synthetic');
    await page.selectOption('#eval-mode', 'direct');
    await page.fill('#eval-tasks', 'sort_words, plural');
    await page.fill('#eval-limit', '2');
    for (let i = 0; i < 2; i++) await page.click('#eval-form button[type="submit"]');
    await expect.poll(() => page.locator('#eval-runs td.run-status.succeeded').count(), { timeout: 60_000 }).toBe(2);

    const rows = page.locator('#eval-runs tbody tr');
    const [after, before] = await rows.evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-run')!));
    // Each run names the version it measured: the one just activated.
    expect(await rows.first().locator('td').nth(1).textContent()).toMatch(/^ft:flan-mini:console:/);
    await rows.nth(1).getByRole('button', { name: `Report of ${before}` }).click();
    await expect.poll(() => page.locator('#eval-report').getAttribute('srcdoc')).toMatch(/sort_words/);
    await page.check(`input[name="eval-before"][value="${before}"]`);
    await page.check(`input[name="eval-after"][value="${after}"]`);
    await page.click('#eval-compare');
    await expect.poll(() => page.textContent('#evals-status')).toBe(`Comparing ${before} (before) with ${after} (after).`);
    expect(await page.locator('#eval-report').getAttribute('srcdoc')).toMatch(/plural/);
    await shot('evals');
  });

  it('cancels a running job from the page', async () => {
    await page.click('#tab-finetune');
    await page.fill('#job-steps', '1000');
    await page.fill('#job-suffix', 'cancelled');
    await page.click('#job-form button[type="submit"]');
    await page.locator('#job-state[data-status="running"]').waitFor({ timeout: 60_000 });
    await page.click('#job-cancel');
    await page.locator('#job-state[data-status="cancelled"]').waitFor({ timeout: 60_000 });
    expect(await page.isDisabled('#job-cancel')).toBe(true);
    expect(await page.locator('#jobs td.job-status.cancelled').count()).toBe(1);
  });

  it('names every control, for screen readers and for keyboard users', async () => {
    const unnamed = await page.locator('input, select, textarea, button').evaluateAll((controls) =>
      controls
        .filter((c) => !(c as unknown as { labels?: { length: number } }).labels?.length && !c.getAttribute('aria-label') && !c.textContent?.trim())
        .map((c) => c.outerHTML),
    );
    expect(unnamed).toEqual([]);
  });

  it('stays readable at phone width: nothing wider than the window', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    for (const tab of ['#tab-playground', '#tab-finetune', '#tab-models']) {
      await page.click(tab);
      expect(await page.evaluate<number>('document.documentElement.scrollWidth')).toBeLessThanOrEqual(390);
    }
    await page.click('#tab-playground');
    await shot('playground-phone');
  });

  it('ran without a script error, a refused resource or a failed load', () => {
    expect(pageErrors).toEqual([]);
  });
});

describe.skipIf(!hasChromium)('admin console on a server with API keys', { timeout: 150_000 }, () => {
  const root = mkdtempSync(join(tmpdir(), 'flan-console-keys-'));
  const KEY = 'sk-console';
  let server: LabServer;
  let browser: Browser;
  /** The subprotocols each websocket upgrade offered. */
  const offered: (string | undefined)[] = [];

  beforeAll(async () => {
    server = await startLabServer(join(root, 'data'), modelDir, { keys: { apiKeys: [KEY], adminKey: ADMIN }, model: MODEL });
    server.app.server.on('upgrade', (request: IncomingMessage) => offered.push(request.headers['sec-websocket-protocol']));
    browser = await launchChromium();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    rmSync(root, { recursive: true, force: true });
  });

  it('offers the key as the websocket subprotocol, and chats whether the server takes it there or not (then over HTTP)', async () => {
    const page = await browser.newPage();
    await page.goto(`${server.url}/console`);
    await page.fill('#key-input', KEY);
    await page.click('#key-form button[type="submit"]');
    await page.fill('#chat-input', 'What is 23 + 19?');
    await page.press('#chat-input', 'Enter');
    await page.locator('.turn.assistant .text:not(.streaming)').waitFor({ timeout: 60_000 });

    expect(offered.at(-1)).toBe(`openai-insecure-api-key.${KEY}`);
    expect(await page.textContent('#chat-status')).toBe('Done.');
    expect((await page.locator('.turn.assistant .text').textContent())?.trim()).not.toBe('');
  });
});
