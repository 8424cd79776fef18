import type { FileOwner, Host } from '../host/host.ts';
import type { PlannedChange } from '../step-execution/step.ts';

export interface WantedFile {
  path: string;
  content: string;
  /** Permission bits; 'keep' keeps those of a system file kubeha only edits (/etc/hosts), 0644 when it is new. */
  mode: number | 'keep';
  /** Reconciled when given (a file holding a secret must be root's); otherwise a rewrite keeps the file's owner. */
  owner?: FileOwner;
  /** The dry-run line of a content change; default "write PATH". */
  description?: string;
  /** The parent directory is created with this mode first (a directory of secrets: 0700). */
  directoryMode?: number;
  /** Runs after a content write, not after a permissions fix (a daemon reloads the file). */
  afterWrite?: () => Promise<void>;
}

export interface FilePlan {
  /** The file is absent or its bytes are not the wanted ones: the plan writes it. */
  readonly contentDiffers: boolean;
  /** At most one change: the write, or (same bytes, other mode or owner) the permissions fix. */
  readonly changes: PlannedChange[];
}

/** "0600". */
export function formatMode(mode: number): string {
  return mode.toString(8).padStart(4, '0');
}

function formatOwner(owner: FileOwner): string {
  return `${owner.uid}:${owner.gid}`;
}

function parentOf(path: string): string {
  return path.slice(0, path.lastIndexOf('/')) || '/';
}

function sameOwner(a: FileOwner | undefined, b: FileOwner): boolean {
  return a !== undefined && a.uid === b.uid && a.gid === b.gid;
}

/**
 * Reads the file and plans what makes it the wanted one: a write only when the bytes differ, and otherwise a fix of
 * the mode and owner when they differ. Nothing when all are right, so a second run changes nothing.
 */
export async function ensureFile(host: Host, file: WantedFile): Promise<FilePlan> {
  const current = await host.readFile(file.path);
  const currentMode = current === undefined ? undefined : await host.fileMode(file.path);
  const currentOwner = current === undefined || file.owner === undefined ? undefined : await host.fileOwner(file.path);
  const mode = file.mode === 'keep' ? (currentMode ?? 0o644) : file.mode;
  const fixOwner = async () => {
    if (file.owner !== undefined && !sameOwner(await host.fileOwner(file.path), file.owner)) {
      await host.chown(file.path, file.owner);
    }
  };
  const write = async () => {
    if (file.directoryMode !== undefined) await host.mkdir(parentOf(file.path), file.directoryMode);
    await host.writeFileAtomic(file.path, file.content, mode);
    await fixOwner();
  };
  if (current !== file.content) {
    const apply = async () => {
      await write();
      await file.afterWrite?.();
    };
    return { contentDiffers: true, changes: [{ description: file.description ?? `write ${file.path}`, apply }] };
  }
  const wrong: string[] = [];
  if (currentMode !== mode) {
    wrong.push(
      `the mode of ${file.path} to ${formatMode(mode)} (now ${currentMode === undefined ? 'unknown' : formatMode(currentMode)})`,
    );
  }
  if (file.owner !== undefined && !sameOwner(currentOwner, file.owner)) {
    wrong.push(
      `the owner of ${file.path} to ${formatOwner(file.owner)} (now ${currentOwner ? formatOwner(currentOwner) : 'unknown'})`,
    );
  }
  if (wrong.length === 0) return { contentDiffers: false, changes: [] };
  return { contentDiffers: false, changes: [{ description: `set ${wrong.join(' and ')}`, apply: write }] };
}

/** root:root, for the files that hold secrets. */
export const rootOwner: FileOwner = { uid: 0, gid: 0 };
