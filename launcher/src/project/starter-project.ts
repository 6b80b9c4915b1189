import { basename, resolve } from 'node:path';

export interface StarterFile {
  /** Relative to the project folder. */
  path: string;
  content: string;
  mode: number;
}

const FALLBACK_PROJECT = 'my-project';

/** A project name the config accepts (letters, digits, `-`, `_`; at most 63), taken from the folder's name. */
export function projectNameFor(dir: string): string {
  const name = basename(resolve(dir))
    .replace(/[^a-zA-Z0-9_-]+/g, '-')
    .replace(/^[-_]+/, '')
    .slice(0, 63)
    .replace(/[-_]+$/, '');
  return name || FALLBACK_PROJECT;
}

/** What `katapult init` writes: a commented katapult.yaml and the small script one of its jobs runs. */
export function starterFiles(project: string): StarterFile[] {
  return [
    { path: 'katapult.yaml', content: starterConfig(project), mode: 0o644 },
    { path: 'run.sh', content: STARTER_SCRIPT, mode: 0o755 },
  ];
}

function starterConfig(project: string): string {
  return `# A Katapult project: every key and what it means is in the config table of Katapult's README.
# Check it:  katapult validate katapult.yaml      Run it:  katapult launch katapult.yaml
# The project's name (letters, digits, "-" and "_"), recorded on each run.
project: ${project}

# provider: local              # local (default): agent containers on this machine's Docker; aws: EC2 instances
# registry: 127.0.0.1:5000     # where environment images go (default: the local registry); also any OCI registry, or ecr
# job_assign: multi_knapsack   # pack the largest jobs first onto the fewest instances (default); random spreads them
# auto_stop: true              # instances stop after 60 s with no run going; false keeps them; or the idle seconds
# max_attempts: 3              # attempts a job may take in all when its instance is lost

instances:
  - number: 2                  # how many instances of this kind; locally each is an agent container
    cpus: 2                    # cpus each instance offers to jobs (default: this machine's cores)

environments:
  - name: base                 # jobs name it in env_name; with no packages, jobs run on the Debian base image
    # env_aptget: [curl]       # Debian packages
    # env_pypi: [numpy]        # pip requirements, or the path of a requirements.txt
    # command: setup.sh        # a setup script (relative to this file) or an inline command, run last

jobs:
  - name: hello
    env_name: base
    run_command: echo "hello from $(hostname)"    # a shell command (/bin/sh -c), run in the job's folder /work
  - name: steps
    env_name: base
    run_script: run.sh 3       # a project file and its arguments; staged with the job; wins over run_command
    output_files: [out/result.txt]               # brought back by: katapult fetch
    repeat: 2                  # two copies, named steps-1 and steps-2
    # cpus_req: 1              # cpus the job needs, never shared
    # retries: 0               # extra attempts after a non-zero exit
    # upload_files: [data/shared.csv]            # files the job reads, one copy shared by the jobs naming them
    # input_files: [data/own.csv]                # files the job gets as its own writable copy
`;
}

const STARTER_SCRIPT = `#!/bin/sh
# The script of the "steps" jobs in katapult.yaml. It runs in the job's folder, /work, where the project's
# files sit at the same paths as here; what it writes to out/ comes back with: katapult fetch
set -e
steps="\${1:-3}"
mkdir -p out
for i in $(seq "$steps"); do
  echo "step $i of $steps"
done
echo "$steps steps done on $(hostname)" > out/result.txt
echo "wrote out/result.txt"
`;
