// Figures for the scheduler alone: planAssignments from @katapult/core, no servers, no Docker.
// Simulated agents, all idle; a reproducible mix of jobs (seeded PRNG, cpus_req 1 to 8, uniform).
// Prints numbers; asserts nothing. Needs the built dist of @katapult/core (pnpm build).
import { planAssignments } from '@katapult/core';

const AGENTS = 100;
const AGENT_CPUS = 16;
const RUNS = 5;
const SEED = 20261125;

/** mulberry32: a small seeded PRNG returning floats in [0, 1). */
function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const cpusOf = (random) => 1 + Math.floor(random() * 8);

/** `count` jobs, or (with `totalCpus`) jobs until their cpus add up to exactly `totalCpus`. */
function makeJobs({ count = Infinity, totalCpus = Infinity }) {
  const random = prng(SEED);
  const jobs = [];
  let total = 0;
  while (jobs.length < count && total < totalCpus) {
    const cpusReq = Math.min(cpusOf(random), totalCpus - total);
    jobs.push({ key: `run.job-${jobs.length}`, cpusReq });
    total += cpusReq;
  }
  return jobs;
}

const agents = Array.from({ length: AGENTS }, (_, i) => ({ id: `agent-${String(i).padStart(3, '0')}`, cpus: AGENT_CPUS, usedCpus: 0 }));
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

function measure(jobs, policy) {
  const times = [];
  let plan;
  for (let i = 0; i < RUNS; i++) {
    const options = { policy, random: prng(SEED + 1) };
    const started = performance.now();
    plan = planAssignments(jobs, agents, options);
    times.push(performance.now() - started);
  }
  const cpus = new Map(jobs.map((job) => [job.key, job.cpusReq]));
  const placedCpus = plan.placements.reduce((sum, p) => sum + cpus.get(p.jobKey), 0);
  const used = new Set(plan.placements.map((p) => p.agentId)).size;
  const lowerBound = Math.ceil(placedCpus / AGENT_CPUS);
  return { ms: median(times), placed: plan.placements.length, placedCpus, waiting: plan.waiting.length, used, lowerBound };
}

const cases = [
  { what: '10,000 jobs (most wait)', jobs: makeJobs({ count: 10_000 }) },
  { what: 'demand = capacity', jobs: makeJobs({ totalCpus: AGENTS * AGENT_CPUS }) },
  { what: 'demand = half the capacity', jobs: makeJobs({ totalCpus: (AGENTS * AGENT_CPUS) / 2 }) },
];

console.log(
  `scheduler: planAssignments onto ${AGENTS} idle agents of ${AGENT_CPUS} cpus (${AGENTS * AGENT_CPUS} cpus); cpus_req 1-8, seed ${SEED}`,
);
console.log(`wall time: median of ${RUNS} runs; lower bound on agents = ceil(placed cpus / ${AGENT_CPUS})`);
for (const { what, jobs } of cases) {
  const demand = jobs.reduce((sum, job) => sum + job.cpusReq, 0);
  console.log('');
  console.log(`${what}: ${jobs.length} jobs, ${demand} cpus (${(demand / (AGENTS * AGENT_CPUS)).toFixed(2)}x the capacity)`);
  console.log(
    `  ${'policy'.padEnd(15)}${'time'.padStart(10)}${'placed'.padStart(8)}${'cpus'.padStart(7)}${'waiting'.padStart(9)}` +
      `${'agents used'.padStart(13)}${'lower bound'.padStart(13)}${'used/bound'.padStart(12)}`,
  );
  for (const policy of ['multi_knapsack', 'random']) {
    const r = measure(jobs, policy);
    console.log(
      `  ${policy.padEnd(15)}${`${r.ms.toFixed(1)} ms`.padStart(10)}${String(r.placed).padStart(8)}${String(r.placedCpus).padStart(7)}` +
        `${String(r.waiting).padStart(9)}${String(r.used).padStart(13)}${String(r.lowerBound).padStart(13)}` +
        `${(r.lowerBound ? r.used / r.lowerBound : 0).toFixed(2).padStart(12)}`,
    );
  }
}
