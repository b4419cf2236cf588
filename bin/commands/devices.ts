import type { Command } from 'commander';
import { EXECUTION_DEVICES, sessionConfigFromEnv } from '../../runtime/device/device-config.ts';
import { describeWeightLevels, integerGemmWeightLevels } from '../../runtime/device/integer-gemm-range.ts';
import { probeDevice } from '../../runtime/device/probe-device.ts';

export function registerDevices(program: Command): void {
  program
    .command('devices')
    .description('List the execution devices (FLAN_DEVICE values) and whether this machine can run them: each is tried on a tiny MatMul')
    .option('--json', 'print one JSON array of {device, provider, installed, usable, reason?, selected}, the cpu entry with integerGemmWeightLevels')
    .action(async (opts: { json?: boolean }) => {
      const selected = sessionConfigFromEnv().device;
      const probes = [];
      for (const device of EXECUTION_DEVICES) probes.push({ ...(await probeDevice(device)), selected: device === selected });
      // How wide int8 weights may be on this CPU's integer GEMM (runtime/device/integer-gemm-range.ts).
      const levels = await integerGemmWeightLevels();
      if (opts.json) {
        process.stdout.write(`${JSON.stringify(probes.map((p) => (p.device === 'cpu' ? { ...p, integerGemmWeightLevels: levels } : p)))}\n`);
        return;
      }
      for (const p of probes) {
        const state = p.usable ? 'usable' : p.installed ? `not usable: ${p.reason}` : `not installed: ${p.reason}`;
        process.stdout.write(`${p.device.padEnd(7)} ${p.provider.padEnd(25)} ${state}${p.selected ? '  (FLAN_DEVICE)' : ''}\n`);
      }
      process.stdout.write(`cpu     ${describeWeightLevels(levels)}\n`);
    });
}
