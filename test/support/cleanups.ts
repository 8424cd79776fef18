import { afterEach } from 'vitest';

export type Cleanup = () => Promise<void> | void;

/** A list a test pushes its cleanups on: they run after each test of the file, last pushed first, also after a failure. */
export function cleanupsAfterEach(): Cleanup[] {
  const cleanups: Cleanup[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });
  return cleanups;
}
