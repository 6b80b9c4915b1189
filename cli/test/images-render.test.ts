import { describe, expect, it } from 'vitest';
import type { EnvironmentImageInfo } from '@katapult/images';
import { renderImages } from '../src/render/images.js';

const images: EnvironmentImageInfo[] = [
  {
    tag: '0f3c9a7be21d48c6a5e90b17',
    ref: '127.0.0.1:5000/katapult/env:0f3c9a7be21d48c6a5e90b17',
    digest: 'sha256:2b7c1f7d5c0e4a9d8f6b3a1e0c9d8b7a6f5e4d3c2b1a0f9e8d7c6b5a4f3e2d1c',
    size: 312_456_789,
    created: '2026-11-25T08:15:02.123456789Z',
    environment: 'science',
  },
  {
    tag: '9a1b2c3d4e5f60718293a4b5',
    ref: '127.0.0.1:5000/katapult/env:9a1b2c3d4e5f60718293a4b5',
    digest: 'sha256:9f8e7d6c5b4a39281706f5e4d3c2b1a09f8e7d6c5b4a39281706f5e4d3c2b1a0',
    size: 98_765,
    created: null,
    environment: null,
  },
];

describe('images ls', () => {
  it('one row per image: tag, environment, size and creation time to the second; "-" for what the registry does not say', () => {
    expect(renderImages(images)).toMatchInlineSnapshot(`
      "TAG                       ENVIRONMENT  SIZE     CREATED
      0f3c9a7be21d48c6a5e90b17  science      312.5MB  2026-11-25 08:15:02
      9a1b2c3d4e5f60718293a4b5  -            98.8kB   -"
    `);
  });

  it('a registry with no environment image prints the header alone', () => {
    expect(renderImages([])).toMatchInlineSnapshot(`"TAG  ENVIRONMENT  SIZE  CREATED"`);
  });
});
