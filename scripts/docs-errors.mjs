// Writes docs/ERRORS.md from core's error catalogue (core must be built: pnpm run docs:errors builds it first).
import { writeFileSync } from 'node:fs';
import { renderErrorsDoc } from '../core/dist/light.js';

const target = new URL('../docs/ERRORS.md', import.meta.url);
writeFileSync(target, renderErrorsDoc());
console.log(`wrote ${target.pathname}`);
