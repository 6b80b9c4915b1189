import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface SeenAwsRequest {
  action: string | null;
  authorization: string;
}

export interface RefusingEc2 {
  /** For AWS_ENDPOINT_URL. */
  url: string;
  seen: SeenAwsRequest[];
  server: Server;
}

/**
 * An endpoint standing in for EC2 on 127.0.0.1 that refuses every call as AWS does for a user without permission,
 * so a test runs everything real up to the AWS API (AWS itself cannot be reached from here).
 */
export async function startRefusingEc2(): Promise<RefusingEc2> {
  const seen: SeenAwsRequest[] = [];
  const server = createServer((request: IncomingMessage, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => {
      seen.push({ action: new URLSearchParams(body).get('Action'), authorization: String(request.headers.authorization ?? '') });
      response.writeHead(403, { 'Content-Type': 'text/xml' });
      response.end(
        '<?xml version="1.0" encoding="UTF-8"?><Response><Errors><Error><Code>UnauthorizedOperation</Code>' +
          '<Message>You are not authorized to perform this operation.</Message></Error></Errors><RequestID>kp-test</RequestID></Response>',
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen, server };
}
