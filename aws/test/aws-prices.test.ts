import { DescribeSpotPriceHistoryCommand, EC2Client } from '@aws-sdk/client-ec2';
import { AccessDeniedException, GetProductsCommand, PricingClient } from '@aws-sdk/client-pricing';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { AwsPriceLookup, awsPriceLookup, currentSpotPrice, onDemandPrice } from '../src/prices.js';
import { ec2Error } from './aws-helpers.js';

/** AWS cannot be reached from here: Pricing and EC2 are aws-sdk-client-mock stubs, and every call is checked. */
const pricing = mockClient(PricingClient);
const ec2 = mockClient(EC2Client);
const credentials = { accessKeyId: 'x', secretAccessKey: 'y' };
const NOW = Date.parse('2026-11-25T10:00:00Z');

function lookup(region: string | null = 'eu-west-3', ec2Region: string | (() => Promise<string>) = 'eu-west-3') {
  return new AwsPriceLookup(
    { pricing: new PricingClient({ region: 'us-east-1', credentials }), ec2: new EC2Client({ region: ec2Region, credentials }) },
    { region, now: () => NOW },
  );
}

/** One entry of a GetProducts answer for t3.micro in eu-west-3, as AWS sends it (attributes trimmed), a JSON string. */
function product(options: { type?: string; operation?: string; usd?: string; sku?: string } = {}): string {
  const { type = 't3.micro', operation = 'RunInstances', usd = '0.0118000000', sku = 'XSPH8ZPTX6MFS38Y' } = options;
  return JSON.stringify({
    product: {
      productFamily: 'Compute Instance',
      attributes: {
        memory: '1 GiB',
        vcpu: '2',
        capacitystatus: 'Used',
        locationType: 'AWS Region',
        instanceFamily: 'General purpose',
        operatingSystem: 'Linux',
        regionCode: 'eu-west-3',
        servicename: 'Amazon Elastic Compute Cloud',
        instanceType: type,
        tenancy: 'Shared',
        usagetype: `EU3-BoxUsage:${type}`,
        servicecode: 'AmazonEC2',
        licenseModel: 'No License required',
        preInstalledSw: 'NA',
        location: 'EU (Paris)',
        marketoption: 'OnDemand',
        operation,
      },
      sku,
    },
    serviceCode: 'AmazonEC2',
    terms: {
      OnDemand: {
        [`${sku}.JRTCKXETXF`]: {
          priceDimensions: {
            [`${sku}.JRTCKXETXF.6YS6EN2CT7`]: {
              unit: 'Hrs',
              endRange: 'Inf',
              description: `$${Number(usd)} per On Demand Linux ${type} Instance Hour`,
              appliesTo: [],
              rateCode: `${sku}.JRTCKXETXF.6YS6EN2CT7`,
              beginRange: '0',
              pricePerUnit: { USD: usd },
            },
          },
          sku,
          effectiveDate: '2026-11-01T00:00:00Z',
          offerTermCode: 'JRTCKXETXF',
          termAttributes: {},
        },
      },
      Reserved: {
        [`${sku}.4NA7Y494T4`]: {
          priceDimensions: {
            [`${sku}.4NA7Y494T4.6YS6EN2CT7`]: {
              unit: 'Hrs',
              endRange: 'Inf',
              description: `Linux/UNIX (Amazon VPC), ${type} reserved instance applied`,
              appliesTo: [],
              rateCode: `${sku}.4NA7Y494T4.6YS6EN2CT7`,
              beginRange: '0',
              pricePerUnit: { USD: '0.0074000000' },
            },
          },
          sku,
          effectiveDate: '2026-11-01T00:00:00Z',
          offerTermCode: '4NA7Y494T4',
          termAttributes: { LeaseContractLength: '1yr', OfferingClass: 'standard', PurchaseOption: 'No Upfront' },
        },
      },
    },
    version: '20261120213845',
    publicationDate: '2026-11-20T21:38:45Z',
  });
}

const spot = (zone: string, price: string, at: string) => ({
  AvailabilityZone: zone,
  InstanceType: 'c5.xlarge' as const,
  ProductDescription: 'Linux/UNIX' as const,
  SpotPrice: price,
  Timestamp: new Date(at),
});

beforeEach(() => {
  pricing.reset();
  ec2.reset();
});

describe('on-demand prices (Price List API)', () => {
  it('asks GetProducts for the Linux, shared, no-software, used-capacity product of the type in the region, and reads its hourly USD price', async () => {
    pricing.on(GetProductsCommand).resolves({ FormatVersion: 'aws_v1', PriceList: [product()] });
    await expect(lookup().price('t3.micro', 'on-demand')).resolves.toBe(0.0118);
    expect(pricing.commandCalls(GetProductsCommand).map((call) => call.args[0].input)).toEqual([
      {
        ServiceCode: 'AmazonEC2',
        FormatVersion: 'aws_v1',
        Filters: [
          { Type: 'TERM_MATCH', Field: 'instanceType', Value: 't3.micro' },
          { Type: 'TERM_MATCH', Field: 'regionCode', Value: 'eu-west-3' },
          { Type: 'TERM_MATCH', Field: 'operatingSystem', Value: 'Linux' },
          { Type: 'TERM_MATCH', Field: 'tenancy', Value: 'Shared' },
          { Type: 'TERM_MATCH', Field: 'preInstalledSw', Value: 'NA' },
          { Type: 'TERM_MATCH', Field: 'capacitystatus', Value: 'Used' },
        ],
        MaxResults: 10,
      },
    ]);
    expect(ec2.calls()).toHaveLength(0);
  });

  it("the Pricing client works in us-east-1 whatever the instances' region", async () => {
    pricing.on(GetProductsCommand).resolves({ PriceList: [product()] });
    const real = awsPriceLookup({ region: 'eu-west-3', profile: null });
    await real.price('t3.micro', 'on-demand');
    const client = pricing.commandCalls(GetProductsCommand)[0]!.thisValue as PricingClient;
    await expect(client.config.region()).resolves.toBe('us-east-1');
  });

  it('prefers the plain RunInstances product, skips zero prices and other types', () => {
    const list = [
      product({ type: 't3.small', usd: '0.0236000000' }),
      product({ operation: 'RunInstances:0004', usd: '0.0500000000' }),
      product({ usd: '0.0000000000', sku: 'ZERO' }),
      product(),
    ];
    expect(onDemandPrice(list, 't3.micro')).toBe(0.0118);
    expect(onDemandPrice(['not json', product({ type: 't3.small' })], 't3.micro')).toBeUndefined();
  });

  it('takes the region from the EC2 client when no instances entry names one', async () => {
    pricing.on(GetProductsCommand).resolves({ PriceList: [product()] });
    await lookup(null, 'eu-west-3').price('t3.micro', 'on-demand');
    expect(pricing.commandCalls(GetProductsCommand)[0]!.args[0].input.Filters).toContainEqual({
      Type: 'TERM_MATCH',
      Field: 'regionCode',
      Value: 'eu-west-3',
    });
  });
});

describe('spot prices (EC2 DescribeSpotPriceHistory)', () => {
  it("asks for the current Linux/UNIX price of the type and takes the highest of the zones' latest", async () => {
    ec2.on(DescribeSpotPriceHistoryCommand).resolves({
      SpotPriceHistory: [
        spot('eu-west-3a', '0.071200', '2026-11-25T09:58:00Z'),
        spot('eu-west-3b', '0.069800', '2026-11-25T09:41:00Z'),
        spot('eu-west-3a', '0.090000', '2026-11-25T07:00:00Z'),
        spot('eu-west-3c', '0.068800', '2026-11-25T09:12:00Z'),
      ],
    });
    await expect(lookup().price('c5.xlarge', 'spot')).resolves.toBe(0.0712);
    expect(ec2.commandCalls(DescribeSpotPriceHistoryCommand).map((call) => call.args[0].input)).toEqual([
      { InstanceTypes: ['c5.xlarge'], ProductDescriptions: ['Linux/UNIX'], StartTime: new Date(NOW) },
    ]);
    expect(pricing.calls()).toHaveLength(0);
  });

  it('no zone with a price: none', () => {
    expect(currentSpotPrice([])).toBeUndefined();
    expect(currentSpotPrice([{ AvailabilityZone: 'eu-west-3a', SpotPrice: 'n/a' }])).toBeUndefined();
  });
});

describe('one lookup per type and market', () => {
  it('answers, failures included, are kept for the launch', async () => {
    pricing.on(GetProductsCommand).resolves({ PriceList: [product()] });
    ec2.on(DescribeSpotPriceHistoryCommand).rejects(ec2Error('UnauthorizedOperation', 'You are not authorized to perform this operation.'));
    const prices = lookup();
    for (let i = 0; i < 3; i++) {
      await expect(prices.price('t3.micro', 'on-demand')).resolves.toBe(0.0118);
      await expect(prices.price('t3.micro', 'spot')).rejects.toThrow();
    }
    expect(pricing.commandCalls(GetProductsCommand)).toHaveLength(1);
    expect(ec2.commandCalls(DescribeSpotPriceHistoryCommand)).toHaveLength(1);
  });
});

describe('failures: one line saying why', () => {
  it('no credentials', async () => {
    const missing = Object.assign(new Error('Could not load credentials from any providers'), { name: 'CredentialsProviderError' });
    pricing.on(GetProductsCommand).rejects(missing);
    await expect(lookup().price('t3.micro', 'on-demand')).rejects.toThrow('Pricing GetProducts: no AWS credentials found');
  });

  it('no permission, for each API', async () => {
    pricing.on(GetProductsCommand).rejects(
      new AccessDeniedException({
        message: 'User: arn:aws:iam::123456789012:user/ci is not authorized to perform: pricing:GetProducts',
        $metadata: {},
      }),
    );
    ec2
      .on(DescribeSpotPriceHistoryCommand)
      .rejects(
        ec2Error(
          'UnauthorizedOperation',
          'You are not authorized to perform this operation. Encoded authorization failure message: AbC123',
        ),
      );
    await expect(lookup().price('t3.micro', 'on-demand')).rejects.toThrow(
      'Pricing GetProducts: the credentials may not use pricing:GetProducts (AccessDeniedException)',
    );
    await expect(lookup().price('t3.micro', 'spot')).rejects.toThrow(
      'EC2 DescribeSpotPriceHistory: the credentials may not use ec2:DescribeSpotPriceHistory (UnauthorizedOperation)',
    );
  });

  it('an unknown type: no product, no spot price, or EC2 refusing it', async () => {
    pricing.on(GetProductsCommand).resolves({ FormatVersion: 'aws_v1', PriceList: [] });
    ec2
      .on(DescribeSpotPriceHistoryCommand)
      .resolvesOnce({ SpotPriceHistory: [] })
      .rejectsOnce(ec2Error('InvalidParameterValue', 'Value (t9.huge) for parameter instanceType is invalid.'));
    await expect(lookup().price('t9.huge', 'on-demand')).rejects.toThrow(
      'no Linux on-demand price for t9.huge in eu-west-3 (is it an EC2 instance type offered there?)',
    );
    await expect(lookup().price('t9.huge', 'spot')).rejects.toThrow('no Linux/UNIX spot price for t9.huge in eu-west-3');
    await expect(lookup().price('t9.huge', 'spot')).rejects.toThrow(
      'EC2 DescribeSpotPriceHistory: InvalidParameterValue: Value (t9.huge) for parameter instanceType is invalid.',
    );
  });

  it('no region anywhere', async () => {
    const noRegion = lookup(null, () => Promise.reject(new Error('Region is missing')));
    await expect(noRegion.price('t3.micro', 'on-demand')).rejects.toThrow(
      "no AWS region: set instances[].region, AWS_REGION or the profile's region",
    );
    expect(pricing.calls()).toHaveLength(0);
  });
});
