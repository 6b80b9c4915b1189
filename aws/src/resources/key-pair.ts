import { constants as fsConstants } from 'node:fs';
import { access, chmod, writeFile } from 'node:fs/promises';
import { CreateKeyPairCommand, DescribeKeyPairsCommand, type EC2Client } from '@aws-sdk/client-ec2';
import { KatapultError } from '@katapult/core';
import { awsCall, ec2Operation as ec2 } from '../aws-errors.js';
import { ownerTags, resourceName, tagSpecifications, type Owner } from '../tags.js';

export interface KeyPairFiles {
  exists(path: string): Promise<boolean>;
  /** Writes a new file only (never over one), mode 0600. */
  writePrivate(path: string, content: string): Promise<void>;
}

export const nodeKeyPairFiles: KeyPairFiles = {
  exists: (path) =>
    access(path, fsConstants.F_OK).then(
      () => true,
      () => false,
    ),
  async writePrivate(path, content) {
    await writeFile(path, content, { mode: 0o600, flag: 'wx' });
    await chmod(path, 0o600);
  },
};

/**
 * An optional key pair for SSH (`katapult-<project>`, ed25519), tagged. Its private key exists only in the file
 * written when it is created, mode 0600; a key pair whose file is gone is an error (AWS cannot give the key again).
 */
export async function ensureKeyPair(
  client: EC2Client,
  owner: Owner,
  file: string,
  files: KeyPairFiles = nodeKeyPairFiles,
): Promise<string> {
  const name = resourceName(owner.project);
  const found = await awsCall(ec2('DescribeKeyPairs'), () =>
    client.send(new DescribeKeyPairsCommand({ Filters: [{ Name: 'key-name', Values: [name] }] })),
  );
  if (found.KeyPairs?.length) {
    if (!(await files.exists(file))) {
      throw new KatapultError('KP_AWS_KEY_FILE', `the key pair ${name} exists but its private key file ${file} does not`, {
        hint: 'point to the file written when it was created, or remove the key pair (katapult down) to make a new one',
      });
    }
    return name;
  }
  if (await files.exists(file)) {
    throw new KatapultError('KP_AWS_KEY_FILE', `${file} exists: it would be overwritten by the new key pair ${name}'s private key`, {
      hint: 'move it away or name another file',
    });
  }
  const created = await awsCall(ec2('CreateKeyPair'), () =>
    client.send(
      new CreateKeyPairCommand({
        KeyName: name,
        KeyType: 'ed25519',
        KeyFormat: 'pem',
        TagSpecifications: tagSpecifications(['key-pair'], ownerTags(owner, { Name: name })),
      }),
    ),
  );
  await files.writePrivate(file, created.KeyMaterial ?? '');
  return name;
}
