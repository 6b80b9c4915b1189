// Files in a NATS object store bucket, or on a subject of their own, as streams, at disk speed and in a few MiB of memory whatever their size.
export { ContentChangedError, putNamedByContent, putObject, type PutObjectOptions } from './put-object.js';
export { contentName, digestOfContentName, objectDigest } from './digest.js';
export { checkedObjectBytes, getObject, type ObjectRead } from './get-object.js';
export { bucketStream, chunkSubject, metaSubject } from './subjects.js';
export { getSubjectFile, putSubjectFile, subjectFileBytes, type FileMessage, type SubjectFileInfo } from './subject-file.js';
export {
  grantedMessages,
  grantObjectRead,
  grantSubjectRead,
  readGrantedObject,
  readGrantedSubjectFile,
  type ReadGrant,
  type Regrant,
} from './read-grant.js';
