import { Base64UrlPaddedCodec } from '@nats-io/obj';

// Where nats.js and the Go client keep an object: its chunks under a subject of their own, its description (the
// last message, rolled up) under one named after it. Writing the same layout keeps the bucket readable by both.
export const bucketStream = (bucket: string): string => `OBJ_${bucket}`;
export const chunkSubject = (bucket: string, nuid: string): string => `$O.${bucket}.C.${nuid}`;
export const metaSubject = (bucket: string, name: string): string => `$O.${bucket}.M.${Base64UrlPaddedCodec.encode(name)}`;
