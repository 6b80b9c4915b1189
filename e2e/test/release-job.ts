import Docker from 'dockerode';
import { waitFor } from '@katapult/testkit';

/** The shell line that holds a job until releaseJob creates `file` in its container. */
export const untilReleased = (file: string) => `until [ -e ${file} ]; do sleep 0.1; done`;

/** Creates `file` in the running container of a run's job, which a job waiting on untilReleased(file) goes on from. */
export async function releaseJob(runId: string, job: string, file: string): Promise<void> {
  const docker = new Docker();
  const running = () => docker.listContainers({ filters: { label: [`katapult.run=${runId}`, `katapult.job=${job}`] } });
  const container = await waitFor(async () => (await running())[0], {
    what: `the container of ${runId}/${job} running`,
    timeoutMs: 300_000,
  });
  const exec = await docker.getContainer(container.Id).exec({ Cmd: ['touch', file] });
  await exec.start({ Detach: true });
  await waitFor(async () => (await exec.inspect()).Running === false, { what: `touch ${file} in ${runId}/${job}`, timeoutMs: 60_000 });
  const { ExitCode } = await exec.inspect();
  if (ExitCode !== 0) throw new Error(`touch ${file} in the container of ${runId}/${job} exited ${ExitCode}`);
}
