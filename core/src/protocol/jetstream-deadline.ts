/**
 * How long a JetStream API request of the control path (stream and bucket setup, KV reads and writes, object store
 * uploads) may go unanswered before it fails. nats.js's default of 5 s was passed on this project's 2-core CI machine
 * when 20 commands started one stack at once, failing a launch with a bare "timeout"; a slow server is waited for,
 * and a dead one is still found by the connection itself.
 */
export const JETSTREAM_API_TIMEOUT_MS = 30_000;
