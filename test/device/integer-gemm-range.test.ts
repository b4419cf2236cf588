import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { arch, tmpdir } from 'node:os';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { integerGemmWeightLevels } from '../../runtime/device/integer-gemm-range.ts';
import { isInstalled } from '../helpers/installed-command.ts';

const run = promisify(execFile);
const script = ['--import', 'tsx', 'test/helpers/screen-on-this-cpu.ts'];

interface ScreenPick {
  levels: number;
  screened: number | null;
  exact: number;
}

async function pick(command: string, args: string[]): Promise<ScreenPick> {
  const { stdout } = await run(command, args, { cwd: process.cwd(), timeout: 120_000 });
  return JSON.parse(stdout.trim().split('\n').pop()!) as ScreenPick;
}

/**
 * onnxruntime's u8s8 integer GEMM (the screened head, FLAN_WEIGHTS=int8-gemm) adds product pairs in a
 * saturating int16 on x64 CPUs with AVX2 but without VNNI, which broke the screened head's exactness
 * there. The weight range is asked of the kernel at load (runtime/device/integer-gemm-range.ts). Older
 * CPUs are emulated with qemu-user (.ci/run installs it; its TCG has no AVX-512, so the AVX-512 kernel
 * without VNNI, which saturates the same way by MLAS's source, is not run here): Haswell (AVX2), whose
 * kernel saturates, and Nehalem (SSE4.2), whose kernel widens to 32 bits first.
 */
describe('the integer GEMM weight range', () => {
  it('on this CPU: the screen built for a saturating pair picks the f32 head argmax', async () => {
    const native = await pick(process.execPath, script);
    expect(native.levels).toBe(await integerGemmWeightLevels());
    expect(native.screened).toBe(native.exact);
  }, 60_000);

  // CI installs qemu-user; elsewhere an x64 host without it skips.
  it.skipIf(arch() !== 'x64' || (!isInstalled('qemu-x86_64') && !process.env.CI))(
    'on older x64 CPUs: where +-127 weights saturate the probe answers 63, where they do not 127, and the screen stays exact',
    async () => {
      const emulated = (cpu: string, extra: string[] = []) => pick('qemu-x86_64', ['-cpu', cpu, process.execPath, ...script, ...extra]);
      const devices = run('qemu-x86_64', ['-cpu', 'Haswell', process.execPath, 'bin/flan-serve.js', 'devices', '--json'], { timeout: 120_000 });
      const [haswell, haswellFull, nehalem] = await Promise.all([emulated('Haswell'), emulated('Haswell', ['--levels', '127']), emulated('Nehalem')]);
      // What `flan-serve devices` tells an operator there.
      const [cpu] = JSON.parse((await devices).stdout.trim().split('\n').pop()!) as { integerGemmWeightLevels: number }[];
      expect(cpu.integerGemmWeightLevels).toBe(63);
      // The full range really overflows on Haswell: the screen settles on the wrong token (what served before).
      expect(haswellFull.screened).not.toBe(haswellFull.exact);
      expect(haswell).toEqual({ levels: 63, screened: haswell.exact, exact: haswellFull.exact });
      expect(nehalem).toEqual({ levels: 127, screened: nehalem.exact, exact: haswellFull.exact });
    },
    240_000,
  );

  it.skipIf(arch() !== 'x64' || (!isInstalled('qemu-x86_64') && !process.env.CI))(
    'on an x64 CPU whose integer GEMM saturates, the server warns at startup that its int8 weights are within +-63',
    async () => {
      const dataDir = mkdtempSync(join(tmpdir(), 'flan-range-serve-'));
      const server = spawn('qemu-x86_64', ['-cpu', 'Haswell', process.execPath, 'bin/flan-serve.js', 'serve'], {
        env: { ...process.env, PORT: '0', FLAN_DATA_DIR: dataDir },
        stdio: ['ignore', 'pipe', 'ignore'],
      });
      try {
        const warning = await new Promise<{ level: number; msg: string }>((resolve, reject) => {
          createInterface({ input: server.stdout }).on('line', (line) => {
            if (line.includes('"msg":"integer GEMM')) resolve(JSON.parse(line) as { level: number; msg: string });
          });
          server.once('exit', (code) => reject(new Error(`the server exited (${code}) before warning`)));
        });
        expect(warning).toMatchObject({ level: 40, msg: expect.stringContaining('within +-63, not +-127') });
      } finally {
        server.kill('SIGKILL');
        rmSync(dataDir, { recursive: true, force: true });
      }
    },
    240_000,
  );
});
