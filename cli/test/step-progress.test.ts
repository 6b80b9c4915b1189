import { describe, expect, it } from 'vitest';
// The terminal stand-in lives with the other test helpers; the CLI package does not depend on them.
import { terminalScreen } from '../../testkit/src/terminal-screen.js';
import { StepProgress, type ProgressMode, type StepEvent } from '../src/render/step-progress.js';

/** A first run's image steps as the images package reports them: a bootstrap's hundreds of lines among them. */
function firstRunEvents(): StepEvent[] {
  const retrieving = Array.from({ length: 400 }, (_, n): StepEvent => ({
    step: 'debootstrap',
    message: `I: Retrieving package-${n} 1.0-${n}`,
    detail: true,
  }));
  return [
    { step: 'pull', message: 'pulling debian:bookworm-slim' },
    { step: 'pull', message: 'could not pull debian:bookworm-slim: connect ECONNREFUSED' },
    { step: 'debootstrap', message: 'debootstrap bookworm from http://deb.debian.org/debian into /tmp/katapult-rootfs-x' },
    ...retrieving,
    { step: 'import', message: 'importing /tmp/katapult-rootfs-x as katapult/base:bookworm' },
    { step: 'import', message: '8388608 bytes sent', detail: true, bytes: 8_388_608 },
    { step: 'import', message: '16777216 bytes sent', detail: true, bytes: 16_777_216 },
    { step: 'import', message: 'bootstrapped katapult/base:bookworm (0123456789ab) in 31.0 s' },
    { step: 'build', message: 'building katapult/node:abc from katapult/base:bookworm' },
    ...Array.from({ length: 150 }, (_, n): StepEvent => ({ step: 'build', message: `Setting up package-${n}`, detail: true })),
  ];
}

function play(mode: ProgressMode) {
  let now = 0;
  let written = '';
  const logged: string[] = [];
  const progress = new StepProgress({
    mode,
    write: (text) => (written += text),
    log: { path: '/state/builds/images.log', write: (line) => logged.push(line) },
    now: () => now,
    columns: () => 100,
    redrawMs: 60_000,
  });
  progress.line('starting nats-server (JetStream)');
  for (const event of firstRunEvents()) {
    now += 100;
    progress.event(event);
  }
  progress.stop();
  progress.line('starting the coordinator');
  return { written, logged };
}

describe('step progress of a first run', () => {
  it('on a terminal: one line per step, with its time and bytes, and where the full output is', () => {
    const { written, logged } = play('live');
    expect(terminalScreen(written)).toEqual([
      '[  0.0s] starting nats-server (JetStream)',
      '[  0.1s] pull: pulling debian:bookworm-slim',
      '[  0.2s] pull: could not pull debian:bookworm-slim: connect ECONNREFUSED',
      '[  0.3s] debootstrap: debootstrap bookworm from http://deb.debian.org/debian into /tmp/katapult-rootfs-x (40.1s; its output: /state/builds/images.log)',
      '[ 40.4s] import: importing /tmp/katapult-rootfs-x as katapult/base:bookworm (16.8MB; its output: /state/builds/images.log)',
      '[ 40.7s] import: bootstrapped katapult/base:bookworm (0123456789ab) in 31.0 s',
      '[ 40.8s] build: building katapult/node:abc from katapult/base:bookworm (15.0s; its output: /state/builds/images.log)',
      '[ 55.8s] starting the coordinator',
    ]);
    // Every line the tools printed is in the build log.
    expect(logged.filter((line) => line.startsWith('debootstrap: I: Retrieving'))).toHaveLength(400);
    expect(logged).toHaveLength(firstRunEvents().length + 2);
  });

  it('while a step runs, its live line shows the spinner, the elapsed time, the bytes and the latest output, on one row', () => {
    let written = '';
    let now = 0;
    const progress = new StepProgress({
      mode: 'live',
      write: (text) => (written += text),
      now: () => now,
      columns: () => 60,
      redrawMs: 60_000,
    });
    progress.event({ step: 'import', message: 'importing the rootfs' });
    now = 2_500;
    progress.event({ step: 'import', message: '8388608 bytes sent', detail: true, bytes: 8_388_608 });
    progress.event({ step: 'debootstrap', message: 'next' });
    // Drawn again by the timer only; the finished line is what stays.
    expect(terminalScreen(written)).toEqual(['[  0.0s] import: importing the rootfs (2.5s, 8.4MB)', '⠹ [  2.5s] debootstrap: next · 0.0s']);
    progress.stop();
  });

  it('off a terminal: one line per step, none of the tools own lines', () => {
    const { written } = play('lines');
    expect(written).not.toContain('\r');
    expect(written.split('\n').filter(Boolean)).toEqual([
      '[  0.0s] starting nats-server (JetStream)',
      '[  0.1s] pull: pulling debian:bookworm-slim',
      '[  0.2s] pull: could not pull debian:bookworm-slim: connect ECONNREFUSED',
      '[  0.3s] debootstrap: debootstrap bookworm from http://deb.debian.org/debian into /tmp/katapult-rootfs-x',
      '[ 40.4s] import: importing /tmp/katapult-rootfs-x as katapult/base:bookworm',
      '[ 40.7s] import: bootstrapped katapult/base:bookworm (0123456789ab) in 31.0 s',
      '[ 40.8s] build: building katapult/node:abc from katapult/base:bookworm',
      '[ 55.8s] starting the coordinator',
    ]);
  });

  it('--verbose streams every line, as before', () => {
    const { written } = play('verbose');
    expect(written.split('\n').filter(Boolean)).toHaveLength(firstRunEvents().length + 2);
    expect(written).toContain('] debootstrap: I: Retrieving package-399 1.0-399\n');
  });
});

describe('the status line of a followed run', () => {
  it('on a terminal is one line redrawn in place with its bar, under the lines printed meanwhile, and stays when following ends', () => {
    let written = '';
    let now = 0;
    const progress = new StepProgress({
      mode: 'live',
      write: (text) => (written += text),
      now: () => now,
      columns: () => 100,
      redrawMs: 60_000,
    });
    for (let ended = 0; ended <= 400; ended += 100) {
      now += 2_000;
      progress.status(`${400 - ended} running, ${ended} done`, `[${ended}/400]`);
      if (ended === 200) progress.line('job-7 failed on local-1 (exit code 3)');
    }
    expect(terminalScreen(written)).toEqual(['[  6.0s] job-7 failed on local-1 (exit code 3)', '[ 10.0s] [400/400] 0 running, 400 done']);
    progress.stop();
    progress.line('after');
    expect(terminalScreen(written)).toEqual([
      '[  6.0s] job-7 failed on local-1 (exit code 3)',
      '[ 10.0s] [400/400] 0 running, 400 done',
      '[ 10.0s] after',
    ]);
  });

  it('off a terminal is a line each time, without the bar, as before', () => {
    let written = '';
    const progress = new StepProgress({ mode: 'lines', write: (text) => (written += text), now: () => 0 });
    progress.status('3 running, 1 done', '[1/4]');
    progress.status('4 done', '[4/4]');
    expect(written).toBe('[  0.0s] 3 running, 1 done\n[  0.0s] 4 done\n');
  });
});
