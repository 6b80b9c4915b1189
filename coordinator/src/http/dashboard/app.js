// The Katapult dashboard: polls the coordinator's API every second (GET /runs/summary, GET /agents, and one page of
// the selected run's jobs, so a 10,000-job sweep costs a page, not the sweep) and follows one job's log over a
// WebSocket. No framework: the page is small, and it must work from the coordinator alone.
'use strict';

const POLL_MS = 1000;
const TIMELINE_MS = 2000;
const LOG_RETRY_MS = 2000;
const PAGE_SIZE = 200;
const MAX_LOG_LINES = 5000;
const TOKEN_KEY = 'katapult-api-token';
const STATE_ORDER = ['blocked', 'pending', 'assigned', 'pulling', 'running', 'done', 'failed', 'aborted', 'skipped'];

const $ = (id) => document.getElementById(id);

const token = takeToken();
// `page`: the selected run's jobs from `offset`, of the state picked (all when empty).
const view = { runs: [], agents: [], page: null, selectedRun: null, pickedRun: false, offset: 0, state: '' };
let polled = 0;
const tail = { runId: null, jobId: null, socket: null, retry: null, attempt: null };
const timeline = { runId: null, drawnAt: 0, finished: false, loading: false };

/**
 * `katapult dashboard` hands the token in the URL's fragment, which browsers never send to a server. It is
 * kept for this tab only and taken out of the address bar and history at once.
 */
function takeToken() {
  const sent = new URLSearchParams(location.hash.slice(1)).get('token');
  if (sent) {
    sessionStorage.setItem(TOKEN_KEY, sent);
    history.replaceState(null, '', location.pathname + location.search);
  }
  return sessionStorage.getItem(TOKEN_KEY);
}

function showError(text) {
  $('error').textContent = text;
  $('error').hidden = text === null;
}

class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

async function api(path) {
  const response = await fetch(path, { headers: { authorization: `Bearer ${token}` }, cache: 'no-store' });
  const body = await response.json().catch(() => null);
  if (!response.ok) {
    throw new ApiError(response.status, body?.code ?? 'KP_COORDINATOR_ERROR', body?.message ?? `GET ${path} answered ${response.status}`);
  }
  return body;
}

async function poll() {
  try {
    await refresh();
    $('updated').textContent = `updated ${clock(Date.now())}`;
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) {
      // The token will not become valid by waiting: stop asking.
      showError(`${error.code}: the coordinator refused this page's token. Open the URL that \`katapult dashboard\` prints.`);
      return;
    }
    showError(error instanceof ApiError ? `${error.code}: ${error.message}` : 'Cannot reach the coordinator; retrying. Is the stack up?');
  }
  setTimeout(poll, POLL_MS);
}

/** Reads what the page shows (the selected run's page of jobs after the runs), then draws it; a newer call wins. */
async function refresh() {
  const call = ++polled;
  // The page of the run already selected is asked for beside the runs; again only if the selection changes.
  const asked = view.selectedRun ? jobPagePath() : null;
  const [runs, agents, early] = await Promise.all([api('/runs/summary'), api('/agents'), asked ? api(asked).catch(() => null) : null]);
  const newestFirst = [...runs].reverse();
  if (!view.pickedRun || !runs.some((run) => run.id === view.selectedRun)) pickRun(newestFirst[0]?.id ?? null);
  const wanted = view.selectedRun ? jobPagePath() : null;
  const page = wanted === null ? null : wanted === asked && early ? early : await api(wanted);
  if (call !== polled) return;
  Object.assign(view, { runs, agents, page });
  showError(null);
  render();
}

function pickRun(runId) {
  if (runId !== view.selectedRun) Object.assign(view, { selectedRun: runId, offset: 0, state: '' });
}

function jobPagePath() {
  const query = new URLSearchParams({ offset: String(view.offset), limit: String(PAGE_SIZE) });
  if (view.state) query.set('state', view.state);
  return `/runs/${encodeURIComponent(view.selectedRun)}/jobs?${query}`;
}

/** After a click: what it asks for is shown now, not at the next poll. */
function refreshNow() {
  refresh().catch((error) => showError(error instanceof ApiError ? `${error.code}: ${error.message}` : 'Cannot reach the coordinator; retrying. Is the stack up?'));
}

function render() {
  const newestFirst = [...view.runs].reverse();
  const run = view.runs.find((entry) => entry.id === view.selectedRun);
  renderRuns(newestFirst);
  renderJobs(run, view.page);
  renderAgents(view.agents);
  void renderTimeline(run);
}

/**
 * The coordinator draws the timeline (the same SVG as `katapult status --timeline`); it is put inline so its
 * tooltips work. Redrawn every TIMELINE_MS while the run goes on, once more when it has ended.
 */
async function renderTimeline(run) {
  const box = $('timeline');
  if (!run) {
    box.replaceChildren();
    Object.assign(timeline, { runId: null, finished: false });
    return;
  }
  const same = timeline.runId === run.id;
  const over = run.state !== 'running';
  if (timeline.loading || (same && timeline.finished) || (same && Date.now() - timeline.drawnAt < TIMELINE_MS)) return;
  timeline.loading = true;
  try {
    const width = Math.max(600, Math.min(2000, Math.round(box.clientWidth || 1000)));
    const response = await fetch(`/runs/${encodeURIComponent(run.id)}/timeline.svg?width=${width}`, { headers: { authorization: `Bearer ${token}` }, cache: 'no-store' });
    if (!response.ok) return;
    const svg = new DOMParser().parseFromString(await response.text(), 'image/svg+xml').documentElement;
    if (svg.nodeName !== 'svg') return;
    box.replaceChildren(document.importNode(svg, true));
    Object.assign(timeline, { runId: run.id, drawnAt: Date.now(), finished: over });
  } finally {
    timeline.loading = false;
  }
}

function renderRuns(runs) {
  $('runs-empty').hidden = runs.length > 0;
  syncRows($('runs').tBodies[0], runs, (run) => run.id, (run) => [
    button(run.id, () => {
      pickRun(run.id);
      view.pickedRun = true;
      refreshNow();
    }),
    run.project,
    stateCell(run.state),
    jobCounts(run.counts),
    dateTime(run.createdAt),
    run.configFile,
  ], (run) => run.id === view.selectedRun);
}

function renderJobs(run, page) {
  $('jobs-title').textContent = run ? `Jobs of ${run.id}` : 'Jobs';
  renderPager(run, page);
  const now = Date.now();
  syncRows($('jobs').tBodies[0], page?.jobs ?? [], (job) => `${job.runId}/${job.id}`, (job) => [
    button(job.id, () => openLog(job.runId, job.id)),
    job.envName,
    job.agentId ?? '-',
    job.pool ?? '-',
    stateCell(job.state, job.message ?? job.waiting ?? null),
    String(job.attempt),
    job.exitCode === null ? '-' : String(job.exitCode),
    duration(job.startedAt === null ? null : (job.finishedAt ?? now) - job.startedAt),
  ], (job) => job.runId === tail.runId && job.id === tail.jobId);
}

function renderAgents(agents) {
  $('agents-empty').hidden = agents.length > 0;
  syncRows($('agents').tBodies[0], agents, (agent) => agent.agentId, (agent) => [
    agent.agentId,
    agent.instanceId,
    agent.instanceType ?? '-',
    agent.pool ?? '-',
    capacity(agent.usedCpus, agent.cpus),
    agent.gpus > 0 ? capacity(agent.usedGpus, agent.gpus, 'gpus') : '-',
    `${(agent.heartbeatAgeMs / 1000).toFixed(1)} s ago`,
    agent.running.length === 0 ? '-' : agent.running.join(', '),
  ]);
}

/**
 * Updates a table body in place, one row per item (found by key), so that a row being clicked is not replaced
 * under the pointer every second.
 */
function syncRows(tbody, items, keyOf, cellsOf, isSelected = () => false) {
  const existing = new Map([...tbody.rows].map((row) => [row.dataset.key, row]));
  items.forEach((item, index) => {
    const key = keyOf(item);
    let row = existing.get(key);
    existing.delete(key);
    if (!row) {
      row = document.createElement('tr');
      row.dataset.key = key;
    }
    const cells = cellsOf(item);
    const signature = JSON.stringify(cells.map((cell) => (typeof cell === 'string' ? cell : cell.signature)));
    if (row.dataset.signature !== signature) {
      row.replaceChildren(...cells.map(toCell));
      row.dataset.signature = signature;
    }
    row.classList.toggle('selected', isSelected(item));
    if (tbody.rows[index] !== row) tbody.insertBefore(row, tbody.rows[index] ?? null);
  });
  for (const row of existing.values()) row.remove();
}

function toCell(content) {
  const td = document.createElement('td');
  if (typeof content === 'string') td.textContent = content;
  else td.append(content.node);
  return td;
}

function button(text, onClick) {
  const node = document.createElement('button');
  node.type = 'button';
  node.className = 'link';
  node.textContent = text;
  node.addEventListener('click', onClick);
  return { node, signature: `button:${text}` };
}

function stateCell(state, message) {
  const node = document.createElement('span');
  node.className = `state state-${state}`;
  node.textContent = state;
  if (message) node.title = message;
  return { node, signature: `state:${state}:${message ?? ''}` };
}

function capacity(used, total, what = 'cpus') {
  const node = document.createElement('span');
  node.className = 'capacity';
  const meter = document.createElement('meter');
  meter.min = 0;
  meter.max = Math.max(total, 1);
  meter.value = used;
  const label = document.createElement('span');
  label.textContent = `${used} / ${total}`;
  node.append(meter, label);
  return { node, signature: `${what}:${used}/${total}` };
}

/** "jobs 201–400 of 10000", the buttons to the pages either side, and the state filter with each state's count. */
function renderPager(run, page) {
  $('jobs-pager').hidden = !page;
  if (!page) return;
  const shown = page.jobs.length;
  $('jobs-range').textContent = shown === 0 ? `no job${view.state ? ` ${view.state}` : ''}` : `jobs ${page.offset + 1}–${page.offset + shown} of ${page.total}${view.state ? ` ${view.state}` : ''}`;
  $('jobs-prev').disabled = page.offset === 0;
  $('jobs-next').disabled = page.offset + shown >= page.total;
  const select = $('jobs-state');
  const options = [['', `all states (${Object.values(page.counts).reduce((sum, n) => sum + n, 0)})`], ...STATE_ORDER.filter((state) => page.counts[state] || state === view.state).map((state) => [state, `${state} (${page.counts[state] ?? 0})`])];
  const signature = JSON.stringify(options);
  if (select.dataset.signature !== signature) {
    select.replaceChildren(...options.map(([value, label]) => Object.assign(document.createElement('option'), { value, textContent: label })));
    select.dataset.signature = signature;
  }
  select.value = view.state;
}

function setUpPager() {
  $('jobs-prev').addEventListener('click', () => {
    view.offset = Math.max(0, view.offset - PAGE_SIZE);
    refreshNow();
  });
  $('jobs-next').addEventListener('click', () => {
    view.offset += PAGE_SIZE;
    refreshNow();
  });
  $('jobs-state').addEventListener('change', (event) => {
    Object.assign(view, { state: event.target.value, offset: 0 });
    refreshNow();
  });
}

/** As `katapult status` says it (core's jobStateCounts): "3 done, 1 failed", in the order of a job's life. */
function jobCounts(counts) {
  return STATE_ORDER.filter((state) => counts[state])
    .map((state) => `${counts[state]} ${state}`)
    .join(', ');
}

/** As `katapult status` prints it. */
function duration(ms) {
  if (ms === null || ms < 0) return '-';
  const tenths = Math.round(ms / 100);
  if (tenths < 600) return `${(tenths / 10).toFixed(1)}s`;
  const seconds = Math.round(ms / 1000);
  return `${Math.floor(seconds / 60)}m${seconds % 60}s`;
}

const pad = (n) => String(n).padStart(2, '0');
const clock = (at) => {
  const date = new Date(at);
  return `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`;
};
const dateTime = (at) => {
  const date = new Date(at);
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ${clock(at)}`;
};

// --- the log tail ---------------------------------------------------------------------------------------

function openLog(runId, jobId) {
  closeLog();
  Object.assign(tail, { runId, jobId });
  $('log-section').hidden = false;
  $('log-title').textContent = `Log of ${jobId}`;
  render();
  connectLog();
}

function connectLog() {
  clearLog();
  setLogStatus('connecting…');
  const { runId, jobId } = tail;
  const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
  const url = `${scheme}://${location.host}/runs/${encodeURIComponent(runId)}/jobs/${encodeURIComponent(jobId)}/logs/ws`;
  // A browser cannot set headers on a WebSocket: the token travels as a subprotocol, checked before the upgrade.
  const socket = new WebSocket(url, ['katapult.logs', `katapult.bearer.${token}`]);
  tail.socket = socket;
  let failure = null;
  socket.addEventListener('open', () => setLogStatus(`live, run ${runId}`));
  socket.addEventListener('message', (event) => {
    const message = JSON.parse(event.data);
    if (message.type === 'line') appendLine(message);
    else if (message.type === 'end') appendMarker(`attempt ${message.attempt} ended, exit code ${message.exitCode ?? '-'}`);
    else if (message.type === 'error') failure = `${message.code}: ${message.message}`;
  });
  socket.addEventListener('close', (event) => {
    if (tail.socket !== socket) return;
    tail.socket = null;
    if (failure || event.code >= 4000) {
      setLogStatus(failure ?? `closed (${event.reason || event.code})`, true);
      return;
    }
    // A dropped connection (coordinator restarted, refused token): start over, since the log is replayed whole.
    setLogStatus('disconnected; retrying…', true);
    tail.retry = setTimeout(connectLog, LOG_RETRY_MS);
  });
}

function closeLog() {
  clearTimeout(tail.retry);
  const socket = tail.socket;
  Object.assign(tail, { runId: null, jobId: null, socket: null, retry: null });
  socket?.close(1000, 'closed by the page');
  $('log-section').hidden = true;
}

function clearLog() {
  $('log').replaceChildren();
  tail.attempt = null;
}

function setLogStatus(text, bad = false) {
  $('log-status').textContent = text;
  $('log-status').classList.toggle('error-text', bad);
}

function appendLine(message) {
  if (tail.attempt !== null && message.attempt !== tail.attempt) appendMarker(`attempt ${message.attempt}`);
  tail.attempt = message.attempt;
  const line = document.createElement('div');
  line.className = message.stream === 'stderr' ? 'line stderr' : 'line';
  line.textContent = message.line;
  line.title = `${dateTime(message.at)} ${message.stream}`;
  append(line);
}

function appendMarker(text) {
  const marker = document.createElement('div');
  marker.className = 'line marker';
  marker.textContent = `— ${text} —`;
  append(marker);
}

function append(node) {
  const log = $('log');
  const atBottom = log.scrollHeight - log.scrollTop - log.clientHeight < 4;
  log.append(node);
  while (log.childElementCount > MAX_LOG_LINES) log.firstElementChild.remove();
  if (atBottom) log.scrollTop = log.scrollHeight;
}

$('log-close').addEventListener('click', () => {
  closeLog();
  render();
});

setUpPager();
if (token) poll();
else showError('KP_API_UNAUTHORIZED: this page has no API token. Open the URL that `katapult dashboard` prints.');
