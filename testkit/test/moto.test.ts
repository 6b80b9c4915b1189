import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { portOpen, requireDocker, startMoto, type MotoServer } from '../src/index.js';

const containerExists = (name: string) =>
  execFileSync('docker', ['ps', '-aq', '--filter', `name=^${name}$`], { encoding: 'utf8' }).trim() !== '';

describe('testkit moto', () => {
  let a: MotoServer;
  let b: MotoServer;
  beforeAll(async () => {
    await requireDocker();
    // Two at once: the image is bootstrapped once (the first time on this machine), under a lock.
    [a, b] = await Promise.all([startMoto(), startMoto()]);
    const seconds = a.image.seconds ?? b.image.seconds;
    if (seconds !== undefined) console.log(`moto image ${a.image.ref} bootstrapped in ${seconds.toFixed(1)} s`);
  });
  afterAll(async () => {
    await a?.stop();
    await b?.stop();
  });

  it('runs two servers from one image, each answering EC2 on its own port, and stops them with their containers', async () => {
    expect(a.image.ref).toBe(b.image.ref);
    expect(a.image.ref).toMatch(/^katapult\/moto:[0-9a-f]{12}$/);
    expect([a.image.source, b.image.source].filter((source) => source === 'bootstrapped').length).toBeLessThanOrEqual(1);
    expect(a.port).not.toBe(b.port);
    expect([containerExists(a.container), containerExists(b.container)]).toEqual([true, true]);

    const response = await fetch(a.url, {
      method: 'POST',
      headers: {
        'Content-Type': 'application/x-www-form-urlencoded',
        // moto routes by the service the signature names (it does not check the signature).
        Authorization: 'AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260101/eu-west-3/ec2/aws4_request, SignedHeaders=host, Signature=0',
      },
      body: 'Action=DescribeRegions&Version=2016-11-15',
    });
    expect(response.status).toBe(200);
    expect(await response.text()).toContain('<regionName>eu-west-3</regionName>');

    await a.stop();
    await b.stop();
    expect([await portOpen(a.port), await portOpen(b.port)]).toEqual([false, false]);
    expect([containerExists(a.container), containerExists(b.container)]).toEqual([false, false]);
  });
});
