import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { freePort, startMetadataServer, waitFor, type MetadataServer } from '@katapult/testkit';
import { InterruptionWatch, parseInstanceAction, type SpotNotice } from '../src/index.js';

describe('reading the spot instance action', () => {
  it('is no notice on 404, a notice on 200', () => {
    expect(parseInstanceAction(404, '<html>Not Found</html>')).toBeNull();
    expect(parseInstanceAction(200, '{"action": "terminate", "time": "2026-11-25T10:00:00Z"}')).toEqual({
      action: 'terminate',
      time: '2026-11-25T10:00:00Z',
    });
    expect(parseInstanceAction(200, '{"action":"stop"}')).toEqual({ action: 'stop' });
    expect(parseInstanceAction(200, '{"action":"hibernate","time":"2026-11-25T10:00:00Z","extra":1}')).toMatchObject({
      action: 'hibernate',
    });
  });

  it('refuses other statuses and a 200 that is not what AWS sends', () => {
    expect(() => parseInstanceAction(401, '')).toThrow('answered 401');
    expect(() => parseInstanceAction(500, 'oops')).toThrow('answered 500');
    expect(() => parseInstanceAction(200, '<html>welcome</html>')).toThrow('not JSON');
    expect(() => parseInstanceAction(200, '{"time":"2026-11-25T10:00:00Z"}')).toThrow('has no action');
    expect(() => parseInstanceAction(200, '"terminate"')).toThrow('has no action');
    expect(() => parseInstanceAction(200, 'null')).toThrow('has no action');
  });
});

describe('spot interruption watch, against the metadata stand-in', () => {
  let metadata: MetadataServer;
  let watch: InterruptionWatch | undefined;
  beforeEach(async () => {
    metadata = await startMetadataServer();
  });
  afterEach(async () => {
    watch?.stop();
    watch = undefined;
    await metadata.stop();
  });

  const watching = (baseUrl: string, lines: string[] = []) => {
    const notices: SpotNotice[] = [];
    watch = new InterruptionWatch({ baseUrl, pollMs: 50, onNotice: (notice) => notices.push(notice), log: (line) => lines.push(line) });
    return notices;
  };

  it('the stand-in wants a session token on every metadata read', async () => {
    const action = `${metadata.url}/latest/meta-data/spot/instance-action`;
    expect((await fetch(action)).status).toBe(401);
    expect((await fetch(action, { headers: { 'X-aws-ec2-metadata-token': 'made-up' } })).status).toBe(401);
    expect((await fetch(`${metadata.url}/latest/api/token`, { method: 'PUT' })).status).toBe(400);
    const token = await (
      await fetch(`${metadata.url}/latest/api/token`, { method: 'PUT', headers: { 'X-aws-ec2-metadata-token-ttl-seconds': '21600' } })
    ).text();
    expect((await fetch(action, { headers: { 'X-aws-ec2-metadata-token': token } })).status).toBe(404);
    metadata.interrupt('stop');
    const answer = await fetch(action, { headers: { 'X-aws-ec2-metadata-token': token } });
    expect(answer.status).toBe(200);
    expect(await answer.json()).toMatchObject({ action: 'stop', time: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/) });
  });

  it('sees nothing while there is no notice, then fires once when there is, and stops polling', async () => {
    const notices = watching(metadata.url);
    watch!.start();
    await waitFor(() => metadata.requests('GET /latest/meta-data/spot/instance-action') >= 5, { what: 'five checks' });
    expect(notices).toEqual([]);
    // One session token serves every check.
    expect(metadata.requests('PUT /latest/api/token')).toBe(1);

    metadata.interrupt();
    await waitFor(() => notices.length > 0, { what: 'the notice' });
    const checks = metadata.requests('GET /latest/meta-data/spot/instance-action');
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(notices).toEqual([{ action: 'terminate', time: expect.any(String) }]);
    expect(metadata.requests('GET /latest/meta-data/spot/instance-action')).toBe(checks);
  });

  it('asks for a new token when the one it has is refused', async () => {
    const notices = watching(metadata.url);
    expect(await watch!.check()).toBeNull();
    metadata.expireTokens();
    metadata.interrupt();
    expect(await watch!.check()).toMatchObject({ action: 'terminate' });
    expect(metadata.requests('PUT /latest/api/token')).toBe(2);
    expect(notices).toEqual([]); // check() only reads; the callback is for start()
  });

  it('keeps going quietly without a metadata service, logging that once', async () => {
    const lines: string[] = [];
    const port = await freePort(); // nothing listens there
    const notices = watching(`http://127.0.0.1:${port}`, lines);
    watch!.start();
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(notices).toEqual([]);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(`cannot read spot interruption notices from http://127.0.0.1:${port}`);
  });

  it('stops when told, with no notice', async () => {
    const notices = watching(metadata.url);
    watch!.start();
    await waitFor(() => metadata.requests('GET /latest/meta-data/spot/instance-action') >= 1, { what: 'a check' });
    watch!.stop();
    const checks = metadata.requests('GET /latest/meta-data/spot/instance-action');
    metadata.interrupt();
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(metadata.requests('GET /latest/meta-data/spot/instance-action')).toBe(checks);
    expect(notices).toEqual([]);
  });
});
