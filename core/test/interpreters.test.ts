import { describe, expect, it } from 'vitest';
import { missingInterpreter } from '../src/model/interpreters.js';

describe('an interpreter for run_script', () => {
  it('python3 comes with pip or conda packages, or a Debian python3 package', () => {
    for (const env of [
      { env_pypi: ['numpy'] },
      { env_conda: 'scipy' },
      { env_aptget: ['jq', 'python3'] },
      { env_aptget: 'python3-numpy' },
      { env_aptget: ['python3.11'] },
    ]) {
      expect(missingInterpreter('run.py', env)).toBeUndefined();
    }
    expect(missingInterpreter('run.py', { env_aptget: ['jq', 'pythonic'] })?.interpreter).toBe('python3');
    expect(missingInterpreter('run.py', {})?.fix).toBe('env_aptget: python3 (or env_pypi with the packages it imports)');
  });

  it('julia comes with Julia packages; a setup command or an own image is taken at its word; other scripts need nothing', () => {
    expect(missingInterpreter('model.jl', { env_pypi: ['numpy'] })?.interpreter).toBe('julia');
    expect(missingInterpreter('model.jl', { env_julia: ['DataFrames'] })).toBeUndefined();
    expect(missingInterpreter('run.py', { command: 'setup.sh' })).toBeUndefined();
    expect(missingInterpreter('model.jl', { image: 'registry.example/julia:1.10' })).toBeUndefined();
    expect(missingInterpreter('run.sh', {})).toBeUndefined();
  });
});
