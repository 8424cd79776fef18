import Type, { type Static } from 'typebox';
import { ErrorCode, KubehaError } from '../../../common/errors.ts';
import { generateBootstrapToken, hashTokenSecret, type StoredBootstrapToken } from '../../pki/bootstrap-tokens.ts';
import type { Store } from '../../store/store.ts';
import type { ApiPlugin } from '../build-api.ts';
import { clientErrorReplies } from '../error-reply.ts';

const TokenReply = Type.Object({
  id: Type.String(),
  description: Type.String(),
  createdAt: Type.String({ format: 'date-time' }),
  expiresAt: Type.String({ format: 'date-time' }),
  usageLimit: Type.Integer(),
  usedCount: Type.Integer(),
  expired: Type.Boolean(),
  node: Type.Optional(Type.String()),
});

const CreateTokenBody = Type.Object(
  {
    description: Type.Optional(Type.String({ maxLength: 200 })),
    ttlSeconds: Type.Optional(Type.Integer({ minimum: 60, maximum: 30 * 24 * 3600 })),
    usageLimit: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000 })),
    node: Type.Optional(
      Type.String({
        pattern: '^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)*$',
        maxLength: 253,
        description: 'Scopes the token to one node: an agent enrolled with it may serve the node of that name',
      }),
    ),
  },
  { additionalProperties: false },
);

const CreatedTokenReply = Type.Object({
  ...TokenReply.properties,
  token: Type.String({ description: 'The secret token. Returned once, here, and never again.' }),
  caCertHash: Type.String(),
  enrollCommand: Type.String(),
});

/** POST /v1/tokens: the only reply that carries the secret token. */
export type CreatedToken = Static<typeof CreatedTokenReply>;

function tokenToReply(token: StoredBootstrapToken, now: number, node?: string) {
  return {
    ...(node === undefined ? {} : { node }),
    id: token.id,
    description: token.description,
    createdAt: new Date(token.createdAt).toISOString(),
    expiresAt: new Date(token.expiresAt).toISOString(),
    usageLimit: token.usageLimit,
    usedCount: token.usedCount,
    expired: token.expiresAt <= now,
  };
}

export function tokensRoutes(deps: {
  store: Store;
  caCertHash: string;
  gatewayAddress: string;
  now: () => number;
}): ApiPlugin {
  return (app) => {
    app.post(
      '/v1/tokens',
      {
        schema: {
          summary: 'Create a bootstrap token for enrolling agents',
          body: Type.Union([CreateTokenBody, Type.Null()]),
          response: { 201: CreatedTokenReply, ...clientErrorReplies },
        },
      },
      async (request, reply) => {
        const body = request.body ?? {};
        const now = deps.now();
        const token = generateBootstrapToken();
        const stored: StoredBootstrapToken = {
          id: token.id,
          secretHash: hashTokenSecret(token.secret),
          description: body.description ?? '',
          createdAt: now,
          expiresAt: now + (body.ttlSeconds ?? 24 * 3600) * 1000,
          usageLimit: body.usageLimit ?? 1,
          usedCount: 0,
        };
        deps.store.transaction(() => {
          deps.store.tokens.insert(stored);
          if (body.node !== undefined) deps.store.bindings.setTokenScope(token.id, body.node);
        });
        request.log.info({ tokenId: token.id, usageLimit: stored.usageLimit }, 'bootstrap token created');
        return reply.code(201).send({
          ...tokenToReply(stored, now, body.node),
          token: token.token,
          caCertHash: deps.caCertHash,
          enrollCommand: `kubeha-agent enroll --coordinator ${deps.gatewayAddress} --token ${token.token} --ca-cert-hash ${deps.caCertHash}`,
        });
      },
    );
    app.get(
      '/v1/tokens',
      {
        schema: {
          summary: 'Bootstrap tokens (without their secrets)',
          response: { 200: Type.Object({ tokens: Type.Array(TokenReply) }), ...clientErrorReplies },
        },
      },
      async () => {
        const now = deps.now();
        return {
          tokens: deps.store.tokens.list().map((t) => tokenToReply(t, now, deps.store.bindings.tokenScope(t.id))),
        };
      },
    );
    app.delete(
      '/v1/tokens/:id',
      {
        schema: {
          summary: 'Delete a bootstrap token',
          params: Type.Object({ id: Type.String({ pattern: '^[a-z0-9]{6}$' }) }),
          response: { 204: Type.Null(), ...clientErrorReplies },
        },
      },
      async (request, reply) => {
        if (!deps.store.tokens.delete(request.params.id)) {
          throw new KubehaError(ErrorCode.notFound, `no bootstrap token ${request.params.id}`);
        }
        return reply.code(204).send(null);
      },
    );
  };
}
