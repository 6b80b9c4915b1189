import { describe, expect, it } from 'vitest';
import { juliaImports, loadConfig, nameFrom, oneShotConfigYaml, PYTHON_STDLIB, pythonImports, scriptNeeds } from '../src/index.js';

const project = (files: Record<string, string>) => (path: string) => files[path];

describe('what a script imports', () => {
  it('reads every form of Python import, at any depth, and nothing in strings or comments', () => {
    const source = [
      '"""A docstring that says: import fake"""',
      'import os, numpy as np',
      'import a.b.c',
      'from pandas import (DataFrame,',
      '    Series)',
      'from . import sibling',
      'from ..up.mod import thing',
      '# import commented',
      "text = 'import quoted'",
      'def f():',
      '    try:',
      '        import yaml',
      '    except ImportError: pass',
      'import x; import y',
      'from z \\',
      '    import w',
    ].join('\n');
    expect(pythonImports(source).map(({ module, level, names, line }) => [module, level, names.join(','), line])).toEqual([
      ['os', 0, '', 2],
      ['numpy', 0, '', 2],
      ['a.b.c', 0, '', 3],
      ['pandas', 0, 'DataFrame,Series', 4],
      ['', 1, 'sibling', 6],
      ['up.mod', 2, 'thing', 7],
      ['yaml', 0, '', 12],
      ['x', 0, '', 14],
      ['y', 0, '', 14],
      ['z', 0, 'w', 15],
    ]);
  });

  it("reads Julia's using, import and include", () => {
    const source =
      'using LinearAlgebra, DataFrames: select\nimport CSV\nusing .Local\n#= using Hidden =#\ninclude("lib/util.jl") # using Nope\n';
    expect(juliaImports(source)).toEqual({
      packages: [
        { module: 'LinearAlgebra', level: 0, names: [], line: 1 },
        { module: 'DataFrames', level: 0, names: [], line: 1 },
        { module: 'CSV', level: 0, names: [], line: 2 },
      ],
      includes: ['lib/util.jl'],
    });
  });
});

describe("a script's needs", () => {
  it('uploads the modules it imports from its folder, transitively, and installs the other packages, less the standard library', () => {
    const needs = scriptNeeds(
      'main.py',
      project({
        'main.py':
          'import json, sys\nimport helper\nfrom pkg.sub import tool\nimport cv2\nfrom sklearn.linear_model import Ridge\nimport greeting\n',
        'helper.py': 'import numpy\nfrom . import nothing_here\n',
        'pkg/__init__.py': '',
        'pkg/sub/__init__.py': 'from .inner import x\n',
        'pkg/sub/inner.py': 'import requests\n',
        'pkg/sub/tool.py': 'import greeting\n',
        'unused.py': 'import torch\n',
      }),
    );
    expect(needs).toEqual({
      language: 'python',
      files: ['main.py', 'helper.py', 'pkg/__init__.py', 'pkg/sub/__init__.py', 'pkg/sub/tool.py', 'pkg/sub/inner.py'],
      packages: ['opencv-python', 'scikit-learn', 'greeting', 'numpy', 'requests'],
    });
  });

  it("resolves imports from the script's own folder, as python3 does", () => {
    const needs = scriptNeeds(
      'src/run.py',
      project({ 'src/run.py': 'import util\n', 'src/util.py': 'import os\n', 'util.py': 'import wrong\n' }),
    );
    expect(needs.files).toEqual(['src/run.py', 'src/util.py']);
    expect(needs.packages).toEqual([]);
  });

  it('follows Julia includes relative to the including file, and skips its standard library', () => {
    const needs = scriptNeeds(
      'sim.jl',
      project({
        'sim.jl': 'using Printf, JSON3\ninclude("lib/a.jl")\n',
        'lib/a.jl': 'include("b.jl")\nusing Random\n',
        'lib/b.jl': 'using CSV\n',
      }),
    );
    expect(needs).toEqual({ language: 'julia', files: ['sim.jl', 'lib/a.jl', 'lib/b.jl'], packages: ['JSON3', 'CSV'] });
  });

  it('knows the standard library', () => {
    for (const name of ['os', 'json', 'asyncio', 'tomllib', 'concurrent', 'xml', 'urllib']) expect(PYTHON_STDLIB.has(name)).toBe(true);
    for (const name of ['numpy', 'requests', 'yaml']) expect(PYTHON_STDLIB.has(name)).toBe(false);
  });
});

describe('the config of a one-shot run', () => {
  const options = {
    project: 'my-proj',
    script: 'main.py',
    args: ['3', 'two words'],
    language: 'python' as const,
    packages: ['greeting'],
    packagesFrom: 'imports' as const,
    uploads: ['helper.py'],
    outputs: ['out.txt'],
    cpus: 2,
    commandLine: 'katapult run main.py 3 "two words" --outputs out.txt --cpus 2',
  };

  it('is a commented katapult.yaml that validates and runs the script with its arguments', () => {
    const yaml = oneShotConfigYaml(options);
    expect(yaml).toBe(
      [
        '# Made by: katapult run main.py 3 "two words" --outputs out.txt --cpus 2',
        '# The same run as a config: katapult launch katapult.yaml',
        'project: "my-proj"',
        'instances:',
        '  - number: 1',
        '    cpus: 2',
        'environments:',
        '  - name: python',
        '    env_pypi: ["greeting"]   # guessed from its imports, less the standard library; installed in a venv with python3',
        'jobs:',
        '  - name: "main"',
        '    env_name: python',
        `    run_script: "main.py 3 'two words'"`,
        '    upload_files: ["helper.py"]   # the project files it loads',
        '    output_files: ["out.txt"]   # brought back by katapult fetch',
        '    cpus_req: 2',
        '',
      ].join('\n'),
    );
    const spec = loadConfig(yaml, '/p/katapult.yaml', { defaultCpus: 4, localCpuLimit: 4 });
    expect(spec.jobs.map((job) => [job.id, job.runScript, job.uploadFiles, job.outputFiles, job.cpusReq])).toEqual([
      ['main', "main.py 3 'two words'", ['helper.py'], ['out.txt'], 2],
    ]);
  });

  it('installs python3 alone when nothing is to be installed, and Julia with its packages', () => {
    const bare = oneShotConfigYaml({ ...options, packages: [], uploads: [], outputs: [], cpus: undefined });
    expect(bare).toContain('    env_aptget: ["python3"]   # no package to install (guessed from its imports, less the standard library)\n');
    expect(bare).not.toMatch(/upload_files|output_files|cpus_req/);
    expect(loadConfig(bare, '/p/katapult.yaml', { defaultCpus: 4, localCpuLimit: 4 }).environments[0]!.aptget).toEqual(['python3']);
    const julia = oneShotConfigYaml({ ...options, script: 'sim.jl', language: 'julia', packages: ['CSV'], packagesFrom: 'flag' });
    expect(julia).toContain('    env_julia: ["CSV"]   # given with --pip\n');
  });

  it('on EC2 with --type: provider aws, the instance, images in ECR, and the address the instance reaches NATS at', () => {
    const yaml = oneShotConfigYaml({
      ...options,
      cpus: undefined,
      aws: { type: 'c5.xlarge', region: 'eu-west-3', maestroAddress: '203.0.113.5', eco: true, maxBid: 0.1 },
    });
    expect(yaml).toContain(
      [
        'project: "my-proj"',
        'provider: aws',
        'maestro_address: "203.0.113.5"   # this machine, as the instance reaches it (NATS\'s port open to it)',
        'registry: ecr   # the instance pulls the environment image from ECR',
        'instances:',
        '  - number: 1',
        '    type: "c5.xlarge"',
        '    region: "eu-west-3"',
        '    eco: true   # a spot instance',
        '    max_bid: 0.1',
        "    # cpus: the instance type's",
      ].join('\n'),
    );
    const spec = loadConfig(yaml, '/p/katapult.yaml', { defaultCpus: 4, localCpuLimit: 4 });
    expect(spec.provider).toBe('aws');
    expect(spec.instances[0]).toMatchObject({ type: 'c5.xlarge', region: 'eu-west-3', eco: true, maxBid: 0.1, number: 1 });
  });

  it('names the project and job after the folder and script', () => {
    expect([nameFrom('my project!', 'run'), nameFrom('run_me.py', 'job'), nameFrom('...', 'run')]).toEqual(['my-project', 'run_me', 'run']);
  });
});
