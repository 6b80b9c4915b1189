// How the coordinator's programs are bundled (bundle.mjs; the control-plane bench bundles its own coordinator the
// same way, so it starts as the local stack's does): one ES module file each, with everything but native addons.
import { cpSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const dashboard = join(dirname(fileURLToPath(import.meta.url)), 'src/http/dashboard');

/** Bundles each entry point (name: file) into `outdir`/name.mjs, with the dashboard's files beside them. */
export async function bundleNodePrograms(entryPoints, outdir) {
  await build({
    entryPoints,
    outdir,
    outExtension: { '.js': '.mjs' },
    bundle: true,
    platform: 'node',
    target: 'node18',
    format: 'esm',
    // ssh2 (a dockerode dependency for ssh:// hosts, unused here) loads optional native addons.
    external: ['cpu-features', '*.node'],
    // CommonJS dependencies bundled into an ES module still expect require, __dirname and __filename. Debian's
    // Node 18 gives modules no global crypto (Web Crypto), which the coordinator's dependencies use at start.
    banner: {
      js: [
        "import { webcrypto as __kpWebcrypto } from 'node:crypto';",
        'globalThis.crypto ??= __kpWebcrypto;',
        "import { createRequire as __kpCreateRequire } from 'node:module';",
        "import { fileURLToPath as __kpFileURLToPath } from 'node:url';",
        "import { dirname as __kpDirname } from 'node:path';",
        'const require = __kpCreateRequire(import.meta.url);',
        'const __filename = __kpFileURLToPath(import.meta.url);',
        'const __dirname = __kpDirname(__filename);',
      ].join(' '),
    },
    logLevel: 'warning',
  });
  // dashboard.ts reads the page's files next to the module that holds it.
  cpSync(dashboard, join(outdir, 'dashboard'), { recursive: true });
}
