import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));

function listFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? listFiles(join(dir, entry.name)) : [join(dir, entry.name)],
  );
}

it('GIVEN agent.proto THEN proto/generated is exactly what `npm run proto:gen` makes of it', () => {
  const out = mkdtempSync(join(tmpdir(), 'kubeha-proto-'));
  try {
    const script = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).scripts['proto:gen'] as string;
    const args = script
      .replace(/^proto-loader-gen-types\s+/, '')
      .split(/\s+/)
      .map((a) => (a === 'proto/generated' ? out : a));
    execFileSync(join(root, 'node_modules/.bin/proto-loader-gen-types'), args, { cwd: root, stdio: 'pipe' });
    const committedDir = join(root, 'proto/generated');
    const fresh = listFiles(out)
      .map((f) => relative(out, f))
      .sort();
    const committed = listFiles(committedDir)
      .map((f) => relative(committedDir, f))
      .sort();
    expect(committed).toEqual(fresh);
    for (const file of fresh) {
      expect(readFileSync(join(committedDir, file), 'utf8'), `${file} is stale: run npm run proto:gen`).toBe(
        readFileSync(join(out, file), 'utf8'),
      );
    }
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
