import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../../common/errors.ts';
import {
  bootstrapTokenProblem,
  generateBootstrapToken,
  hashTokenSecret,
  parseBootstrapToken,
} from './bootstrap-tokens.ts';

const now = 1_800_000_000_000;

function stored(overrides = {}) {
  const token = generateBootstrapToken();
  return {
    token,
    record: {
      id: token.id,
      secretHash: hashTokenSecret(token.secret),
      description: '',
      createdAt: now - 1000,
      expiresAt: now + 1000,
      usageLimit: 1,
      usedCount: 0,
      ...overrides,
    },
  };
}

describe('bootstrap tokens', () => {
  it('have the kubeadm format and are random', () => {
    const tokens = new Set(Array.from({ length: 50 }, () => generateBootstrapToken().token));
    expect(tokens.size).toBe(50);
    for (const t of tokens) expect(t).toMatch(/^[a-z0-9]{6}\.[a-z0-9]{16}$/);
  });

  it('refuse malformed tokens', () => {
    for (const bad of ['', 'abcdef', 'ABCDEF.0123456789abcdef', 'abcdef.0123456789abcde', 'abc def.0123456789abcdef']) {
      expect(() => parseBootstrapToken(bad), bad).toThrow(/not of the form/);
    }
  });

  it('say why a token cannot be used', () => {
    const ok = stored();
    expect(bootstrapTokenProblem(ok.record, ok.token.secret, now)).toBeUndefined();
    expect(bootstrapTokenProblem(undefined, ok.token.secret, now)?.code).toBe(ErrorCode.tokenInvalid);
    expect(bootstrapTokenProblem(ok.record, 'x'.repeat(16), now)?.code).toBe(ErrorCode.tokenInvalid);
    expect(bootstrapTokenProblem(ok.record, ok.token.secret, now + 1000)?.code).toBe(ErrorCode.tokenExpired);
    const used = stored({ usedCount: 1 });
    expect(bootstrapTokenProblem(used.record, used.token.secret, now)?.code).toBe(ErrorCode.tokenUsedUp);
  });
});
