import { Args, Flags } from '@oclif/core';
import { clusterNames, ExitCode, KatapultError } from '@katapult/core';
import { KatapultCommand } from '../base-command.js';
import { findRun, stackContext } from '@katapult/launcher/stack/context';
import { runExecSession, type ExecTerminal } from '@katapult/launcher/follow/exec-session';
import { connectNats } from '@katapult/launcher/stack/nats';

export default class Exec extends KatapultCommand {
  static override description =
    "run a command in a running job's container, or an interactive shell (with a TTY on a terminal) when none is given; it goes through the job's agent over NATS with the stack's admin credentials, so no port is opened, and exits with the command's exit code";
  static override examples = [
    '<%= config.bin %> exec sim-2',
    '<%= config.bin %> exec sim-2 -- ls -la /work',
    "<%= config.bin %> exec sim-2 --run r-20261125-081502-3fa9 -- sh -c 'ps aux'",
  ];
  static override usage = 'exec JOB [--run RUN] [-- CMD...]';
  static override strict = false;
  static override enableJsonFlag = false;
  static override args = { job: Args.string({ description: 'the job (it must be running)', required: true }) };
  static override flags = {
    run: Flags.string({ description: 'run id of the job (default: the latest run with this job)' }),
  };

  async run(): Promise<void> {
    const { args, argv, flags } = await this.parse(Exec);
    const command = (argv as string[]).slice(1);
    const context = stackContext();
    const run = await findRun(context.client, flags.run, args.job);
    const job = run.jobs.find((candidate) => candidate.id === args.job);
    if (!job)
      throw new KatapultError('KP_JOB_NOT_FOUND', `run ${run.id} has no job named "${args.job}"`, {
        exitCode: ExitCode.badInput,
        hint: `katapult status ${run.id} lists its jobs`,
      });
    if (job.state !== 'running' || job.agentId === null) {
      throw new KatapultError(
        'KP_JOB_NOT_RUNNING',
        `job ${job.id} of run ${run.id} is ${job.state}, not running: there is no container to enter`,
        {
          exitCode: ExitCode.badInput,
          hint: `katapult status ${run.id} shows its state`,
        },
      );
    }
    const interactive = command.length === 0 && process.stdin.isTTY === true && process.stdout.isTTY === true;
    const abort = new AbortController();
    const terminal: ExecTerminal = { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr, signal: abort.signal };
    if (interactive) {
      terminal.tty = {
        // A pseudo-terminal may report no size at all (0): the usual 80x24 then.
        cols: process.stdout.columns || 80,
        rows: process.stdout.rows || 24,
        onResize(listener) {
          const resized = () => listener(process.stdout.columns || 80, process.stdout.rows || 24);
          process.stdout.on('resize', resized);
          return () => process.stdout.off('resize', resized);
        },
      };
      process.stdin.setRawMode(true);
    }
    // Without a TTY, Ctrl-C is for this side: it ends the session (in a TTY it goes to the shell, as a keystroke).
    const interrupt = () => abort.abort();
    process.once('SIGINT', interrupt);
    process.once('SIGTERM', interrupt);
    const nc = await connectNats(context.nats, 'katapult-exec');
    let exitCode: number | null;
    try {
      exitCode = await runExecSession(
        nc,
        clusterNames(context.stack.cluster),
        { agentId: job.agentId, runId: run.id, jobId: job.id, attempt: job.attempt },
        command,
        terminal,
      );
    } finally {
      if (interactive) process.stdin.setRawMode(false);
      process.off('SIGINT', interrupt);
      process.off('SIGTERM', interrupt);
      process.stdin.pause();
      await nc.close();
    }
    if (abort.signal.aborted) {
      process.exitCode = ExitCode.interrupted;
      return;
    }
    if (exitCode === null)
      throw new KatapultError('KP_EXEC_NO_EXIT_CODE', 'the command ended, but its exit code could not be read', {
        exitCode: ExitCode.infrastructure,
      });
    process.exitCode = exitCode;
  }
}
