/** `<account>.dkr.ecr[-fips].<region>.amazonaws.com[.cn]`: the hosts whose pulls need an ECR token. */
const ECR_HOST = /^\d{12}\.dkr\.ecr(?:-fips)?\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?$/;

/** The registry host of an ECR image reference, or undefined for any other registry. */
export function ecrRegistryHost(image: string): string | undefined {
  const host = image.split('/')[0] ?? '';
  return ECR_HOST.test(host) ? host : undefined;
}

/** The region of an ECR registry host (its token must be asked for there), or undefined for any other host. */
export function ecrRegion(host: string): string | undefined {
  return ECR_HOST.exec(host)?.[1];
}

/** Dot-separated labels of letters, digits and inner hyphens: a name a certificate can bear (the maestro's). */
export function isDnsName(name: string): boolean {
  return /^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*$/.test(name);
}
