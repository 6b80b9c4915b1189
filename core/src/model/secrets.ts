import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';

/**
 * Secrets (`secrets:`) are stored and sent only sealed: AES-256-GCM under a key derived (HKDF-SHA256) from a
 * secret the two ends already share, bound to what they are for (`context`, authenticated but not secret), so
 * a sealed value copied to another run, job or attempt does not open. The coordinator keeps a run's values
 * under a key from its API token; each attempt's are sealed for its agent under a key from that agent's own
 * NATS password, so the JetStream files hold no value in readable form and no other agent can open them.
 */
const VERSION = 'ks1';

export function secretsKey(sharedSecret: string, purpose: 'run' | 'agent'): Buffer {
  return Buffer.from(hkdfSync('sha256', sharedSecret, 'katapult-secrets', `katapult ${purpose} secrets v1`, 32));
}

export function sealSecrets(values: Readonly<Record<string, string>>, key: Buffer, context: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(context));
  const body = Buffer.concat([cipher.update(JSON.stringify(values), 'utf8'), cipher.final(), cipher.getAuthTag()]);
  return `${VERSION}.${iv.toString('base64url')}.${body.toString('base64url')}`;
}

/** The values, or undefined when `sealed` was not sealed under this key for this context (or was tampered with). */
export function openSecrets(sealed: string, key: Buffer, context: string): Record<string, string> | undefined {
  const [version, iv, body] = sealed.split('.');
  if (version !== VERSION || !iv || !body) return undefined;
  try {
    const bytes = Buffer.from(body, 'base64url');
    const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'));
    decipher.setAAD(Buffer.from(context));
    decipher.setAuthTag(bytes.subarray(bytes.length - 16));
    const text = Buffer.concat([decipher.update(bytes.subarray(0, bytes.length - 16)), decipher.final()]).toString('utf8');
    const values = JSON.parse(text) as unknown;
    if (values === null || typeof values !== 'object' || Array.isArray(values)) return undefined;
    return Object.fromEntries(Object.entries(values).filter((entry): entry is [string, string] => typeof entry[1] === 'string'));
  } catch {
    return undefined;
  }
}

/** What an attempt's sealed secrets are bound to. */
export const attemptContext = (runId: string, jobId: string, attempt: number) => `attempt ${runId}/${jobId}/${attempt}`;
export const runContext = (runId: string) => `run ${runId}`;

/**
 * A line of a job's output with every secret value in it masked, as CI systems do: a job that prints its token
 * by mistake does not put it in the log stream. Values shorter than 4 characters are left: masking every "1"
 * would garble the log and hide nothing.
 */
export function maskSecrets(text: string, values: readonly string[]): string {
  let masked = text;
  // Longest first: a value that contains another is masked whole.
  for (const value of [...values].sort((a, b) => b.length - a.length)) if (value.length >= 4) masked = masked.split(value).join('***');
  return masked;
}
