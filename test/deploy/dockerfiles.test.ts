import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { type Copy, DockerfileParser, type From, type Instruction } from 'dockerfile-ast';
import { describe, expect, it } from 'vitest';
import { DEPLOY, REPO, VERSIONED_TAG } from './deploy-files.ts';

interface Stage {
  from: From;
  instructions: Instruction[];
}

/** The Dockerfile's stages, each its FROM and the instructions up to the next FROM. */
function stages(file: string): Stage[] {
  const parsed = DockerfileParser.parse(readFileSync(file, 'utf8'));
  const result: Stage[] = [];
  for (const instruction of parsed.getInstructions()) {
    if (instruction.getKeyword() === 'FROM') result.push({ from: instruction as From, instructions: [] });
    else result.at(-1)?.instructions.push(instruction);
  }
  return result;
}

const of = (stage: Stage, keyword: string) => stage.instructions.filter((i) => i.getKeyword() === keyword);
const args = (i: Instruction) => i.getArguments().map((a) => a.getValue());
/** The stage a COPY --from copies out of, if any. */
const fromStage = (i: Instruction) => (i as Copy).getFromFlag()?.getValue() ?? undefined;

/** ENV's key=value pairs of a stage, later ones winning. */
function env(stage: Stage): Map<string, string> {
  const pairs = new Map<string, string>();
  for (const i of of(stage, 'ENV')) {
    for (const arg of args(i)) {
      const eq = arg.indexOf('=');
      if (eq > 0) pairs.set(arg.slice(0, eq), arg.slice(eq + 1));
    }
  }
  return pairs;
}

/** Top-level folders of the repository that the images leave out, and why. */
const NOT_IN_IMAGE: Record<string, string> = {
  test: 'tests',
  bench: 'benchmarks',
  deploy: 'these files',
  node_modules: 'installed by npm ci in the deps stage',
  models: 'only models/flan-mini is copied',
  coverage: 'test output',
  data: 'a local FLAN_DATA_DIR',
  'test-results': "the browser tests' screenshots (gitignored)",
};

describe.each(['Dockerfile', 'Dockerfile.cuda'])('deploy/docker/%s', (name) => {
  const file = join(DEPLOY, 'docker', name);
  const all = stages(file);
  const runtime = all.at(-1)!;
  const stageNames = new Set(all.map((s) => s.from.getBuildStage()).filter(Boolean));

  it('pins every base image by a versioned tag (not latest, not a floating name like bookworm-slim)', () => {
    for (const { from } of all) {
      if (stageNames.has(from.getImageName()!)) continue;
      expect(from.getImageTag(), from.getImage()!).toMatch(VERSIONED_TAG);
    }
  });

  it('is multi-stage: production dependencies installed with `npm ci --omit=dev` and copied into the runtime', () => {
    expect(all.length).toBeGreaterThanOrEqual(2);
    const installs = all.filter((s) => of(s, 'RUN').some((r) => /\bnpm ci\b[^&|;]*--omit=dev\b/.test(r.getArgumentsContent() ?? '')));
    expect(installs).toHaveLength(1);
    expect(installs[0]).not.toBe(runtime);
    const copied = of(runtime, 'COPY').find((c) => args(c).includes('./node_modules'));
    expect(copied && fromStage(copied)).toBe(installs[0]!.from.getBuildStage());
    // .npmrc goes in with the lock file: it keeps onnxruntime-node's download step off.
    expect(of(installs[0]!, 'COPY').map((c) => args(c)).flat()).toEqual(expect.arrayContaining(['package.json', 'package-lock.json', '.npmrc']));
  });

  it('runs as a numeric non-root user', () => {
    const users = of(runtime, 'USER');
    expect(users.length).toBeGreaterThan(0);
    const [uid] = args(users.at(-1)!)[0]!.split(':');
    expect(Number(uid)).toBeGreaterThan(0);
    const entrypoint = of(runtime, 'ENTRYPOINT')[0]!;
    expect(users.at(-1)!.getRange().start.line).toBeLessThan(entrypoint.getRange().start.line);
  });

  it('checks /healthz on the port it listens on, and runs `flan-serve serve`', () => {
    const healthchecks = of(runtime, 'HEALTHCHECK');
    expect(healthchecks).toHaveLength(1);
    expect(healthchecks[0]!.getArgumentsContent()).toMatch(/127\.0\.0\.1:'\+\(process\.env\.PORT\|\|8080\)\+'\/healthz/);
    expect(env(runtime).get('PORT')).toBe('8080');
    expect(env(runtime).get('HOST')).toBe('0.0.0.0');
    expect(args(of(runtime, 'EXPOSE')[0]!)).toEqual(['8080']);
    expect(of(runtime, 'ENTRYPOINT')[0]!.getArgumentsContent()).toContain('bin/flan-serve.js');
    expect(of(runtime, 'CMD')[0]!.getArgumentsContent()).toContain('serve');
  });

  it('keeps FLAN_DATA_DIR on a volume, and includes the embedded model', () => {
    const dataDir = env(runtime).get('FLAN_DATA_DIR')!;
    expect(dataDir).toBeTruthy();
    expect(of(runtime, 'VOLUME').map((v) => v.getArgumentsContent()).join(' ')).toContain(dataDir);
    const sources = of(runtime, 'COPY').filter((c) => !fromStage(c)).flatMap((c) => args(c).slice(0, -1));
    expect(sources).toContain('models/flan-mini');
    for (const source of sources) expect(existsSync(join(REPO, source)), source).toBe(true);
  });

  it('copies every top-level source folder the server may import', () => {
    const sources = new Set(of(runtime, 'COPY').filter((c) => !fromStage(c)).flatMap((c) => args(c).slice(0, -1)));
    const folders = readdirSync(REPO, { withFileTypes: true }).filter((e) => e.isDirectory() && !e.name.startsWith('.'));
    for (const folder of folders) {
      if (folder.name in NOT_IN_IMAGE) continue;
      expect(sources, `${folder.name}/ is neither copied into the image nor listed as left out`).toContain(folder.name);
    }
  });
});

describe('deploy/docker/Dockerfile.cuda', () => {
  const all = stages(join(DEPLOY, 'docker', 'Dockerfile.cuda'));
  const runtime = all.at(-1)!;

  it('runs on a CUDA 12 runtime base with FLAN_DEVICE=cuda', () => {
    expect(runtime.from.getImageName()).toBe('nvidia/cuda');
    expect(runtime.from.getImageTag()).toMatch(/^12\.\d+\.\d+-.*runtime/);
    expect(env(runtime).get('FLAN_DEVICE')).toBe('cuda');
  });

  it('installs onnxruntime-node with ONNXRUNTIME_NODE_INSTALL=cuda12 where it installs the dependencies', () => {
    const deps = all.find((s) => of(s, 'RUN').some((r) => /\bnpm ci\b/.test(r.getArgumentsContent() ?? '')))!;
    expect(env(deps).get('ONNXRUNTIME_NODE_INSTALL')).toBe('cuda12');
    // npm's allowScripts denies onnxruntime-node's install script, so the stage runs it itself.
    expect(of(deps, 'RUN').some((r) => (r.getArgumentsContent() ?? '').includes('node_modules/onnxruntime-node/script/install'))).toBe(true);
  });
});
