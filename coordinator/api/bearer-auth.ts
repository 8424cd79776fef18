import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ErrorCode } from '../../common/errors.ts';
import { errorBody } from './error-reply.ts';

const publicPaths = ['/healthz', '/docs'];

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

/**
 * An onRequest hook: every route but /healthz and /docs needs "Authorization: Bearer <admin token>"; GET /metrics
 * also takes the scrape token, which opens nothing else.
 */
export function bearerAuth(adminToken: string, scrapeToken?: string) {
  const expected = digest(adminToken);
  const scrape = scrapeToken === undefined ? undefined : digest(scrapeToken);
  return async (request: FastifyRequest, reply: FastifyReply) => {
    const path = request.url.split('?')[0] ?? '';
    if (publicPaths.some((p) => path === p || path.startsWith(`${p}/`))) return;
    const header = request.headers.authorization ?? '';
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    const presented = match?.[1] ? digest(match[1]) : undefined;
    if (presented && timingSafeEqual(presented, expected)) return;
    const scraping = path === '/metrics' && (request.method === 'GET' || request.method === 'HEAD');
    if (presented && scrape && scraping && timingSafeEqual(presented, scrape)) return;
    reply
      .code(401)
      .header('www-authenticate', 'Bearer realm="kubeha"')
      .send(errorBody(ErrorCode.unauthorized, match ? 'the bearer token is not valid' : 'a bearer token is required'));
    return reply;
  };
}
