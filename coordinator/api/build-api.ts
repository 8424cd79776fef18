import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { type FastifyBaseLogger, type FastifyError, type FastifyInstance, LogController } from 'fastify';
import { ErrorCode, isKubehaError } from '../../common/errors.ts';
import type { Logger } from '../../common/logger.ts';
import { tlsPolicy } from '../../common/tls-policy.ts';
import { apiBodyLimitBytes } from './api-limits.ts';
import { bearerAuth } from './bearer-auth.ts';
import { ErrorReply, errorBody } from './error-reply.ts';

export type Api = FastifyInstance;
export type ApiPlugin = (app: ReturnType<typeof typedApp>) => void | Promise<void>;

function typedApp(app: FastifyInstance) {
  return app.withTypeProvider<TypeBoxTypeProvider>();
}

export interface ApiOptions {
  adminToken: string;
  /** A bearer token that may only read GET /metrics. */
  scrapeToken?: string;
  logger: Logger;
  version: string;
  /** Route groups; each registers its own routes with schemas. */
  routes: ApiPlugin[];
  /** Serve HTTPS with this certificate chain and key (any non-loopback address). */
  https?: { cert: string; key: string };
}

const httpStatusFor: Partial<Record<string, number>> = {
  [ErrorCode.notFound]: 404,
  [ErrorCode.conflict]: 409,
  [ErrorCode.unauthorized]: 401,
  [ErrorCode.badRequest]: 400,
  [ErrorCode.specInvalid]: 400,
  [ErrorCode.paramsInvalid]: 400,
  [ErrorCode.tokenInvalid]: 400,
  [ErrorCode.unavailable]: 503,
};

const clientErrorStatus: Record<string, number> = {
  HPE_HEADER_OVERFLOW: 431,
  ERR_HTTP_REQUEST_TIMEOUT: 408,
};

/** Errors the HTTP parser raises before fastify sees a request, answered in the API's error shape. */
function clientErrorHandler(error: NodeJS.ErrnoException, socket: Duplex): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const status = clientErrorStatus[error.code ?? ''] ?? 400;
  const message =
    status === 431
      ? 'the request headers (URL included) are too large'
      : status === 408
        ? 'the request timed out'
        : 'the request is not valid HTTP';
  const body = JSON.stringify(errorBody(ErrorCode.badRequest, message));
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
        `Content-Type: application/json; charset=utf-8\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy(error);
}

/** Builds the REST API without listening, so tests can use app.inject(). */
export async function buildApi(options: ApiOptions): Promise<FastifyInstance> {
  const app = Fastify({
    ...(options.https ? { https: { ...options.https, ...tlsPolicy } } : {}),
    loggerInstance: options.logger.child({ component: 'api' }) as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: apiBodyLimitBytes,
    clientErrorHandler,
    // The router's own refusals (a malformed URL, an over-long path parameter) in the documented error shape.
    frameworkErrors: (error, _request, reply) => {
      const status = error.statusCode && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 400;
      const message =
        error.code === 'FST_ERR_MAX_PARAM_LENGTH' ? 'a path parameter is too long' : 'the URL is not valid';
      const raw = reply as unknown as { code(status: number): { send(body: unknown): void } };
      raw.code(status).send(errorBody(ErrorCode.badRequest, message));
    },
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, useDefaults: true, allErrors: true } },
  });
  app.addSchema(ErrorReply);

  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: { title: 'kubeha coordinator API', version: options.version },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });

  app.addHook('onRequest', bearerAuth(options.adminToken, options.scrapeToken));

  app.setErrorHandler((error: FastifyError, request, reply) => {
    if (error.validation) {
      const details = error.validation.map((v) => {
        const where = `${error.validationContext ?? 'body'}${v.instancePath.replace(/\//g, '.')}`;
        if (v.keyword === 'additionalProperties') {
          return `${where}: unknown field ${(v.params as { additionalProperty?: string }).additionalProperty ?? ''}`.trim();
        }
        return `${where}: ${v.message ?? 'is invalid'}`;
      });
      return reply
        .code(400)
        .send(errorBody(ErrorCode.badRequest, `the request is invalid: ${details.join('; ')}`, details));
    }
    if (isKubehaError(error)) {
      const status = httpStatusFor[error.code] ?? 500;
      if (status >= 500) request.log.error({ err: error }, 'request failed');
      return reply.code(status).send(errorBody(error.code, error.message, error.details));
    }
    if (error.statusCode && error.statusCode >= 400 && error.statusCode < 500) {
      return reply.code(error.statusCode).send(errorBody(ErrorCode.badRequest, error.message));
    }
    request.log.error({ err: error }, 'request failed');
    return reply.code(500).send(errorBody(ErrorCode.internal, 'internal error'));
  });

  app.setNotFoundHandler((request, reply) =>
    reply.code(404).send(errorBody(ErrorCode.notFound, `no route ${request.method} ${request.url.split('?')[0]}`)),
  );

  for (const routes of options.routes) await routes(typedApp(app));
  return app;
}
