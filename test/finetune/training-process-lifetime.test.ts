import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { JobManager, type JobEvent } from '../../finetune/jobs/job-manager.ts';
import { jobPaths, type TrainingSpec } from '../../finetune/jobs/training-run.ts';
import { tinyJsonl, tinyLoraSpec, writeTinyModelDir } from './tiny-model-dir.ts';

const root = mkdtempSync(join(tmpdir(), 'flan-lifetime-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const baseModelDir = writeTinyModelDir(join(root, 'base'));
const trainingFile = join(root, 'train.jsonl');
writeFileSync(trainingFile, tinyJsonl);

const spec = (steps: number): TrainingSpec => tinyLoraSpec(baseModelDir, trainingFile, steps);

/** Whether a pid is a live process (a zombie waiting to be reaped counts as gone). */
function alive(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

async function until(condition: () => boolean, pauseMs = 100): Promise<void> {
  while (!condition()) await new Promise((r) => setTimeout(r, pauseMs));
}

describe('a training process', () => {
  it('dies with its parent, even when the parent is killed with SIGKILL', async () => {
    const parentScript = fileURLToPath(new URL('./training-parent.ts', import.meta.url));
    const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
    const parent = spawn(process.execPath, ['--import', tsx, parentScript, JSON.stringify(spec(100_000)), join(root, 'orphan')], {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, FLAN_THREADS: '1' },
    });
    let childPid = 0;
    for await (const line of createInterface({ input: parent.stdout! })) {
      childPid ||= Number(/^pid (\d+)/.exec(line)?.[1] ?? 0);
      if (line.startsWith('step ')) break;
    }
    expect(alive(childPid)).toBe(true);
    parent.kill('SIGKILL');
    const killedAt = Date.now();
    await until(() => !alive(childPid));
    // Loose bound: the IPC channel's close is seen at once; the pid check runs every second.
    expect(Date.now() - killedAt).toBeLessThan(20_000);
  });

  it('killed alone, resumes its job from the checkpoint once; killed again, fails the job', async () => {
    const manager = JobManager.open({ dataDir: join(root, 'requeue') });
    try {
      const job = manager.create({ spec: spec(100_000) });
      const workDir = join(root, 'requeue', 'finetune', 'jobs', job.id);
      const events: JobEvent[] = [];
      manager.subscribe(job.id, (e) => events.push(e));
      const killAfterCheckpoint = async () => {
        await until(() => manager.trainingPid(job.id) !== undefined && existsSync(jobPaths(workDir).checkpoint));
        const pid = manager.trainingPid(job.id)!;
        process.kill(pid, 'SIGKILL');
        await until(() => manager.trainingPid(job.id) !== pid);
      };
      await killAfterCheckpoint();
      await until(() => events.some((e) => e.type === 'started' && /^Resumed at step/.test(e.message)));
      expect(events.some((e) => e.type === 'restarted')).toBe(true);
      expect(manager.get(job.id).status).toBe('running');

      await killAfterCheckpoint();
      await until(() => manager.get(job.id).status === 'failed');
      expect(manager.get(job.id).error?.message).toMatch(/SIGKILL/);
    } finally {
      await manager.close();
    }
  });
});
