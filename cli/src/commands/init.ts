import { existsSync } from 'node:fs';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Args, Flags } from '@oclif/core';
import { ExitCode, KatapultError } from '@katapult/core/light';
import { KatapultCommand } from '../base-command.js';
import { projectNameFor, starterFiles } from '@katapult/launcher/project/starter-project';

export default class Init extends KatapultCommand {
  static override description = 'write a commented starter katapult.yaml, and the small script one of its jobs runs, into a folder';
  static override examples = ['<%= config.bin %> init', '<%= config.bin %> init my-project', '<%= config.bin %> init . --force'];
  static override args = { dir: Args.string({ description: 'folder to write into (created when missing)', default: '.' }) };
  static override flags = { force: Flags.boolean({ description: 'overwrite files that are already there' }) };

  async run(): Promise<{ dir: string; files: string[] }> {
    const { args, flags } = await this.parse(Init);
    const files = starterFiles(projectNameFor(args.dir)).map((file) => ({ ...file, path: join(args.dir, file.path) }));
    // Checked before writing anything, so a refusal leaves the folder as it was.
    const existing = files.find((file) => existsSync(file.path));
    if (existing && !flags.force) {
      throw new KatapultError('KP_INIT_EXISTS', `${existing.path} already exists`, {
        hint: 'use --force to overwrite it',
        exitCode: ExitCode.badInput,
      });
    }
    await mkdir(args.dir, { recursive: true });
    for (const file of files) {
      await writeFile(file.path, file.content);
      await chmod(file.path, file.mode);
    }
    const config = join(args.dir, 'katapult.yaml');
    this.log(`wrote ${files.map((file) => file.path).join(', ')}`);
    this.log(`next: katapult validate ${config}, then katapult launch ${config}`);
    return { dir: args.dir, files: files.map((file) => file.path) };
  }
}
