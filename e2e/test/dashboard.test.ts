import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import Docker from 'dockerode';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireDocker, tempDir, waitFor } from '@katapult/testkit';
import { katapult, REPO_ROOT } from './cli.js';

const CHROMIUM = '/usr/bin/chromium';
const SCREENSHOTS = join(REPO_ROOT, 'test-results', 'dashboard');
const TICKS = 40;
/** The file, in the ticker's container, whose existence lets it print past its third line. */
const RELEASE = '/tmp/kp-release-ticker';

/** Lets the ticker job of a run print its remaining lines. */
async function releaseTicker(runId: string): Promise<void> {
  const [container] = await new Docker().listContainers({ filters: { label: [`katapult.run=${runId}`, 'katapult.job=ticker'] } });
  if (!container) throw new Error(`no running container for the ticker of ${runId}`);
  const exec = await new Docker().getContainer(container.Id).exec({ Cmd: ['touch', RELEASE] });
  await exec.start({ Detach: true });
  await waitFor(async () => (await exec.inspect()).Running === false, { what: 'touch in the ticker container', timeoutMs: 60_000 });
  const { ExitCode } = await exec.inspect();
  if (ExitCode !== 0) throw new Error(`touch ${RELEASE} in the ticker's container exited ${ExitCode}`);
}

/**
 * The dashboard in headless Chromium against a real run: what a user sees on the page `katapult dashboard`
 * gives, a job's log arriving live, and a page without the token showing nothing but an error.
 */
describe('katapult dashboard', () => {
  let env: NodeJS.ProcessEnv;
  let browser: Browser;
  let runId: string;
  let url: string;

  beforeAll(async () => {
    await requireDocker();
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: scripts/setup.sh installs it (apt-get install chromium)`);
    env = { KATAPULT_HOME: await tempDir('e2e-dashboard') };
    await mkdir(SCREENSHOTS, { recursive: true });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
  });
  afterAll(async () => {
    await browser?.close();
    if (env) await katapult(['down'], env);
  });

  const rowOf = (page: Page, table: string, first: string | RegExp) =>
    page.locator(`#${table} tbody tr`).filter({ has: page.getByRole('cell', { name: first, exact: true }) });
  const cellsOf = async (page: Page, table: string, first: string | RegExp) =>
    (await rowOf(page, table, first).locator('td').allInnerTexts()).map((text) => text.trim());
  const logLines = (page: Page) => page.locator('#log .line:not(.marker)').allInnerTexts();

  it('shows the run, its jobs and the agents, and follows a job log live', async () => {
    const project = await tempDir('e2e-dashboard-project');
    const config = join(project, 'katapult.yaml');
    await writeFile(
      config,
      [
        'project: dash',
        'instances: [{ number: 1, cpus: 2 }]',
        'jobs:',
        '  - name: quick',
        '    run_command: echo ready',
        '  - name: ticker',
        // After three lines the ticker waits for the test to release it (see releaseTicker), so "the log at
        // first sight is not the whole log" holds however slowly a loaded machine gets to the page.
        `    run_command: for i in $(seq 1 ${TICKS}); do if [ $i -eq 4 ]; then until [ -e ${RELEASE} ]; do sleep 0.1; done; fi; echo "tick $i"; sleep 0.3; done`,
        '',
      ].join('\n'),
    );
    const launch = await katapult(['launch', config, '--detach', '--json'], env);
    expect(launch.code).toBe(0);
    runId = (JSON.parse(launch.stdout) as { runId: string }).runId;

    const dashboard = await katapult(['dashboard', '--json'], env);
    expect(dashboard.code).toBe(0);
    url = (JSON.parse(dashboard.stdout) as { url: string }).url;
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/#token=[0-9a-f]{64}$/);

    const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
    await page.goto(url);
    // The token leaves the address bar as soon as the page has it.
    expect(page.url()).toBe(url.replace(/#.*$/, ''));

    await waitFor(async () => (await cellsOf(page, 'jobs', 'ticker'))[4] === 'running', {
      what: 'ticker running on the page',
      timeoutMs: 300_000,
    });
    await waitFor(async () => (await cellsOf(page, 'jobs', 'quick'))[4] === 'done', { what: 'quick done on the page', timeoutMs: 30_000 });
    expect(await cellsOf(page, 'runs', runId)).toEqual([
      runId,
      'dash',
      'running',
      '1 running, 1 done',
      expect.stringMatching(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/),
      config,
    ]);
    const [job, env_, agent, pool, state, attempt, exitCode, duration] = await cellsOf(page, 'jobs', 'quick');
    expect([job, env_, state, attempt, exitCode]).toEqual(['quick', 'default', 'done', '1', '0']);
    expect(pool).toMatch(/^dash\/[0-9a-f]{8}$/);
    expect(agent).toMatch(/^local-[0-9a-f]{8}-0-[0-9a-f]{4}$/);
    expect(duration).toMatch(/^\d+\.\ds$/);
    // What an agent runs comes with its next heartbeat.
    await waitFor(async () => (await cellsOf(page, 'agents', agent!))[7] === `${runId}/ticker`, { what: 'the agent running ticker' });
    const [agentId, instance, type, agentPool, cpus, gpus, heartbeat] = await cellsOf(page, 'agents', agent!);
    // A local agent has no instance type, and no GPU unless its instance is given `gpus`.
    expect([agentId, instance, type, agentPool, cpus, gpus]).toEqual([agent, agent, '-', pool, '1 / 2', '-']);
    expect(heartbeat).toMatch(/^\d+\.\d s ago$/);
    await page.screenshot({ path: join(SCREENSHOTS, 'run.png'), fullPage: true });

    // Let the job print a few lines first: they are replayed, and the rest arrive as they are printed.
    await waitFor(async () => /tick 3$/m.test((await katapult(['logs', 'ticker', '--run', runId], env)).stdout), {
      what: 'tick 3 printed',
    });
    await page.getByRole('button', { name: 'ticker', exact: true }).click();
    await waitFor(async () => (await logLines(page)).includes('tick 1'), { what: 'the stored lines on the page' });
    const atFirstSight = await logLines(page);
    expect(atFirstSight.length).toBeLessThan(TICKS);
    expect(await page.locator('#log-status').innerText()).toBe(`live, run ${runId}`);
    await page.screenshot({ path: join(SCREENSHOTS, 'log-live.png'), fullPage: true });
    await releaseTicker(runId);

    await waitFor(async () => (await logLines(page)).length === TICKS, { what: 'every line on the page', timeoutMs: 60_000 });
    expect(await logLines(page)).toEqual(Array.from({ length: TICKS }, (_, index) => `tick ${index + 1}`));
    await waitFor(async () => (await page.locator('#log .marker').allInnerTexts()).includes('— attempt 1 ended, exit code 0 —'), {
      what: 'the end of the log',
    });
    await waitFor(async () => (await cellsOf(page, 'jobs', 'ticker'))[4] === 'done', { what: 'ticker done on the page' });
    await waitFor(async () => (await cellsOf(page, 'runs', runId))[2] === 'done', { what: 'the run done on the page' });
    expect((await cellsOf(page, 'agents', agent!))[4]).toBe('0 / 2');
    await page.screenshot({ path: join(SCREENSHOTS, 'log-done.png'), fullPage: true });
    await page.close();
  }, 600_000);

  it("draws a run's timeline: 20 jobs as bars on 2 agents, cpus in use, as status --timeline writes it", async () => {
    const project = await tempDir('e2e-dashboard-timeline');
    const config = join(project, 'katapult.yaml');
    await writeFile(
      config,
      [
        'project: timeline',
        'instances: [{ number: 2, cpus: 1 }]',
        'jobs:',
        '  - name: sim',
        '    run_command: sleep 0.5',
        '    repeat: 20',
        '',
      ].join('\n'),
    );
    const launch = await katapult(['launch', config, '--wait', '--json'], env);
    expect(launch.code).toBe(0);
    const run = JSON.parse(launch.stdout) as { id: string; jobs: { id: string; agentId: string }[] };
    const agents = [...new Set(run.jobs.map((job) => job.agentId))].sort();
    expect(agents).toHaveLength(2);

    const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
    await page.goto((JSON.parse((await katapult(['dashboard', '--json'], env)).stdout) as { url: string }).url);
    await page.getByRole('button', { name: run.id, exact: true }).click();
    const bars = page.locator('#timeline svg g.bar');
    await waitFor(async () => (await bars.count()) === 20, { what: 'the 20 bars of the timeline', timeoutMs: 30_000 });
    const lanes = await page.locator('#timeline svg g.lane').evaluateAll((nodes) => nodes.map((node) => node.getAttribute('data-agent')));
    expect(lanes).toEqual(agents);
    expect(await page.locator('#timeline svg g.bar[data-state="done"]').count()).toBe(20);
    expect(await page.locator('#timeline svg g.bar[data-job="sim-1"] title').textContent()).toMatch(
      /^sim-1: queued \d+\.\ds, pulling \d+\.\ds, running \d+\.\ds, done \(exit code 0\)$/,
    );
    // Two agents of one cpu each: never more than 2 in use, and both at once at some point.
    expect(await page.locator('#timeline svg g[data-chart="cpus"]').innerHTML()).toContain('at most 2');
    const box = await page.locator('#timeline svg').boundingBox();
    expect(box!.width).toBeGreaterThan(600);
    await page.locator('#timeline').screenshot({ path: join(SCREENSHOTS, 'timeline.png') });

    // The CLI writes the same picture to a file.
    const file = join(project, 'timeline.svg');
    const status = await katapult(['status', run.id, '--timeline', file], env);
    expect(status.code).toBe(0);
    const svg = await readFile(file, 'utf8');
    expect(svg.match(/<g class="bar" /g)).toHaveLength(20);
    await page.setContent(`<!doctype html><html><body style="margin:0">${svg}</body></html>`);
    expect(await page.locator('svg g.bar').count()).toBe(20);
    await page.screenshot({ path: join(SCREENSHOTS, 'status-timeline.png'), fullPage: true });
    await page.close();
  }, 600_000);

  it('without the token, the page shows an authentication error and no data', async () => {
    const base = url.replace(/\/#.*$/, '');
    for (const [name, address] of [
      ['no-token', `${base}/`],
      ['wrong-token', `${base}/#token=${'0'.repeat(64)}`],
    ] as const) {
      // A new context, so that no token kept by the first page's tab is there.
      const context = await browser.newContext();
      const page = await context.newPage();
      await page.goto(address);
      await waitFor(
        async () => (await page.locator('#error').isVisible()) && /^KP_API_UNAUTHORIZED: /.test(await page.locator('#error').innerText()),
        {
          what: `the error on the page (${name})`,
        },
      );
      expect(await page.locator('#runs tbody tr, #jobs tbody tr, #agents tbody tr').count()).toBe(0);
      await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });

      // The log WebSocket gives nothing either: it is refused before the upgrade.
      const socket = await page.evaluate(
        ([run, token]) =>
          new Promise<{ code: number; messages: number }>((resolve) => {
            const protocols = token ? ['katapult.logs', `katapult.bearer.${token}`] : ['katapult.logs'];
            const ws = new WebSocket(`ws://${location.host}/runs/${run}/jobs/ticker/logs/ws`, protocols);
            let messages = 0;
            ws.onmessage = () => (messages += 1);
            ws.onclose = (event) => resolve({ code: event.code, messages });
          }),
        [runId, name === 'wrong-token' ? '0'.repeat(64) : ''] as const,
      );
      expect(socket).toEqual({ code: 1006, messages: 0 });
      await context.close();
    }
  });
});
