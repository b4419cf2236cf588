import { execFileSync } from 'node:child_process';

/** Whether `command` runs here (asked with `--version`): tests that need a Debian tool skip without it. */
export function isInstalled(command: string): boolean {
  try {
    execFileSync(command, ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
