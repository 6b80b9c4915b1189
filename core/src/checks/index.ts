// The checks of what Katapult reads back (state files, KV records, HTTP answers), with typebox and nothing else of
// core's heavy half: the launcher loads this only once it has a file to check, so a quick command stays quick.
export * from './read-back.js';
export * from './state-files.js';
export * from './kv-records.js';
export * from './api-answers.js';
