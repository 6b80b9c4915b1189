import { spawn } from 'node:child_process';
import { Flags } from '@oclif/core';
import { KatapultCommand } from '../base-command.js';
import { requireApiToken } from '@katapult/launcher/state/api-token';
import { stackContext } from '@katapult/launcher/stack/context';

interface DashboardResult {
  /** The page's address with the API token in its fragment, which the browser keeps to itself. */
  url: string;
  opened: boolean;
}

export default class Dashboard extends KatapultCommand {
  static override description =
    "print the address of the coordinator's dashboard (runs, jobs, the run's timeline, agents, a job's live log); it carries the stack's API token, so share it only as you would the token";
  static override examples = ['<%= config.bin %> dashboard', '<%= config.bin %> dashboard --open'];
  static override flags = {
    open: Flags.boolean({
      description: "also open it in the desktop's browser (xdg-open, which has the address on its command line for a moment)",
    }),
  };

  async run(): Promise<DashboardResult> {
    const { flags } = await this.parse(Dashboard);
    const { state, client } = stackContext();
    await client.listAgents(); // the coordinator is up and takes this stack's token: the address will work
    const url = `${client.baseUrl}/#token=${requireApiToken(state)}`;
    this.log(url);
    // A maestro's certificate comes from the stack's own CA, which a browser does not know.
    if (url.startsWith('https:'))
      this.logToStderr(`the page's certificate is signed by this stack's CA: import ${state.tls.ca} into the browser to trust it`);
    const opened = flags.open && (await openInBrowser(url));
    if (flags.open && !opened) this.logToStderr('could not start xdg-open: open the address above in a browser');
    return { url, opened };
  }
}

function openInBrowser(url: string): Promise<boolean> {
  return new Promise((resolve) => {
    const child = spawn('xdg-open', [url], { detached: true, stdio: 'ignore' });
    child.once('error', () => resolve(false));
    child.once('spawn', () => {
      child.unref();
      resolve(true);
    });
  });
}
