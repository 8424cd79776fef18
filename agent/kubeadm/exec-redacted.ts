import { CommandFailedError, type ExecOptions, type ExecResult, type Host } from '../host/host.ts';
import { kubeadmLineRedactor, redactKubeadmOutput } from './redact-kubeadm-output.ts';

/**
 * Runs a command whose arguments or output may carry kubeadm secrets: every output line goes to `log`
 * redacted, and a failure is rethrown with its command line and stderr redacted.
 */
export async function execRedacted(
  host: Host,
  log: (line: string) => void,
  command: string,
  args: readonly string[],
  options: Omit<ExecOptions, 'onLine'> = {},
): Promise<ExecResult> {
  const redactLine = kubeadmLineRedactor();
  try {
    const result = await host.exec(command, args, { ...options, onLine: (_stream, line) => log(redactLine(line)) });
    return { ...result, commandLine: redactKubeadmOutput(result.commandLine) };
  } catch (error) {
    if (!(error instanceof CommandFailedError)) throw error;
    throw new CommandFailedError(
      redactKubeadmOutput(error.commandLine),
      error.exitCode,
      redactKubeadmOutput(error.stderrTail),
      { timedOut: error.timedOut, cancelled: error.cancelled },
    );
  }
}
