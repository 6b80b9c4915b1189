import { describe, expect, it } from 'vitest';
import { attemptContext, maskSecrets, openSecrets, runContext, sealSecrets, secretsKey } from '../src/index.js';

describe('sealed secrets', () => {
  const key = secretsKey('an agent password of 48 hex digits, as NATS users get', 'agent');
  const values = { API_KEY: 'kp-0123456789abcdef', EMPTY: '' };

  it('opens only under the same key and context, and holds no value in readable form', () => {
    const sealed = sealSecrets(values, key, attemptContext('r-1', 'job', 2));
    expect(sealed).toMatch(/^ks1\.[\w-]+\.[\w-]+$/);
    expect(sealed).not.toContain('kp-0123');
    expect(Buffer.from(sealed.split('.')[2]!, 'base64url').toString('latin1')).not.toContain('kp-0123');
    expect(openSecrets(sealed, key, attemptContext('r-1', 'job', 2))).toEqual(values);
    // Another attempt, job, or run's context; another agent's key; the run key of the same secret: none opens it.
    expect(openSecrets(sealed, key, attemptContext('r-1', 'job', 3))).toBeUndefined();
    expect(openSecrets(sealed, key, runContext('r-1'))).toBeUndefined();
    expect(openSecrets(sealed, secretsKey('another agent password', 'agent'), attemptContext('r-1', 'job', 2))).toBeUndefined();
    expect(
      openSecrets(sealed, secretsKey('an agent password of 48 hex digits, as NATS users get', 'run'), attemptContext('r-1', 'job', 2)),
    ).toBeUndefined();
    // A character in the middle changed: all of its bits are data (the last ones may be base64 padding bits).
    const middle = Math.floor(sealed.length / 2);
    const tampered = `${sealed.slice(0, middle)}${sealed[middle] === 'A' ? 'B' : 'A'}${sealed.slice(middle + 1)}`;
    expect(tampered).not.toBe(sealed);
    expect(openSecrets(tampered, key, attemptContext('r-1', 'job', 2))).toBeUndefined();
    expect(openSecrets('not sealed', key, 'x')).toBeUndefined();
  });

  it('two seals of the same values differ (a fresh nonce each time)', () => {
    expect(sealSecrets(values, key, 'c')).not.toBe(sealSecrets(values, key, 'c'));
  });

  it('masks every value in a line of output, the longest first, and leaves values too short to matter', () => {
    expect(maskSecrets('key=kp-0123456789abcdef and again kp-0123456789abcdef', ['kp-0123456789abcdef'])).toBe('key=*** and again ***');
    expect(maskSecrets('token abcd-efgh', ['abcd', 'abcd-efgh'])).toBe('token ***');
    expect(maskSecrets('exit 1', ['1'])).toBe('exit 1');
  });
});
