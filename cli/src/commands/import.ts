import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Args, Flags } from '@oclif/core';
import { ExitCode, importPythonConfig, KatapultError } from '@katapult/core';
import { KatapultCommand } from '../base-command.js';

export default class Import extends KatapultCommand {
  static override description =
    "convert the original tool's Python config (config.py, `config = {...}`) into a commented katapult.yaml beside it; no Python needed";
  static override examples = [
    '<%= config.bin %> import config.py',
    '<%= config.bin %> import config.py --maestro-address 203.0.113.5',
    '<%= config.bin %> import config.py --out - | less',
  ];
  static override args = { file: Args.string({ description: "the original tool's config.py", required: true }) };
  static override flags = {
    out: Flags.string({
      char: 'o',
      helpValue: 'FILE',
      description: 'where to write (default: katapult.yaml beside config.py; - for stdout)',
    }),
    'maestro-address': Flags.string({
      helpValue: 'ADDRESS',
      description: "with provider 'aws': this machine's address as EC2 instances reach it (katapult's maestro_address)",
    }),
    force: Flags.boolean({ description: 'overwrite the output file when it exists' }),
  };

  async run(): Promise<{ file: string; out: string; notes: string[] }> {
    const { args, flags } = await this.parse(Import);
    let text: string;
    try {
      text = readFileSync(args.file, 'utf8');
    } catch (error) {
      const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message;
      throw new KatapultError('KP_CONFIG_NOT_FOUND', `${args.file}: ${reason}`, { exitCode: ExitCode.badInput });
    }
    // Relative paths in the config (scripts, requirements) are relative to its folder, so the YAML goes there too.
    const out = flags.out ?? join(dirname(args.file), 'katapult.yaml');
    const result = importPythonConfig(text, args.file, {
      source: args.file,
      output: out === '-' ? 'katapult.yaml' : out,
      ...(flags['maestro-address'] ? { maestroAddress: flags['maestro-address'] } : {}),
    });
    if (out === '-') {
      process.stdout.write(result.yaml);
    } else {
      if (existsSync(out) && !flags.force) {
        throw new KatapultError('KP_IMPORT_EXISTS', `${out} already exists`, {
          hint: 'use --force to overwrite it, or --out another file',
          exitCode: ExitCode.badInput,
        });
      }
      writeFileSync(out, result.yaml);
      this.log(`wrote ${out} from ${args.file}`);
    }
    for (const note of result.notes) this.logToStderr(`note: ${note}`);
    if (out !== '-') this.log(`next: katapult validate ${out}`);
    return { file: args.file, out, notes: result.notes };
  }
}
