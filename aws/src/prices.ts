import { DescribeSpotPriceHistoryCommand, EC2Client, type DescribeSpotPriceHistoryCommandInput, type SpotPrice } from '@aws-sdk/client-ec2';
import { GetProductsCommand, PricingClient, type Filter } from '@aws-sdk/client-pricing';
import { quietAwsSdk, type Market, type PriceLookup } from '@katapult/core';
import { errorName } from './aws-errors.js';

/** The Price List API answers from us-east-1 whatever region is priced. */
export const PRICING_REGION = 'us-east-1';

export interface PriceClients {
  pricing: PricingClient;
  ec2: EC2Client;
}

export interface PriceLookupOptions {
  /** The instances' region; null: the EC2 client's (the profile's or AWS_REGION). */
  region: string | null;
  now?: () => number;
}

/**
 * Hourly Linux prices of EC2 instance types: on-demand from the Price List API (GetProducts), spot from the
 * region's current spot prices (DescribeSpotPriceHistory). Each answer, a failure included, is kept for the
 * lookup's life, so a launch asks AWS once per type and market. A failure rejects with a one-line reason.
 */
export class AwsPriceLookup implements PriceLookup {
  private readonly cache = new Map<string, Promise<number>>();
  private regionCode: Promise<string> | undefined;

  constructor(
    private readonly clients: PriceClients,
    private readonly options: PriceLookupOptions,
  ) {}

  price(type: string, market: Market): Promise<number> {
    const key = `${market} ${type}`;
    let cached = this.cache.get(key);
    if (!cached) {
      cached = market === 'spot' ? this.spot(type) : this.onDemand(type);
      // A rejection is an answer too; this keeps Node from reporting it before a caller looks.
      cached.catch(() => undefined);
      this.cache.set(key, cached);
    }
    return cached;
  }

  private async onDemand(type: string): Promise<number> {
    const region = await this.region();
    const answer = await this.call('Pricing GetProducts', 'pricing:GetProducts', () =>
      this.clients.pricing.send(new GetProductsCommand(getProductsInput(type, region))),
    );
    const price = onDemandPrice(answer.PriceList ?? [], type);
    if (price === undefined)
      throw new Error(`no Linux on-demand price for ${type} in ${region} (is it an EC2 instance type offered there?)`);
    return price;
  }

  private async spot(type: string): Promise<number> {
    const region = await this.region();
    const input = spotPriceInput(type, new Date((this.options.now ?? Date.now)()));
    const answer = await this.call('EC2 DescribeSpotPriceHistory', 'ec2:DescribeSpotPriceHistory', () =>
      this.clients.ec2.send(new DescribeSpotPriceHistoryCommand(input)),
    );
    const price = currentSpotPrice(answer.SpotPriceHistory ?? []);
    if (price === undefined)
      throw new Error(`no Linux/UNIX spot price for ${type} in ${region} (is it an EC2 instance type offered there?)`);
    return price;
  }

  private region(): Promise<string> {
    this.regionCode ??= (async () => {
      if (this.options.region) return this.options.region;
      try {
        return await this.clients.ec2.config.region();
      } catch {
        throw new Error("no AWS region: set instances[].region, AWS_REGION or the profile's region");
      }
    })();
    return this.regionCode;
  }

  private async call<T>(call: string, action: string, work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      throw new Error(failureReason(error, call, action), { cause: error });
    }
  }
}

/** Clients with no endpoint set: AWS_ENDPOINT_URL(_PRICING, _EC2) or the profile's `endpoint_url` apply. */
export function awsPriceLookup(options: { region: string | null; profile: string | null }): AwsPriceLookup {
  quietAwsSdk();
  const common = {
    ...(options.profile ? { profile: options.profile } : {}),
    // An estimate is not worth waiting for: a silent network gives up quickly rather than hanging the launch.
    maxAttempts: 2,
    requestHandler: { connectionTimeout: 5_000, requestTimeout: 10_000 },
  };
  return new AwsPriceLookup(
    {
      pricing: new PricingClient({ ...common, region: PRICING_REGION }),
      ec2: new EC2Client({ ...common, ...(options.region ? { region: options.region } : {}) }),
    },
    { region: options.region },
  );
}

/** The on-demand Linux product of a type in a region: shared tenancy, no pre-installed software, not a reservation. */
export function getProductsInput(type: string, region: string) {
  const match = (Field: string, Value: string): Filter => ({ Type: 'TERM_MATCH', Field, Value });
  return {
    ServiceCode: 'AmazonEC2',
    FormatVersion: 'aws_v1',
    Filters: [
      match('instanceType', type),
      match('regionCode', region),
      match('operatingSystem', 'Linux'),
      match('tenancy', 'Shared'),
      match('preInstalledSw', 'NA'),
      match('capacitystatus', 'Used'),
    ],
    MaxResults: 10,
  };
}

/** With StartTime now, AWS gives each availability zone's current price. */
export function spotPriceInput(type: string, now: Date): DescribeSpotPriceHistoryCommandInput {
  return {
    InstanceTypes: [type as NonNullable<DescribeSpotPriceHistoryCommandInput['InstanceTypes']>[number]],
    ProductDescriptions: ['Linux/UNIX'],
    StartTime: now,
  };
}

/**
 * The hourly USD price in a GetProducts answer: each entry is a product's JSON, whose terms.OnDemand offers hold
 * priceDimensions with pricePerUnit.USD. The plain RunInstances product is preferred when several match.
 */
export function onDemandPrice(priceList: readonly unknown[], type: string): number | undefined {
  const products = priceList.map(parseEntry).filter((product) => product.product?.attributes?.instanceType === type);
  products.sort(
    (a, b) => Number(b.product?.attributes?.operation === 'RunInstances') - Number(a.product?.attributes?.operation === 'RunInstances'),
  );
  for (const product of products) {
    for (const offer of Object.values(product.terms?.OnDemand ?? {})) {
      for (const dimension of Object.values(offer.priceDimensions ?? {})) {
        const usd = Number(dimension.pricePerUnit?.USD);
        // Zero-priced dimensions are reservations' and unused capacity's, not a running instance's.
        if (dimension.unit === 'Hrs' && Number.isFinite(usd) && usd > 0) return usd;
      }
    }
  }
  return undefined;
}

/** The highest of the zones' latest prices: the subnet's zone is not known here, and an estimate should not read low. */
export function currentSpotPrice(history: readonly SpotPrice[]): number | undefined {
  const latest = new Map<string, SpotPrice>();
  for (const entry of history) {
    const zone = entry.AvailabilityZone ?? '';
    const seen = latest.get(zone);
    if (!seen || (entry.Timestamp?.getTime() ?? 0) > (seen.Timestamp?.getTime() ?? 0)) latest.set(zone, entry);
  }
  const prices = [...latest.values()].map((entry) => Number(entry.SpotPrice)).filter((price) => Number.isFinite(price) && price > 0);
  return prices.length === 0 ? undefined : Math.max(...prices);
}

interface PriceListProduct {
  product?: { attributes?: Record<string, string | undefined> };
  terms?: { OnDemand?: Record<string, { priceDimensions?: Record<string, { unit?: string; pricePerUnit?: { USD?: string } }> }> };
}

/** The SDK gives each product as a JSON string (or a lazy JSON value whose text is the same). */
function parseEntry(entry: unknown): PriceListProduct {
  try {
    const parsed: unknown =
      typeof entry === 'string'
        ? JSON.parse(entry)
        : entry !== null && typeof entry === 'object' && !('terms' in entry)
          ? JSON.parse(String(entry))
          : entry;
    return parsed !== null && typeof parsed === 'object' ? parsed : {};
  } catch {
    return {};
  }
}

const NO_CREDENTIALS = /CredentialsProviderError|CredentialsError/;
const BAD_CREDENTIALS = new Set([
  'AuthFailure',
  'InvalidClientTokenId',
  'UnrecognizedClientException',
  'SignatureDoesNotMatch',
  'ExpiredToken',
  'ExpiredTokenException',
  'RequestExpired',
]);
const NOT_ALLOWED = new Set(['UnauthorizedOperation', 'AccessDenied', 'AccessDeniedException', 'OptInRequired']);

/** One line saying why a price is unknown, for the launch's progress. */
export function failureReason(error: unknown, call: string, action: string): string {
  const name = errorName(error);
  const message = (error instanceof Error ? error.message : String(error))
    .replace(/\s*Encoded authorization failure message:.*$/s, '')
    .replace(/\s+/g, ' ')
    .trim();
  if (NO_CREDENTIALS.test(name) || /Could not load credentials/i.test(message)) return `${call}: no AWS credentials found`;
  if (BAD_CREDENTIALS.has(name)) return `${call}: AWS refused the credentials (${name})`;
  if (NOT_ALLOWED.has(name)) return `${call}: the credentials may not use ${action} (${name})`;
  const line = `${call}: ${name}: ${message}`;
  return line.length > 200 ? `${line.slice(0, 197)}...` : line;
}
