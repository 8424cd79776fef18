import { createInterface } from 'node:readline/promises';

export interface ConfirmTerminal {
  /** Whether both ends are a terminal: only then is a question asked. */
  isTTY: boolean;
  ask(question: string): Promise<string>;
}

/** Asks on the process's terminal. */
export function processTerminal(): ConfirmTerminal {
  return {
    isTTY: process.stdin.isTTY === true && process.stderr.isTTY === true,
    ask: async (question) => {
      const rl = createInterface({ input: process.stdin, output: process.stderr });
      try {
        return await rl.question(question);
      } finally {
        rl.close();
      }
    },
  };
}

/**
 * A change that cannot be taken back goes ahead on a terminal only when the operator types "yes"; --yes skips the
 * question, and so does a script (no terminal), as kubectl and kubeadm reset -f let it.
 */
export async function confirmed(what: string, terminal: ConfirmTerminal, yes: boolean): Promise<boolean> {
  if (yes || !terminal.isTTY) return true;
  const answer = await terminal.ask(`${what}\nType "yes" to go on (or pass --yes): `);
  return answer.trim().toLowerCase() === 'yes';
}
