import { DescribeImagesCommand, DescribeInstanceTypesCommand, type EC2Client, type Image } from '@aws-sdk/client-ec2';
import { ExitCode, KatapultError } from '@katapult/core';
import { awsCall, ec2Operation as ec2 } from '../aws-errors.js';

/** Owner of the Debian cloud team's AMIs (debian-12-amd64-*, debian-12-arm64-*). */
export const DEBIAN_AMI_OWNER = '136693071363';

export interface ResolvedImage {
  imageId: string;
  rootDeviceName: string | undefined;
}

/** What EC2 says of an instance type: its architectures (for the AMI) and its vCPUs (for `cpus` and `explode`). */
export interface InstanceTypeInfo {
  architectures: string[];
  /** Undefined when EC2 does not say. */
  vcpus: number | undefined;
}

export async function describeInstanceType(client: EC2Client, instanceType: string): Promise<InstanceTypeInfo> {
  const types = await awsCall({ ...ec2('DescribeInstanceTypes'), instanceType }, () =>
    client.send(new DescribeInstanceTypesCommand({ InstanceTypes: [instanceType as never] })),
  );
  const found = types.InstanceTypes?.[0];
  return { architectures: found?.ProcessorInfo?.SupportedArchitectures ?? [], vcpus: found?.VCpuInfo?.DefaultVCpus };
}

/**
 * `img_id` as given (checked to exist, for its root device name), or the latest Debian 12 AMI for the instance
 * type's architecture (arm64 for Graviton types, else x86_64). `key` is the config key errors tell to set.
 */
export async function resolveImage(
  client: EC2Client,
  imgId: string | null,
  instanceType: string,
  typeInfo?: InstanceTypeInfo,
  key = 'instances[].img_id',
): Promise<ResolvedImage> {
  if (imgId) {
    // EC2 answers an unknown id with InvalidAMIID.NotFound rather than an empty list.
    const found = await awsCall({ ...ec2('DescribeImages'), instanceType, imageKey: key }, () =>
      client.send(new DescribeImagesCommand({ ImageIds: [imgId] })),
    );
    const image = found.Images?.[0];
    if (!image?.ImageId) {
      throw new KatapultError('KP_AWS_IMAGE_NOT_FOUND', `EC2 DescribeImages: the AMI ${imgId} was not found`, {
        hint: `${key} must be an AMI of this region that the account can use; leave it out for the latest Debian 12`,
        exitCode: ExitCode.badInput,
      });
    }
    return { imageId: image.ImageId, rootDeviceName: image.RootDeviceName };
  }
  const { architectures } = typeInfo ?? (await describeInstanceType(client, instanceType));
  const arm = architectures.includes('arm64') && !architectures.includes('x86_64');
  const images = await awsCall(ec2('DescribeImages'), () =>
    client.send(
      new DescribeImagesCommand({
        Owners: [DEBIAN_AMI_OWNER],
        Filters: [
          { Name: 'name', Values: [`debian-12-${arm ? 'arm64' : 'amd64'}-*`] },
          { Name: 'architecture', Values: [arm ? 'arm64' : 'x86_64'] },
          { Name: 'state', Values: ['available'] },
          { Name: 'root-device-type', Values: ['ebs'] },
        ],
      }),
    ),
  );
  const latest = [...(images.Images ?? [])].sort((a: Image, b: Image) => (b.CreationDate ?? '').localeCompare(a.CreationDate ?? ''))[0];
  if (!latest?.ImageId) {
    throw new KatapultError('KP_AWS_IMAGE_NOT_FOUND', `no Debian 12 ${arm ? 'arm64' : 'amd64'} AMI found in this region`, {
      hint: `set ${key} to an AMI of this region`,
      exitCode: ExitCode.infrastructure,
    });
  }
  return { imageId: latest.ImageId, rootDeviceName: latest.RootDeviceName };
}
