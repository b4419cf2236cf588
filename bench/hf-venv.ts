import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

/** The peer's versions: the ones the figures were measured against. */
const PEER_PACKAGES = ['torch==2.13.0', 'transformers==5.18.0', 'safetensors'];

/** Outside the repository, so the worktree stays clean and every checkout reuses one venv. */
export const hfVenvDir = join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'flan-serve', 'hf-venv');

/**
 * pip's own configuration names this machine's offline indexes (file: URLs) and wheel folders; the venv
 * is installed from exactly those, with nothing fetched from the internet.
 */
function offlineIndexArgs(): string[] | undefined {
  let listing: string;
  try {
    listing = execFileSync('python3', ['-m', 'pip', 'config', 'list'], { encoding: 'utf8' });
  } catch {
    return undefined;
  }
  const values = (key: string) =>
    [...listing.matchAll(new RegExp(`^[^\\n]*\\.${key}='([^']*)'`, 'gm'))].flatMap((m) => m[1].split(/\s+/)).filter(Boolean);
  const indexes = [...values('index-url'), ...values('extra-index-url')].filter((u) => u.startsWith('file:'));
  const findLinks = [...new Set(values('find-links'))];
  if (indexes.length === 0 && findLinks.length === 0) return undefined;
  const [first, ...rest] = indexes;
  return [
    ...(first ? ['--index-url', first] : ['--no-index']),
    ...rest.flatMap((u) => ['--extra-index-url', u]),
    ...findLinks.flatMap((f) => ['--find-links', f]),
  ];
}

/**
 * The venv's python with torch and transformers importable, made on first use from the offline wheels;
 * a reason string where that cannot be done (no python3, no offline index, a failed install).
 */
export function hfPython(log: (msg: string) => void): { python: string } | { skipped: string } {
  const python = join(hfVenvDir, 'bin', 'python');
  const importable = () => {
    try {
      execFileSync(python, ['-c', 'import torch, transformers'], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  };
  if (existsSync(python) && importable()) return { python };
  const indexArgs = offlineIndexArgs();
  if (!indexArgs) return { skipped: 'no offline Python package index in `pip config list` to build the Hugging Face venv from' };
  try {
    log(`creating ${hfVenvDir} from ${indexArgs.filter((a) => !a.startsWith('--')).join(', ')} (minutes, once)`);
    mkdirSync(hfVenvDir, { recursive: true });
    execFileSync('python3', ['-m', 'venv', hfVenvDir], { stdio: 'inherit' });
    execFileSync(python, ['-m', 'pip', 'install', '--no-input', '--quiet', ...indexArgs, ...PEER_PACKAGES], { stdio: 'inherit' });
  } catch (err) {
    return { skipped: `could not build the Hugging Face venv: ${(err as Error).message.split('\n')[0]}` };
  }
  return importable() ? { python } : { skipped: `${hfVenvDir} was built but torch/transformers do not import` };
}

/** What a peer says first: the versions it runs on. */
export interface HfPeerInfo {
  torch: string;
  transformers: string;
  threads: number;
}

export interface HfPeer {
  child: ChildProcess;
  info: HfPeerInfo;
  /** Sends one JSON line and waits for the peer's one-line JSON answer. */
  request<T>(command: Record<string, unknown>): Promise<T>;
  /** Asks the peer to exit. */
  quit(): void;
}

/**
 * Starts one of the Python peers in bench/ (hf_cpu_peer.py, hf_train_peer.py): they answer one JSON
 * line per request line on stdin and first write their versions. OpenMP threads that spin between
 * kernels starve everything else on a shared 2-core machine, the peer's own next kernel included; passive
 * waiting is HF's better setting here (override by setting OMP_WAIT_POLICY).
 */
export async function startHfPeer(python: string, script: string, args: readonly string[]): Promise<HfPeer> {
  const env = { OMP_WAIT_POLICY: 'PASSIVE', ...process.env, TRANSFORMERS_VERBOSITY: 'error' };
  const child = spawn(python, [fileURLToPath(new URL(script, import.meta.url)), ...args], { stdio: ['pipe', 'pipe', 'inherit'], env });
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  const next = async () => {
    const { value, done } = await lines.next();
    if (done) throw new Error(`the Hugging Face peer ${script} exited`);
    return JSON.parse(value as string);
  };
  const info = (await next()) as HfPeerInfo;
  return {
    child,
    info,
    request: async <T>(command: Record<string, unknown>) => {
      child.stdin!.write(`${JSON.stringify(command)}\n`);
      return (await next()) as T;
    },
    quit: () => child.stdin!.end(`${JSON.stringify({ cmd: 'quit' })}\n`),
  };
}
