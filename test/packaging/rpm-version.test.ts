import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { rpmVersion } from '../../packaging/build/build-packages.ts';

function rpmCompare(a: string, b: string): number {
  return Number(execFileSync('rpm', ['--eval', `%{lua: print(rpm.vercmp("${a}", "${b}"))}`], { encoding: 'utf8' }));
}

describe('rpmVersion', () => {
  it('GIVEN a release version THEN the RPM version is the same', () => {
    expect(rpmVersion('0.1.0')).toBe('0.1.0');
  });

  it('GIVEN a pre-release THEN "-" becomes "~" and rpm sorts it before the release', () => {
    expect(rpmVersion('0.2.0-rc.1')).toBe('0.2.0~rc.1');
    expect(rpmCompare(rpmVersion('0.2.0-rc.1'), rpmVersion('0.2.0'))).toBe(-1);
    expect(rpmCompare(rpmVersion('0.2.0'), rpmVersion('0.1.0'))).toBe(1);
  });

  it('GIVEN characters RPM refuses in a version THEN it says so', () => {
    expect(() => rpmVersion('0.1.0 beta')).toThrow('cannot be an RPM version');
    expect(() => rpmVersion('0.1.0/x')).toThrow('cannot be an RPM version');
  });
});
