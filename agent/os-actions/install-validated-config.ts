import { ErrorCode, KubehaError } from '../../common/errors.ts';
import type { Host } from '../host/host.ts';
import type { PlannedChange } from '../step-execution/step.ts';
import { ensureFile, type WantedFile } from './ensure-file.ts';

/** The program that checks a candidate file, or undefined when this host has none (the file goes in unvalidated). */
export type ConfigValidator = (candidate: string) => Promise<{ command: string; args: string[] } | undefined>;

export interface WantedConfig extends WantedFile {
  mode: number;
  /** A secret the file holds (a VRRP password): scrubbed from the validator's words before they reach an error. */
  secret?: string;
}

/**
 * Writes the config next to its path, has the validator check it, and only then installs it (keeping the old file as
 * .kubeha.bak). A refused file is removed and the old one stays; the step fails with the validator's words.
 */
export async function installValidatedConfig(host: Host, file: WantedConfig, validate: ConfigValidator): Promise<void> {
  const candidate = `${file.path}.kubeha-new`;
  await host.writeFileAtomic(candidate, file.content, file.mode);
  try {
    const validator = await validate(candidate);
    if (validator) {
      // Not streamed to the step log: the validator may echo configuration lines; its words go in the error, scrubbed.
      const result = await host.exec(validator.command, validator.args, { allowFailure: true, onLine: () => {} });
      if (result.exitCode !== 0) {
        const scrub = (text: string) => (file.secret ? text.split(file.secret).join('<redacted>') : text);
        const output = scrub(`${result.stderr}\n${result.stdout}`.trim())
          .split('\n')
          .map((line) => line.trim())
          .filter(Boolean)
          .slice(-10);
        throw new KubehaError(
          ErrorCode.stepFailed,
          `${validator.command} refused the generated ${file.path} (exit ${result.exitCode}); the old file stays: ${output.join(' | ')}`,
          { details: { command: scrub(result.commandLine), exitCode: result.exitCode, output } },
        );
      }
    }
  } finally {
    await host.remove(candidate);
  }
  await host.writeFileAtomic(file.path, file.content, file.mode);
}

/**
 * Plans a config a daemon reads: new bytes are validated before they replace the old ones, then `afterWrite`
 * (a reload) runs; the same bytes with other permissions only get their mode fixed (nothing to validate or reload).
 */
export async function ensureValidatedConfig(
  host: Host,
  file: WantedConfig,
  validate: ConfigValidator,
): Promise<PlannedChange[]> {
  const plan = await ensureFile(host, file);
  if (!plan.contentDiffers) return plan.changes;
  return [
    {
      description: file.description ?? `write ${file.path} (validated)`,
      apply: async () => {
        await installValidatedConfig(host, file, validate);
        if (file.owner !== undefined) await host.chown(file.path, file.owner);
        await file.afterWrite?.();
      },
    },
  ];
}
