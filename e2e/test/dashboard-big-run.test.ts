import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clusterNames, loadConfig } from '@katapult/core';
import { buildServer, ensureStreams, jetStreamLogSource, openJetStreamStore, RunService, type Provider } from '@katapult/coordinator';
import { startNats, waitFor, type NatsServer } from '@katapult/testkit';

const CHROMIUM = '/usr/bin/chromium';
const JOBS = 450;

/**
 * The dashboard on a run bigger than a page, in headless Chromium: the coordinator's API against a real
 * nats-server, no agent (every job stays pending), so the page must page the jobs rather than draw them all.
 */
describe('the dashboard on a big run', () => {
  const names = clusterNames('dashbig');
  const token = randomBytes(32).toString('hex');
  const idle: Provider = { name: 'idle', ensure: async () => [], stopPool: async () => [], terminateAll: async () => [] };
  let nats: NatsServer;
  let nc: NatsConnection;
  let api: ReturnType<typeof buildServer>;
  let browser: Browser;
  let url: string;
  let runId: string;

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: scripts/setup.sh installs it (apt-get install chromium)`);
    nats = await startNats();
    nc = await connect({ servers: nats.url });
    await ensureStreams(nc, names);
    const store = await openJetStreamStore(nc, names, { agentTtlMs: 60_000 });
    api = buildServer(new RunService(store, idle), {
      token,
      logs: jetStreamLogSource(nc, names, async (run, job) => (await store.getJob(run, job))?.value),
    });
    const spec = loadConfig(`project: big\njobs:\n  - {name: sweep, run_command: "true", repeat: ${JOBS}}\n`, 'big.yaml', {
      defaultCpus: 1,
    });
    const created = await api.inject({
      method: 'POST',
      url: '/runs',
      payload: { spec, configFile: 'big.yaml', images: { default: `127.0.0.1:5000/katapult/base@sha256:${'a'.repeat(64)}` }, files: {} },
      headers: { authorization: `Bearer ${token}` },
    });
    expect(created.statusCode).toBe(201);
    runId = created.json<{ runId: string }>().runId;
    url = `${await api.listen({ host: '127.0.0.1', port: 0 })}/#token=${token}`;
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
  });
  afterAll(async () => {
    await browser?.close();
    await api?.close();
    await nc?.close();
    await nats?.stop();
  });

  const rows = (page: Page) => page.locator('#jobs tbody tr');
  const firstJob = async (page: Page) => (await rows(page).first().locator('td').first().innerText()).trim();

  it('shows one page of jobs with the run counted whole, and pages through them', async () => {
    const page = await browser.newPage();
    await page.goto(url);
    await waitFor(async () => (await page.locator('#jobs-range').innerText()) === `jobs 1–200 of ${JOBS}`, {
      what: 'the first page',
      timeoutMs: 20_000,
    });
    expect(await rows(page).count()).toBe(200);
    expect(await firstJob(page)).toBe('sweep-1');
    const runCells = (await page.locator('#runs tbody tr').first().locator('td').allInnerTexts()).map((text) => text.trim());
    expect(runCells.slice(0, 4)).toEqual([runId, 'big', 'running', `${JOBS} pending`]);
    expect(await page.locator('#jobs-prev').isDisabled()).toBe(true);

    await page.locator('#jobs-next').click();
    await waitFor(async () => (await page.locator('#jobs-range').innerText()) === `jobs 201–400 of ${JOBS}`, { what: 'the second page' });
    expect(await firstJob(page)).toBe('sweep-201');
    await page.locator('#jobs-next').click();
    await waitFor(async () => (await page.locator('#jobs-range').innerText()) === `jobs 401–${JOBS} of ${JOBS}`, { what: 'the last page' });
    expect(await rows(page).count()).toBe(JOBS - 400);
    expect(await page.locator('#jobs-next').isDisabled()).toBe(true);
    // The next poll keeps the page the user is on.
    const updated = await page.locator('#updated').innerText();
    await waitFor(async () => (await page.locator('#updated').innerText()) !== updated, { what: 'a poll after paging' });
    expect(await page.locator('#jobs-range').innerText()).toBe(`jobs 401–${JOBS} of ${JOBS}`);
    await page.close();
  });

  it('filters the jobs by state, with each state counted', async () => {
    const cancelled = await api.inject({
      method: 'POST',
      url: `/runs/${runId}/cancel`,
      payload: { jobs: ['sweep-3', 'sweep-7'] },
      headers: { authorization: `Bearer ${token}` },
    });
    expect(cancelled.statusCode).toBe(200);
    const page = await browser.newPage();
    await page.goto(url);
    await waitFor(async () => (await page.locator('#jobs-state option').allInnerTexts()).includes('aborted (2)'), {
      what: 'the state filter',
      timeoutMs: 20_000,
    });
    expect(await page.locator('#jobs-state option').allInnerTexts()).toEqual([
      `all states (${JOBS})`,
      `pending (${JOBS - 2})`,
      'aborted (2)',
    ]);
    await page.locator('#jobs-state').selectOption('aborted');
    await waitFor(async () => (await page.locator('#jobs-range').innerText()) === 'jobs 1–2 of 2 aborted', { what: 'the aborted jobs' });
    expect(await rows(page).locator('td:first-child').allInnerTexts()).toEqual(['sweep-3', 'sweep-7']);
    await page.close();
  });
});
