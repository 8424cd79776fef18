import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
// @ts-expect-error: a plain .mjs script without type declarations
import { nodeVersionProblem } from './require-node-24.mjs';

it('GIVEN Node 20 THEN the guard explains what is wrong and how to fix it', () => {
  const problem = nodeVersionProblem('20.20.2', '/usr/bin/node') as string;
  expect(problem).toContain('needs Node.js 24');
  expect(problem).toContain('Node 20.20.2 (/usr/bin/node)');
  expect(problem).toContain('npm rebuild node');
});

it('GIVEN Node 24 THEN the guard passes, run as a script too', () => {
  expect(nodeVersionProblem('24.21.0', '/x/node')).toBeUndefined();
  const script = fileURLToPath(new URL('./require-node-24.mjs', import.meta.url));
  expect(() => execFileSync(process.execPath, [script], { stdio: 'pipe' })).not.toThrow();
});
