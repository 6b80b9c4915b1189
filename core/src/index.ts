// Everything core has. What needs no schema is in light.ts, which the CLI's quick commands import on its own.
export * from './light.js';
export { loadConfig } from './config/load.js';
export { jobFileReferences, type FileReference } from './config/file-references.js';
export { importPythonConfig, type ImportOptions, type ImportResult } from './config/import-python.js';
export { parsePythonConfig, type PyEntry, type PyValue } from './config/python-literal.js';
export { ConfigSchema } from './config/schema.js';
export * from './model/run-spec.js';
export * from './protocol/messages.js';
export * from './protocol/exec-messages.js';
export * from './protocol/api.js';
export * from './protocol/report-outputs.js';
export * from './protocol/read-grants.js';
export * from './checks/index.js';
