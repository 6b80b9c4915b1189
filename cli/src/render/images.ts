import type { EnvironmentImageInfo } from '@katapult/images';
import { formatBytes, renderTable } from './table.js';

/** What `images ls` prints: one row per image, newest first as listed, its creation time to the second. */
export function renderImages(images: readonly EnvironmentImageInfo[]): string {
  return renderTable(
    ['TAG', 'ENVIRONMENT', 'SIZE', 'CREATED'],
    images.map((image) => [
      image.tag,
      image.environment ?? '-',
      formatBytes(image.size),
      image.created?.slice(0, 19).replace('T', ' ') ?? '-',
    ]),
  );
}
