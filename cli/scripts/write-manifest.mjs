// Writes oclif.manifest.json after tsc: each command's id, flags and description. With it, oclif loads only the
// command that runs (and nothing for --version or --help's index); without it, it imports every command on every
// start to learn the same. Built, never committed: it is stale the moment a command changes.
import { writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { Plugin } from '@oclif/core';

const root = fileURLToPath(new URL('..', import.meta.url));
const plugin = new Plugin({ root, type: 'core', ignoreManifest: true, errorOnManifestCreate: true });
await plugin.load();
await writeFile(new URL('../oclif.manifest.json', import.meta.url), `${JSON.stringify(plugin.manifest, null, 2)}\n`);
