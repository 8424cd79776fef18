import { describe, expect, it } from 'vitest';
import { osReleaseFixture } from '../../test/fixtures/os-release/os-release-fixtures.ts';
import { osReleaseFrom, osSupport, parseOsRelease } from './os-release.ts';

describe('os-release', () => {
  it('parses quoted, unquoted and escaped values and skips comments', () => {
    expect(parseOsRelease('# c\nID=rocky\nNAME="Rocky \\"Linux\\""\nX=\'single\'\n\nBROKEN LINE\n')).toEqual({
      ID: 'rocky',
      NAME: 'Rocky "Linux"',
      X: 'single',
    });
  });

  it.each([
    ['centos-stream-8', 'centos', '8', 'el8'],
    ['rocky-9', 'rocky', '9.4', 'el9'],
    ['rhel-9', 'rhel', '9.4', 'el9'],
  ] as const)('accepts %s', (fixture, id, versionId, family) => {
    const release = osReleaseFrom(osReleaseFixture(fixture));
    expect(release).toMatchObject({ id, versionId });
    expect(osSupport(release)).toMatchObject({ supported: true, family });
  });

  it('accepts AlmaLinux 8 and refuses Rocky 10, CentOS 7 and Ubuntu with reasons', () => {
    expect(osSupport(osReleaseFrom('ID="almalinux"\nVERSION_ID="8.10"\n')).supported).toBe(true);
    const rocky10 = osSupport(osReleaseFrom('ID="rocky"\nVERSION_ID="10.0"\nPRETTY_NAME="Rocky Linux 10.0"\n'));
    expect(rocky10).toMatchObject({
      supported: false,
      reason: 'Rocky Linux 10.0 (ID=rocky, VERSION_ID=10.0): only versions 8 and 9 are supported',
    });
    expect(osSupport(osReleaseFrom(osReleaseFixture('centos-7')))).toMatchObject({ supported: false });
    expect(osSupport(osReleaseFrom(osReleaseFixture('ubuntu-22.04')))).toMatchObject({
      supported: false,
      reason: expect.stringContaining('Ubuntu 22.04.4 LTS (ID=ubuntu, VERSION_ID=22.04) is not supported'),
    });
    expect(osSupport(osReleaseFrom(''))).toMatchObject({ supported: false });
  });
});
