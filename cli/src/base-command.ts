import { Command } from '@oclif/core';
import { ExitCode, KatapultError } from '@katapult/core/light';

/**
 * Every command's base: `--json` prints what run() returns, and any error becomes one line on stderr (or a
 * JSON envelope under --json) with the documented exit code: 0 ok, 1 a job failed, 2 bad input,
 * 3 infrastructure error, 130 interrupted.
 */
export abstract class KatapultCommand extends Command {
  static override enableJsonFlag = true;

  protected override async catch(error: Error & { exitCode?: number; oclif?: { exit?: number } }): Promise<void> {
    if (error.oclif?.exit !== undefined && !(error instanceof KatapultError)) {
      // oclif's own errors (unknown flag, missing argument) are bad input.
      if (error.oclif.exit === 0) return;
      // oclif may put what is wrong on the lines after "The following error occurred:"; keep them, on one line.
      const lines = error.message.split('\n').map((line) => line.trim()).filter((line) => line.length > 0 && !/^See more help/.test(line));
      const said = lines[0]?.endsWith(':') && lines.length > 1 ? lines.slice(1).join('; ') : (lines[0] ?? error.message);
      this.logToStderr(`KP_USAGE ${said}`);
      this.exit(ExitCode.badInput);
    }
    const known = error instanceof KatapultError ? error : new KatapultError('KP_INTERNAL', error.message, { cause: error });
    // The one-line error is for users; KATAPULT_DEBUG=1 adds where it came from, for bug reports.
    if (process.env['KATAPULT_DEBUG']) this.logToStderr(String(error.stack ?? error));
    if (this.jsonEnabled()) {
      this.logJson({ status: known.exitCode, error: { code: known.code, message: known.message, path: known.path, hint: known.hint } });
    } else {
      this.logToStderr(known.toLine());
    }
    this.exit(known.exitCode);
  }
}
