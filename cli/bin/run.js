#!/usr/bin/env node
// oclif checks on import that Node satisfies its own `engines` (loading semver for it): a fifth of a command's
// start. Katapult's package states its Node version itself.
process.env.OCLIF_DISABLE_ENGINE_WARNING ??= '1';
const { execute } = await import('@oclif/core');

await execute({ dir: import.meta.url });
