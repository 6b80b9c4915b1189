import { describe, expect, it } from 'vitest';
import { ecrRegion, ecrRegistryHost } from '../src/index.js';

describe('registry hosts', () => {
  it('finds the ECR host of an image and its region, in every partition', () => {
    expect(ecrRegistryHost('123456789012.dkr.ecr.eu-west-3.amazonaws.com/katapult/env:abc')).toBe(
      '123456789012.dkr.ecr.eu-west-3.amazonaws.com',
    );
    expect(ecrRegion('123456789012.dkr.ecr.eu-west-3.amazonaws.com')).toBe('eu-west-3');
    expect(ecrRegion('123456789012.dkr.ecr-fips.us-gov-west-1.amazonaws.com')).toBe('us-gov-west-1');
    expect(ecrRegion('123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn')).toBe('cn-north-1');
  });

  it('leaves every other registry alone', () => {
    expect(ecrRegistryHost('127.0.0.1:5000/katapult/env:abc')).toBeUndefined();
    expect(ecrRegion('127.0.0.1:5000')).toBeUndefined();
    expect(ecrRegion('12345.dkr.ecr.eu-west-3.amazonaws.com')).toBeUndefined();
    expect(ecrRegion('123456789012.dkr.ecr.eu-west-3.amazonaws.com.evil.example')).toBeUndefined();
  });
});
