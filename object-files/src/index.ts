// Files in a NATS object store bucket, or on a subject of their own, as streams, at disk speed and in a few MiB of memory whatever their size.
export { putObject, type PutObjectOptions } from './put-object.js';
export { getObject, type ObjectRead } from './get-object.js';
export { bucketStream, chunkSubject, metaSubject } from './subjects.js';
export { getSubjectFile, putSubjectFile, type SubjectFileInfo } from './subject-file.js';
