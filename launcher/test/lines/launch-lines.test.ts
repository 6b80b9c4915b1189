import { describe, expect, it } from 'vitest';
import { launchEventLine } from '../../src/lines/launch-lines.js';

describe('launchEventLine', () => {
  it('says each launch event in the line `launch` has always printed for it', () => {
    expect(launchEventLine({ type: 'step', step: { step: 'nats-server', tls: false } })).toBe('starting nats-server (JetStream)');
    expect(launchEventLine({ type: 'files-uploaded', uploaded: 2, reused: 1, bytes: 1_234_567 })).toBe(
      'files: 2 uploaded (1.2MB), 1 already stored',
    );
    expect(launchEventLine({ type: 'run-submitted', runId: 'r-1', jobs: 2, instances: 1 })).toBe('run r-1 submitted: 2 jobs on 1 instance');
    expect(launchEventLine({ type: 'run-submitted', runId: 'r-1', jobs: 1, instances: 3, maestro: '1.2.3.4' })).toBe(
      'run r-1 submitted to the maestro at 1.2.3.4: 1 job',
    );
    expect(launchEventLine({ type: 'run-resumed', runId: 'r-1' })).toBe(
      'run r-1 is already going for this config (recover: true); following it instead of starting it again',
    );
  });

  it('gives an image step a line, and none to per-layer chatter', () => {
    expect(launchEventLine({ type: 'image', progress: { step: 'push', message: 'pushing 127.0.0.1:5000/katapult/env:abc' } })).toBe(
      'push: pushing 127.0.0.1:5000/katapult/env:abc',
    );
    expect(launchEventLine({ type: 'image', progress: { step: 'push', message: '0123456789ab: Pushing' } })).toBeUndefined();
  });
});
