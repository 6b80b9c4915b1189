import { createServer, type Server } from 'node:http';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  AuthorizeSecurityGroupIngressCommand,
  CreateKeyPairCommand,
  CreateSecurityGroupCommand,
  DescribeKeyPairsCommand,
  DescribeSecurityGroupsCommand,
  DescribeVpcsCommand,
  EC2Client,
} from '@aws-sdk/client-ec2';
import { GetRoleCommand } from '@aws-sdk/client-iam';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ensureKeyPair } from '../src/resources/key-pair.js';
import { ensureSecurityGroup } from '../src/resources/network.js';
import { awsClients } from '../src/clients.js';
import { ec2Error } from './aws-helpers.js';

const owner = { project: 'demo', runId: 'r-20261125-100000-abcd' };

describe('AWS resources', () => {
  const ec2 = mockClient(EC2Client);
  const client = () => new EC2Client({ region: 'eu-west-3', credentials: { accessKeyId: 'x', secretAccessKey: 'y' } });
  let dir: string;
  beforeEach(() => {
    ec2.reset();
    dir = mkdtempSync(join(tmpdir(), 'kp-key-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  // The endpoint test below needs the real clients.
  afterAll(() => ec2.restore());

  it('the security group has no inbound rule by default', async () => {
    ec2.on(DescribeSecurityGroupsCommand).resolves({ SecurityGroups: [] });
    ec2.on(CreateSecurityGroupCommand).resolves({ GroupId: 'sg-1' });
    expect(await ensureSecurityGroup(client(), owner, 'vpc-1')).toBe('sg-1');
    expect(ec2.commandCalls(AuthorizeSecurityGroupIngressCommand)).toHaveLength(0);
  });

  it('sshCidr opens port 22 to that range only; a rule already there is fine', async () => {
    ec2.on(DescribeSecurityGroupsCommand).resolves({ SecurityGroups: [{ GroupId: 'sg-1' }] });
    ec2.on(AuthorizeSecurityGroupIngressCommand).rejects(ec2Error('InvalidPermission.Duplicate', 'the specified rule already exists'));
    expect(await ensureSecurityGroup(client(), owner, 'vpc-1', '198.51.100.7/32')).toBe('sg-1');
    expect(ec2.commandCalls(AuthorizeSecurityGroupIngressCommand)[0]!.args[0].input).toEqual({
      GroupId: 'sg-1',
      IpPermissions: [
        { IpProtocol: 'tcp', FromPort: 22, ToPort: 22, IpRanges: [{ CidrIp: '198.51.100.7/32', Description: 'katapult: SSH' }] },
      ],
    });
  });

  it('a new key pair is tagged, and its private key written to a new file with mode 0600', async () => {
    ec2.on(DescribeKeyPairsCommand).resolves({ KeyPairs: [] });
    ec2
      .on(CreateKeyPairCommand)
      .resolves({ KeyName: 'katapult-demo', KeyMaterial: '-----BEGIN OPENSSH PRIVATE KEY-----\nabc\n-----END OPENSSH PRIVATE KEY-----\n' });
    const file = join(dir, 'katapult-demo.pem');
    expect(await ensureKeyPair(client(), owner, file)).toBe('katapult-demo');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readFileSync(file, 'utf8')).toContain('BEGIN OPENSSH PRIVATE KEY');
    expect(ec2.commandCalls(CreateKeyPairCommand)[0]!.args[0].input).toEqual({
      KeyName: 'katapult-demo',
      KeyType: 'ed25519',
      KeyFormat: 'pem',
      TagSpecifications: [
        {
          ResourceType: 'key-pair',
          Tags: [
            { Key: 'katapult:project', Value: 'demo' },
            { Key: 'katapult:run', Value: owner.runId },
            { Key: 'Name', Value: 'katapult-demo' },
          ],
        },
      ],
    });
  });

  it('never overwrites a file, and says when an existing key pair has lost its file', async () => {
    const file = join(dir, 'taken.pem');
    writeFileSync(file, 'mine');
    ec2.on(DescribeKeyPairsCommand).resolves({ KeyPairs: [] });
    await expect(ensureKeyPair(client(), owner, file)).rejects.toMatchObject({ code: 'KP_AWS_KEY_FILE' });
    expect(readFileSync(file, 'utf8')).toBe('mine');
    ec2.on(DescribeKeyPairsCommand).resolves({ KeyPairs: [{ KeyName: 'katapult-demo', KeyPairId: 'key-1' }] });
    await expect(ensureKeyPair(client(), owner, join(dir, 'gone.pem'))).rejects.toMatchObject({
      code: 'KP_AWS_KEY_FILE',
      message: `the key pair katapult-demo exists but its private key file ${join(dir, 'gone.pem')} does not`,
    });
    await expect(ensureKeyPair(client(), owner, file)).resolves.toBe('katapult-demo');
    expect(ec2.commandCalls(CreateKeyPairCommand)).toHaveLength(0);
  });
});

/**
 * The clients' endpoints are never fixed in the code: AWS_ENDPOINT_URL (and AWS_ENDPOINT_URL_EC2/_IAM) send
 * them elsewhere. Here, to a local HTTP server standing in for EC2 and IAM; no mock involved.
 */
describe('AWS endpoints', () => {
  let server: Server;
  const saved = { ...process.env };
  afterEach(async () => {
    process.env = { ...saved };
    await new Promise((resolve) => server.close(resolve));
  });

  it('follow AWS_ENDPOINT_URL_EC2 and AWS_ENDPOINT_URL_IAM', async () => {
    const seen: string[] = [];
    server = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk) => (body += chunk));
      request.on('end', () => {
        seen.push(`${request.headers.host?.split(':')[0]} ${new URLSearchParams(body).get('Action')}`);
        response.setHeader('content-type', 'text/xml');
        response.end(
          body.includes('DescribeVpcs')
            ? '<DescribeVpcsResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><vpcSet><item><vpcId>vpc-local</vpcId></item></vpcSet></DescribeVpcsResponse>'
            : '<GetRoleResponse><GetRoleResult><Role><RoleName>katapult-demo</RoleName></Role></GetRoleResult></GetRoleResponse>',
        );
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;
    process.env['AWS_ENDPOINT_URL_EC2'] = `http://127.0.0.1:${port}`;
    process.env['AWS_ENDPOINT_URL_IAM'] = `http://localhost:${port}`;
    process.env['AWS_ACCESS_KEY_ID'] = 'test';
    process.env['AWS_SECRET_ACCESS_KEY'] = 'test';
    const { ec2, iam } = awsClients({ region: 'eu-west-3' });
    expect((await ec2.send(new DescribeVpcsCommand({}))).Vpcs).toEqual([{ VpcId: 'vpc-local' }]);
    expect((await iam.send(new GetRoleCommand({ RoleName: 'katapult-demo' }))).Role?.RoleName).toBe('katapult-demo');
    expect(seen).toEqual(['127.0.0.1 DescribeVpcs', 'localhost GetRole']);
  });
});
