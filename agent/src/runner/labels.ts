export { LABELS } from '@katapult/core';
