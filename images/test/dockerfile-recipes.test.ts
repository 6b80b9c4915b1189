import { describe, expect, it } from 'vitest';
import { environmentSpec } from '@katapult/testkit';
import { planEnvironmentImage, stepOfInstruction } from '../src/index.js';

const env = environmentSpec;

/** conda and julia cannot be downloaded here: their recipes are checked by the Dockerfile text they generate. */
describe('environment Dockerfiles', () => {
  it('conda packages with channels, in order, through micromamba', () => {
    expect(planEnvironmentImage(env({ conda: ['numpy=1.26', 'scipy'], condaChannels: ['bioconda', 'conda-forge'] }), 'base:1').dockerfile)
      .toBe(`FROM base:1
# katapult-step: conda
RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends bzip2 ca-certificates curl && rm -rf /var/lib/apt/lists/* \\
    && curl -fsSL https://micro.mamba.pm/api/micromamba/linux-64/latest | tar -xj -C /usr/local bin/micromamba
ENV MAMBA_ROOT_PREFIX=/opt/conda
RUN micromamba create -y -p /opt/conda/envs/katapult -c bioconda -c conda-forge numpy=1.26 scipy && micromamba clean -a -y
ENV PATH=/opt/conda/envs/katapult/bin:$PATH
`);
  });

  it('an environment.yml plus pip packages installs pip into the conda env, then the packages with it', () => {
    const plan = planEnvironmentImage(env({ conda: ['envs/environment.yml'], pypi: ['requests>=2.31'] }), 'base:1');
    expect(plan.dockerfile).toContain('COPY envs/environment.yml /tmp/katapult/environment.yml\n');
    expect(plan.dockerfile).toContain('micromamba create -y -p /opt/conda/envs/katapult -c conda-forge -f /tmp/katapult/environment.yml pip &&');
    expect(plan.dockerfile).not.toContain('python3 -m venv');
    expect(plan.dockerfile).toContain("RUN pip install --no-cache-dir --disable-pip-version-check 'requests>=2.31'\n");
    expect(plan.steps).toEqual(['conda', 'pip']);
    expect(plan.files).toEqual(['envs/environment.yml']);
  });

  it('julia packages on a pinned release', () => {
    expect(planEnvironmentImage(env({ julia: ['Wavelets', 'DataFrames'] }), 'base:1').dockerfile).toBe(`FROM base:1
# katapult-step: julia
RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ca-certificates curl && rm -rf /var/lib/apt/lists/* \\
    && mkdir -p /opt/julia && curl -fsSL https://julialang-s3.julialang.org/bin/linux/x64/1.10/julia-1.10.4-linux-x86_64.tar.gz | tar -xz -C /opt/julia --strip-components=1 \\
    && ln -s /opt/julia/bin/julia /usr/local/bin/julia
ENV JULIA_DEPOT_PATH=/opt/julia-depot
RUN julia -e 'using Pkg; Pkg.add(["DataFrames", "Wavelets"]); Pkg.precompile()'
`);
  });

  it('layers come in a fixed order whatever the spec: apt, conda, pip, julia, command', () => {
    const plan = planEnvironmentImage(
      env({ command: 'setup/install.sh', julia: ['A'], pypi: ['requirements.txt'], conda: ['x'], aptget: ['zlib1g', 'curl'] }),
      'base:1',
    );
    expect(plan.steps).toEqual(['apt', 'conda', 'pip', 'julia', 'command']);
    expect(plan.dockerfile).toContain('--no-install-recommends curl zlib1g &&');
    expect(plan.dockerfile.trimEnd().split('\n').slice(-2)).toEqual(['COPY setup/install.sh /tmp/katapult/setup.sh', 'RUN sh /tmp/katapult/setup.sh']);
    expect(plan.files).toEqual(['requirements.txt', 'setup/install.sh']);
  });

  it('an environment with nothing is the base image', () => {
    expect(planEnvironmentImage(env({}), 'base:1')).toEqual({ dockerfile: 'FROM base:1\n', steps: [], files: [] });
  });

  it("maps docker's instruction numbers back to steps", () => {
    const { dockerfile } = planEnvironmentImage(env({ aptget: ['jq'], pypi: ['requirements.txt'], command: 'echo hi' }), 'base:1');
    expect(stepOfInstruction(dockerfile, 1)).toBeUndefined();
    expect(stepOfInstruction(dockerfile, 2)).toBe('apt');
    expect(stepOfInstruction(dockerfile, 3)).toBe('pip');
    const last = dockerfile.split('\n').filter((line) => /^[A-Z]+ /.test(line)).length;
    expect(stepOfInstruction(dockerfile, last)).toBe('command');
  });
});
