import { describe, expect, it } from 'vitest';
import { KatapultError, type EnvironmentSpec } from '@katapult/core';
import { environmentSpec as env } from '@katapult/testkit';
import { planEnvironmentImage, referencedFiles, stepOfInstruction } from '../src/index.js';

const dockerfile = (patch: Partial<EnvironmentSpec>) => planEnvironmentImage(env(patch), 'base:1').dockerfile;
const instructions = (text: string) => text.split('\n').filter((line) => /^[A-Z]+ /.test(line));

const MICROMAMBA = `RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends bzip2 ca-certificates curl && rm -rf /var/lib/apt/lists/* \\
    && curl -fsSL https://micro.mamba.pm/api/micromamba/linux-64/latest | tar -xj --no-same-owner -C /usr/local bin/micromamba
ENV MAMBA_ROOT_PREFIX=/opt/conda`;
const PIP_ARGS = 'ARG PIP_INDEX_URL\nARG PIP_EXTRA_INDEX_URL\nARG PIP_FIND_LINKS\nARG PIP_TRUSTED_HOST';
/** The job user's step, last: what the earlier steps installed under `readable` is made readable by that user. */
const userStep = (...readable: string[]) => `# katapult-step: user
RUN groupadd --gid 1000 katapult \\
    && useradd --uid 1000 --gid 1000 --create-home --home-dir /home/katapult --shell /bin/bash katapult \\
${readable.length > 0 ? `    && find ${readable.join(' ')} \\( ! -perm -o=r -o -type d ! -perm -o=x \\) -exec chmod o+rX {} + \\\n` : ''}    && install -d -m 0700 -o 1000 -g 1000 /work`;
const LABEL = 'LABEL katapult.user=1000:1000';

/** conda and julia cannot be downloaded here: their recipes are checked by the Dockerfile text they generate. */
describe('environment Dockerfiles', () => {
  it('conda packages with channels in their order, through micromamba', () => {
    expect(dockerfile({ conda: ['scipy', 'numpy=1.26'], condaChannels: ['bioconda', 'conda-forge'] })).toBe(`FROM base:1
# katapult-step: conda
${MICROMAMBA}
RUN micromamba create -y -p /opt/conda/envs/katapult -c bioconda -c conda-forge numpy=1.26 scipy && micromamba clean -a -y
ENV PATH=/opt/conda/envs/katapult/bin:$PATH
${userStep('/opt/conda')}
${LABEL}
`);
  });

  it('an environment.yml plus pip packages: pip joins the conda env and the packages go into it', () => {
    const plan = planEnvironmentImage(env({ conda: ['envs/environment.yml'], pypi: ['requests>=2.31', 'kpdemo'] }), 'base:1');
    expect(plan.dockerfile).toBe(`FROM base:1
# katapult-step: conda
${MICROMAMBA}
COPY envs/environment.yml /tmp/katapult/environment.yml
RUN micromamba create -y -p /opt/conda/envs/katapult -c conda-forge -f /tmp/katapult/environment.yml pip && micromamba clean -a -y
ENV PATH=/opt/conda/envs/katapult/bin:$PATH
# katapult-step: pip
${PIP_ARGS}
RUN pip install --no-cache-dir --disable-pip-version-check kpdemo 'requests>=2.31'
${userStep('/opt/conda')}
${LABEL}
`);
    expect(plan.files).toEqual(['envs/environment.yml']);
  });

  it('julia packages on a pinned release, precompiled into a shared depot that jobs read behind their own', () => {
    expect(dockerfile({ julia: ['Wavelets', 'DataFrames'] })).toBe(`FROM base:1
# katapult-step: julia
RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ca-certificates curl && rm -rf /var/lib/apt/lists/* \\
    && mkdir -p /opt/julia && curl -fsSL https://julialang-s3.julialang.org/bin/linux/x64/1.10/julia-1.10.4-linux-x86_64.tar.gz | tar -xz --no-same-owner -C /opt/julia --strip-components=1 \\
    && ln -s /opt/julia/bin/julia /usr/local/bin/julia
ENV JULIA_DEPOT_PATH=/opt/julia-depot
RUN julia -e 'using Pkg; Pkg.add(["DataFrames", "Wavelets"]); Pkg.precompile()'
${userStep('/opt/julia', '/opt/julia-depot')}
ENV JULIA_DEPOT_PATH=/home/katapult/.julia:/opt/julia-depot
${LABEL}
`);
  });

  it('a requirements file into a venv, the index left to build args', () => {
    const plan = planEnvironmentImage(env({ pypi: ['deps/requirements.txt'] }), 'base:1');
    expect(plan.dockerfile).toBe(`FROM base:1
# katapult-step: pip
RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends python3 python3-venv && rm -rf /var/lib/apt/lists/* \\
    && python3 -m venv /opt/katapult/venv
ENV PATH=/opt/katapult/venv/bin:$PATH
COPY deps/requirements.txt /tmp/katapult/requirements.txt
${PIP_ARGS}
RUN pip install --no-cache-dir --disable-pip-version-check -r /tmp/katapult/requirements.txt
${userStep('/opt/katapult/venv')}
${LABEL}
`);
    expect(plan.files).toEqual(['deps/requirements.txt']);
    expect(plan.steps).toEqual([
      { kind: 'pip', description: 'pip install -r deps/requirements.txt' },
      { kind: 'user', description: 'user katapult (1000:1000) for jobs' },
    ]);
  });

  it('apt packages sorted, then a setup script run with bash', () => {
    const plan = planEnvironmentImage(env({ aptget: ['zlib1g-dev', 'curl'], command: 'setup/install.sh' }), 'base:1');
    expect(plan.dockerfile).toBe(`FROM base:1
# katapult-step: apt
RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends curl zlib1g-dev && rm -rf /var/lib/apt/lists/*
# katapult-step: command
COPY setup/install.sh /tmp/katapult/setup.sh
RUN bash /tmp/katapult/setup.sh
${userStep()}
${LABEL}
`);
    expect(plan.files).toEqual(['setup/install.sh']);
  });

  it('layers come in a fixed order whatever the spec: apt, conda, pip, julia, command, then the job user', () => {
    const plan = planEnvironmentImage(
      env({ command: 'setup/install.sh', julia: ['A'], pypi: ['requirements.txt'], conda: ['x'], aptget: ['curl'] }),
      'base:1',
    );
    expect(plan.steps.map((step) => step.kind)).toEqual(['apt', 'conda', 'pip', 'julia', 'command', 'user']);
    const markers = plan.dockerfile.split('\n').filter((line) => line.startsWith('# katapult-step: '));
    expect(markers).toEqual(['apt', 'conda', 'pip', 'julia', 'command', 'user'].map((kind) => `# katapult-step: ${kind}`));
    expect(plan.dockerfile).toContain('&& find /opt/conda /opt/julia /opt/julia-depot \\( ! -perm');
    expect(plan.files).toEqual(['requirements.txt', 'setup/install.sh']);
    expect(plan.dockerfile).toContain('micromamba create -y -p /opt/conda/envs/katapult -c conda-forge x pip &&');
    expect(plan.dockerfile).not.toContain('python3 -m venv');
  });

  it('an environment with nothing is the base image with the job user', () => {
    expect(planEnvironmentImage(env({}), 'base:1')).toEqual({
      dockerfile: `FROM base:1\n${userStep()}\n${LABEL}\n`,
      steps: [{ kind: 'user', description: 'user katapult (1000:1000) for jobs' }],
      files: [],
    });
  });

  it("maps docker's instruction numbers back to steps", () => {
    const text = dockerfile({ aptget: ['jq'], pypi: ['requirements.txt'], command: 'echo hi' });
    const all = instructions(text);
    expect(stepOfInstruction(text, 1)).toBeUndefined();
    expect(stepOfInstruction(text, 2)).toBe('apt');
    expect(stepOfInstruction(text, 3)).toBe('pip');
    expect(stepOfInstruction(text, all.indexOf('ARG PIP_INDEX_URL') + 1)).toBe('pip');
    expect(stepOfInstruction(text, all.indexOf('RUN echo hi') + 1)).toBe('command');
    expect(stepOfInstruction(text, all.length)).toBe('user');
    expect(stepOfInstruction(text, all.length + 1)).toBeUndefined();
  });

  it('lists the files a spec names: an environment file, requirements files, a setup script', () => {
    expect(referencedFiles(env({ conda: ['numpy', 'env.yaml'], pypi: ['a.txt', 'numpy'], command: 'bin/setup.sh' }))).toEqual([
      'env.yaml',
      'a.txt',
      'bin/setup.sh',
    ]);
    expect(referencedFiles(env({ command: 'bash bin/setup.sh' }))).toEqual([]);
  });
});

describe('spec forms the shell and Dockerfile syntax must survive', () => {
  it('quotes pip requirements with operators, spaces or quotes', () => {
    expect(dockerfile({ conda: ['python=3.11'], pypi: ["pkg[extra] >= 1.0 ; python_version >= '3'", 'numpy==1.26.4'] })).toContain(
      `RUN pip install --no-cache-dir --disable-pip-version-check numpy==1.26.4 'pkg[extra] >= 1.0 ; python_version >= '\\''3'\\'''\n`,
    );
  });

  it('runs an inline command as typed, and a multi-line one through sh in the exec form', () => {
    const commandStep = (text: string) => text.split('# katapult-step: ')[1];
    expect(commandStep(dockerfile({ command: 'echo ready > /opt/ready' }))).toBe('command\nRUN echo ready > /opt/ready\n');
    expect(commandStep(dockerfile({ command: 'set -e\necho one' }))).toBe('command\nRUN ["/bin/sh","-c","set -e\\necho one"]\n');
  });

  it('copies paths with whitespace in the JSON form and quotes where they are used', () => {
    const text = dockerfile({ pypi: ['my deps/req s.txt'] });
    expect(text).toContain('COPY ["my deps/req s.txt","/tmp/katapult/req s.txt"]\n');
    expect(text).toContain("-r '/tmp/katapult/req s.txt'\n");
  });

  it('does not install python again when env_aptget already has it', () => {
    expect(dockerfile({ aptget: ['python3', 'python3-venv'], pypi: ['numpy'] })).toContain(
      '# katapult-step: pip\nRUN python3 -m venv /opt/katapult/venv\n',
    );
  });

  it('refuses, as bad input, what no Dockerfile can express', () => {
    const refused = (patch: Partial<EnvironmentSpec>) => {
      try {
        planEnvironmentImage(env(patch), 'base:1');
      } catch (error) {
        return error instanceof KatapultError ? `${error.code} ${error.exitCode} ${error.message}` : String(error);
      }
      return 'accepted';
    };
    expect(refused({ pypi: ['numpy\nRUN curl x'] })).toMatch(
      /^KP_ENV_SPEC_INVALID 2 environment "env": env_pypi entry "numpy\\nRUN curl x"/,
    );
    expect(refused({ aptget: [''] })).toMatch(/env_aptget entry "" is empty/);
    expect(refused({ conda: ['a.yml', 'b.yml'] })).toMatch(/more than one environment file/);
    expect(refused({ pypi: ['a/requirements.txt', 'b/requirements.txt'] })).toMatch(/share the name requirements.txt/);
  });

  it('the same packages in another order or repeated give the same Dockerfile', () => {
    const one = env({ aptget: ['jq', 'curl'], conda: ['b', 'a'], pypi: ['y', 'x'], julia: ['B', 'A'] });
    const two = env({ aptget: ['curl', 'jq', 'jq'], conda: ['a', 'b'], pypi: ['x', 'y'], julia: ['A', 'B'] });
    expect(planEnvironmentImage(one, 'base:1')).toEqual(planEnvironmentImage(two, 'base:1'));
  });
});

describe('an environment on an image of its own', () => {
  it('is built FROM that image, and its job user step takes a user of that id the image already has', () => {
    const plan = planEnvironmentImage(env({ image: '127.0.0.1:5000/team/tools:1', command: 'echo hi' }), '127.0.0.1:5000/team/tools:1');
    expect(plan.dockerfile.split('\n')[0]).toBe('FROM 127.0.0.1:5000/team/tools:1');
    expect(plan.dockerfile).toContain(`RUN (getent group 1000 >/dev/null || groupadd --gid 1000 katapult) \\
    && (getent passwd 1000 >/dev/null || useradd --uid 1000 --gid 1000 --create-home --home-dir /home/katapult --shell /bin/sh katapult) \\
    && install -d -m 0700 -o 1000 -g 1000 /work`);
  });

  it('refuses a reference that is not one word', () => {
    expect(() => planEnvironmentImage(env({ image: 'tools:1\nRUN rm -rf /' }), 'x')).toThrow(
      /KP_ENV_SPEC_INVALID|is not an image reference/,
    );
  });
});
