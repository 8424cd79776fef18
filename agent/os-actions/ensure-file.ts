import type { Host } from '../host/host.ts';
import type { PlannedChange } from '../step-execution/step.ts';

export interface WantedFile {
  path: string;
  content: string;
  /** Permission bits; 'keep' keeps those of a system file kubeha only edits (/etc/hosts), 0644 when it is new. */
  mode: number | 'keep';
  /** The dry-run line of a content change; default "write PATH". */
  description?: string;
  /** The parent directory is created with this mode first (a directory of secrets: 0700). */
  directoryMode?: number;
  /** Runs after a content write, not after a mode fix (a daemon reloads the file). */
  afterWrite?: () => Promise<void>;
}

export interface FilePlan {
  /** The file is absent or its bytes are not the wanted ones: the plan writes it. */
  readonly contentDiffers: boolean;
  /** At most one change: the write, or (same bytes, other permissions) the mode fix. */
  readonly changes: PlannedChange[];
}

/** "0600". */
export function formatMode(mode: number): string {
  return mode.toString(8).padStart(4, '0');
}

function parentOf(path: string): string {
  return path.slice(0, path.lastIndexOf('/')) || '/';
}

/**
 * Reads the file and plans what makes it the wanted one: a write only when the bytes differ, and otherwise a mode
 * fix when the permissions do. Nothing when both are right, so a second run changes nothing.
 */
export async function ensureFile(host: Host, file: WantedFile): Promise<FilePlan> {
  const current = await host.readFile(file.path);
  const currentMode = current === undefined ? undefined : await host.fileMode(file.path);
  const mode = file.mode === 'keep' ? (currentMode ?? 0o644) : file.mode;
  const write = async () => {
    if (file.directoryMode !== undefined) await host.mkdir(parentOf(file.path), file.directoryMode);
    await host.writeFileAtomic(file.path, file.content, mode);
  };
  if (current !== file.content) {
    const apply = async () => {
      await write();
      await file.afterWrite?.();
    };
    return { contentDiffers: true, changes: [{ description: file.description ?? `write ${file.path}`, apply }] };
  }
  if (currentMode !== mode) {
    return {
      contentDiffers: false,
      changes: [
        {
          description: `set the mode of ${file.path} to ${formatMode(mode)} (now ${currentMode === undefined ? 'unknown' : formatMode(currentMode)})`,
          apply: write,
        },
      ],
    };
  }
  return { contentDiffers: false, changes: [] };
}
