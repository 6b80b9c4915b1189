import { describe, expect, it } from 'vitest';
import { summarizeBuildFailure } from '../src/build-failure.js';

describe('summarizeBuildFailure', () => {
  it("keeps the failing command's error lines, not Docker's, and sees an unreachable host", () => {
    const output = [
      'Step 3/9 : RUN curl -fsSL https://micro.mamba.pm/api/micromamba/linux-64/latest | tar -xj -C /usr/local bin/micromamba',
      ' ---> Running in 0f3c9a1b2d4e',
      'curl: (6) Could not resolve host: micro.mamba.pm',
      'bzip2: (stdin) is not a bzip2 file.',
      'tar: Child returned status 2',
      'tar: Error is not recoverable: exiting now',
      "The command '/bin/sh -c curl -fsSL https://micro.mamba.pm/api/micromamba/linux-64/latest | tar -xj -C /usr/local bin/micromamba' returned a non-zero code: 2",
    ];
    expect(summarizeBuildFailure(output, 4)).toEqual({
      lines: [
        'curl: (6) Could not resolve host: micro.mamba.pm',
        'bzip2: (stdin) is not a bzip2 file.',
        'tar: Child returned status 2',
        'tar: Error is not recoverable: exiting now',
      ],
      network: true,
    });
    expect(summarizeBuildFailure(output).lines).toEqual([
      'curl: (6) Could not resolve host: micro.mamba.pm',
      'tar: Error is not recoverable: exiting now',
    ]);
  });

  it("an apt package that does not exist is the config's problem", () => {
    const output = ['Reading package lists...', 'Building dependency tree...', 'E: Unable to locate package no-such-package-katapult'];
    expect(summarizeBuildFailure(output)).toEqual({ lines: ['E: Unable to locate package no-such-package-katapult'], network: false });
  });

  it('without an error-looking line, the last lines printed', () => {
    expect(summarizeBuildFailure(['one', 'two', 'three']).lines).toEqual(['two', 'three']);
  });
});
