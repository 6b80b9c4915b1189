// Bundles the maestro (nats-server beside an in-process coordinator) into one file for Dockerfile.maestro, so the
// image needs Node and nothing else. dashboard.ts reads the page's files next to the module that holds it, so they
// are copied next to the bundle too (the image copies them from src/ the same way).
import { cpSync } from 'node:fs';
import { build } from 'esbuild';

await build({
  entryPoints: ['dist/maestro-main.js'],
  outfile: 'dist/maestro.mjs',
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

cpSync('src/http/dashboard', 'dist/dashboard', { recursive: true });
