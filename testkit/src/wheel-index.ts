import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { freePort } from './free-port.js';
import { startProcess } from './managed-process.js';
import { tempDir } from './temp-dir.js';

export interface WheelIndex {
  /** A PEP 503 "simple" index URL on 127.0.0.1, for PIP_INDEX_URL. */
  url: string;
  stop(): Promise<void>;
}

// Writes a pure-Python wheel by hand (a zip with METADATA, WHEEL and RECORD), so no PyPI is needed.
const MAKE_WHEEL = `
import base64, hashlib, sys, zipfile
out, name, version, module_source = sys.argv[1:5]
files = {
    f"{name}/__init__.py": module_source,
    f"{name}-{version}.dist-info/METADATA": f"Metadata-Version: 2.1\\nName: {name}\\nVersion: {version}\\n",
    f"{name}-{version}.dist-info/WHEEL": "Wheel-Version: 1.0\\nGenerator: katapult-testkit\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n",
}
record = f"{name}-{version}.dist-info/RECORD"
with zipfile.ZipFile(out, "w") as wheel:
    lines = []
    for path, text in files.items():
        data = text.encode()
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        wheel.writestr(path, data)
        lines.append(f"{path},sha256={digest},{len(data)}")
    lines.append(f"{record},,")
    wheel.writestr(record, "\\n".join(lines) + "\\n")
`;

/**
 * Serves a package index with one pure-Python package on 127.0.0.1 (python3's http.server: its directory
 * listings are valid "simple" index pages), for real pip installs in image builds without PyPI.
 */
export async function startWheelIndex(pkg: { name: string; version: string; source: string }): Promise<WheelIndex> {
  const root = await tempDir('wheels');
  const dir = join(root, 'simple', pkg.name);
  await mkdir(dir, { recursive: true });
  const script = join(root, 'make_wheel.py');
  await writeFile(script, MAKE_WHEEL);
  await promisify(execFile)('python3', [
    script,
    join(dir, `${pkg.name}-${pkg.version}-py3-none-any.whl`),
    pkg.name,
    pkg.version,
    pkg.source,
  ]);
  const port = await freePort();
  const server = startProcess('python3', ['-m', 'http.server', '--bind', '127.0.0.1', '--directory', root, String(port)]);
  const url = `http://127.0.0.1:${port}/simple/`;
  await server.waitReady(async () => (await fetch(url).catch(() => undefined))?.ok === true, 'the wheel index');
  return { url, stop: () => server.stop() };
}
