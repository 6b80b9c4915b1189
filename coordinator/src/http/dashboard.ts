import { readFileSync } from 'node:fs';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type from 'typebox';

/**
 * The dashboard: one static page and its script and style, with no data in them (so served without the token).
 * The page reads the token from its URL's fragment, which `katapult dashboard` prints, and sends it itself.
 */
const ASSETS = {
  'app.js': 'text/javascript; charset=utf-8',
  'style.css': 'text/css; charset=utf-8',
} as const;

// The page may load only its own script and style and talk only to this server (its API and WebSocket).
const SECURITY_HEADERS = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'referrer-policy': 'no-referrer',
  'x-content-type-options': 'nosniff',
  'cache-control': 'no-cache',
};

const read = (file: string) => readFileSync(new URL(`./dashboard/${file}`, import.meta.url), 'utf8');

export const dashboardRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const page = read('index.html');
  const assets = new Map(Object.keys(ASSETS).map((name) => [name, read(name)]));

  app.get('/', async (_request, reply) => reply.headers(SECURITY_HEADERS).type('text/html; charset=utf-8').send(page));

  const Params = Type.Object({ asset: Type.Union(Object.keys(ASSETS).map((name) => Type.Literal(name))) });
  app.get('/dashboard/:asset', { schema: { params: Params } }, async (request, reply) => {
    const asset = request.params.asset as keyof typeof ASSETS;
    return reply.headers(SECURITY_HEADERS).type(ASSETS[asset]).send(assets.get(asset));
  });
};
