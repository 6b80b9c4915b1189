import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * Which calls to refuse: given the query protocol's parameters and the region the request was signed for, the AWS
 * error code to answer with, or nothing to pass it on.
 */
export type FaultRule = (params: Record<string, string>, region: string) => string | undefined;

export interface FaultProxy {
  /** For AWS_ENDPOINT_URL. */
  url: string;
  /** The calls answered with an error, as `Action InstanceType code` . */
  refused: string[];
  /** The same, each prefixed by the region it was asked in: `eu-west-3 RunInstances t3.large InsufficientInstanceCapacity`. */
  refusedIn: string[];
  close(): Promise<void>;
}

/**
 * A pass-through proxy on 127.0.0.1 in front of moto that answers the calls `rule` picks with an AWS error (EC2's XML
 * error body, HTTP 400) and forwards every other request as it came, so a test can make AWS refuse capacity.
 */
export interface FaultProxyOptions {
  /**
   * On-demand prices ($/h by instance type) the Price List API answers with: moto has no Pricing service, so the
   * proxy answers GetProducts itself, in the Price List's own form, for the coordinator's price lookup.
   */
  prices?: Record<string, number>;
}

/** A GetProducts answer as AWS gives it: each product a JSON string with its on-demand hourly price. */
export function priceListAnswer(type: string, perHour: number | undefined): object {
  if (perHour === undefined) return { FormatVersion: 'aws_v1', PriceList: [] };
  const product = {
    product: { attributes: { instanceType: type, operation: 'RunInstances' } },
    terms: { OnDemand: { offer: { priceDimensions: { dimension: { unit: 'Hrs', pricePerUnit: { USD: String(perHour) } } } } } },
  };
  return { FormatVersion: 'aws_v1', PriceList: [JSON.stringify(product)] };
}

export async function startFaultProxy(target: string, rule: FaultRule, options: FaultProxyOptions = {}): Promise<FaultProxy> {
  const upstream = new URL(target);
  const refused: string[] = [];
  const refusedIn: string[] = [];
  const server: Server = createServer((incoming, outgoing) => {
    const chunks: Buffer[] = [];
    incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
    incoming.on('end', () => {
      const body = Buffer.concat(chunks);
      if (options.prices && String(incoming.headers['x-amz-target'] ?? '').endsWith('.GetProducts')) {
        const filters = (JSON.parse(body.toString('utf8')) as { Filters?: Array<{ Field: string; Value: string }> }).Filters ?? [];
        const type = filters.find((filter) => filter.Field === 'instanceType')?.Value ?? '';
        outgoing.writeHead(200, { 'Content-Type': 'application/x-amz-json-1.1' });
        outgoing.end(JSON.stringify(priceListAnswer(type, options.prices[type])));
        return;
      }
      const form = String(incoming.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded');
      const params = form ? Object.fromEntries(new URLSearchParams(body.toString('utf8'))) : {};
      // moto serves every region on one endpoint; the region is the one in the signature's credential scope.
      const region = /Credential=[^/]+\/[^/]+\/([^/]+)\//.exec(String(incoming.headers['authorization'] ?? ''))?.[1] ?? '';
      const code = rule(params, region);
      if (code) {
        refused.push(`${params['Action']} ${params['InstanceType'] ?? ''} ${code}`);
        refusedIn.push(`${region} ${params['Action']} ${params['InstanceType'] ?? ''} ${code}`);
        outgoing.writeHead(400, { 'Content-Type': 'text/xml' });
        outgoing.end(
          `<?xml version="1.0" encoding="UTF-8"?><Response><Errors><Error><Code>${code}</Code><Message>refused by the test's proxy</Message></Error></Errors>` +
            '<RequestID>kp-fault-proxy</RequestID></Response>',
        );
        return;
      }
      const forwarded = httpRequest(
        { host: upstream.hostname, port: upstream.port, method: incoming.method, path: incoming.url, headers: incoming.headers },
        (answer) => {
          outgoing.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(outgoing);
        },
      );
      forwarded.on('error', (error) => {
        outgoing.writeHead(502);
        outgoing.end(error.message);
      });
      forwarded.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    refused,
    refusedIn,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        // The SDK keeps its connections open; they would hold close() forever.
        server.closeAllConnections();
      }),
  };
}
