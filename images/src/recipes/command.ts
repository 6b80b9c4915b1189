import { isScript, STAGING_DIR } from './shell.js';

/** The setup command runs last, so changing it rebuilds nothing below it. */
export function commandLayer(command: string | null): string[] {
  if (!command) return [];
  if (isScript(command)) return [`COPY ${command} ${STAGING_DIR}/setup.sh`, `RUN sh ${STAGING_DIR}/setup.sh`];
  return [`RUN ${command}`];
}
