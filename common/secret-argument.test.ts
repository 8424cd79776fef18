import { describe, expect, it } from 'vitest';
import { resolveSecret } from './secret-argument.ts';

describe('resolveSecret', () => {
  const files: Record<string, string> = { '/run/t': 'abcdef.0123456789abcdef\n', '/run/empty': '\n' };
  const read = (p: string) => {
    const text = files[p];
    if (text === undefined) throw new Error('ENOENT: no such file or directory');
    return text;
  };

  it('GIVEN the secret on the command line THEN it is used with a warning that says where else to put it', () => {
    const resolved = resolveSecret('token', { flag: 'abc' }, read);
    expect(resolved.value).toBe('abc');
    expect(resolved.warning).toMatch(/--token on the command line is visible .* --token-file or the environment/);
  });

  it('GIVEN a file or the environment THEN no warning; the file wins, first line trimmed', () => {
    expect(resolveSecret('token', { file: '/run/t', env: 'x', flag: 'y' }, read)).toEqual({
      value: 'abcdef.0123456789abcdef',
    });
    expect(resolveSecret('token', { env: 'from-env' }, read)).toEqual({ value: 'from-env' });
    expect(resolveSecret('token', {}, read)).toEqual({ value: undefined });
  });

  it('GIVEN a missing or empty file THEN an error naming the option and the path', () => {
    expect(() => resolveSecret('token', { file: '/run/nope' }, read)).toThrow(/--token-file \/run\/nope: ENOENT/);
    expect(() => resolveSecret('token', { file: '/run/empty' }, read)).toThrow(/--token-file \/run\/empty: .*empty/);
  });
});
