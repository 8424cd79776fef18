import { createHash, randomInt, timingSafeEqual } from 'node:crypto';
import { ErrorCode, KubehaError } from '../../common/errors.ts';

export const bootstrapTokenPattern = /^([a-z0-9]{6})\.([a-z0-9]{16})$/;
const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';

export interface BootstrapToken {
  id: string;
  secret: string;
  token: string;
}

export interface StoredBootstrapToken {
  id: string;
  secretHash: string;
  description: string;
  createdAt: number;
  expiresAt: number;
  usageLimit: number;
  usedCount: number;
}

function randomString(length: number): string {
  let out = '';
  for (let i = 0; i < length; i++) out += alphabet[randomInt(alphabet.length)];
  return out;
}

export function generateBootstrapToken(): BootstrapToken {
  const id = randomString(6);
  const secret = randomString(16);
  return { id, secret, token: `${id}.${secret}` };
}

export function hashTokenSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

export function parseBootstrapToken(token: string): { id: string; secret: string } {
  const match = bootstrapTokenPattern.exec(token);
  if (!match) {
    throw new KubehaError(ErrorCode.tokenInvalid, 'the bootstrap token is not of the form [a-z0-9]{6}.[a-z0-9]{16}');
  }
  return { id: match[1]!, secret: match[2]! };
}

/** Why a presented token cannot be used, or undefined when it can. Pure: the store calls it inside its transaction. */
export function bootstrapTokenProblem(
  stored: StoredBootstrapToken | undefined,
  secret: string,
  now: number,
): KubehaError | undefined {
  if (!stored) return new KubehaError(ErrorCode.tokenInvalid, 'unknown bootstrap token');
  const presented = Buffer.from(hashTokenSecret(secret), 'hex');
  const expected = Buffer.from(stored.secretHash, 'hex');
  if (presented.length !== expected.length || !timingSafeEqual(presented, expected)) {
    return new KubehaError(ErrorCode.tokenInvalid, 'unknown bootstrap token');
  }
  if (stored.expiresAt <= now) {
    return new KubehaError(
      ErrorCode.tokenExpired,
      `bootstrap token ${stored.id} expired at ${new Date(stored.expiresAt).toISOString()}`,
    );
  }
  if (stored.usedCount >= stored.usageLimit) {
    return new KubehaError(
      ErrorCode.tokenUsedUp,
      `bootstrap token ${stored.id} has been used ${stored.usedCount} of ${stored.usageLimit} times`,
    );
  }
  return undefined;
}
