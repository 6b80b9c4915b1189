import { Base64UrlPaddedCodec } from '@nats-io/obj';

/** A SHA-256 hash as the object store writes digests: `SHA-256=<base64url, padded>`. */
export function objectDigest(sha256: Uint8Array): string {
  return `SHA-256=${Base64UrlPaddedCodec.encode(sha256)}`;
}

/** The name (`sha256-<hex>`) a file is stored under in the file store, and the digest its content must have. */
export function contentName(sha256: Uint8Array): { name: string; digest: string } {
  return { name: `sha256-${Buffer.from(sha256).toString('hex')}`, digest: objectDigest(sha256) };
}

/** The digest the content of an object named `sha256-<hex>` must have. */
export function digestOfContentName(name: string): string {
  return objectDigest(Buffer.from(name.replace(/^sha256-/, ''), 'hex'));
}
