import { describe, expect, it } from 'vitest';
import { LiveBuildDisplay, renderBuildProgress } from '../src/render/build-progress.js';

describe('build progress', () => {
  it('shows each environment with its current step or outcome, and its elapsed time', () => {
    const text = renderBuildProgress(
      [
        { name: 'tools', step: 'push', startedAt: 0, endedAt: 12_300, outcome: 'built' },
        { name: 'python', step: 'pip', startedAt: 12_300, endedAt: null, outcome: null },
      ],
      15_000,
    );
    expect(text).toBe(['ENV     STEP   ELAPSED', 'tools   built  12.3s', 'python  pip…   2.7s'].join('\n'));
  });

  it('redraws the table in place on a terminal', () => {
    let now = 0;
    const written: string[] = [];
    const display = new LiveBuildDisplay({ write: (chunk: string) => written.push(chunk) > 0 }, () => now, 60_000);
    display.update('tools', { step: 'apt' });
    now = 1_000;
    display.update('tools', { outcome: 'built' });
    display.stop();
    expect(written[0]).toBe('\x1b[2KENV    STEP  ELAPSED\n\x1b[2Ktools  apt…  0.0s\n');
    // Later draws move the cursor up over the two lines drawn before, then draw them again.
    expect(written[1]).toBe('\x1b[2F\x1b[2KENV    STEP   ELAPSED\n\x1b[2Ktools  built  1.0s\n');
  });
});
