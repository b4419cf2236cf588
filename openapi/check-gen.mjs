// CI staleness check: regenerate the OpenAPI types into a temporary file and fail when they differ from
// the committed openapi/types.gen.ts, so that the spec and the types the server compiles against agree.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const dir = mkdtempSync(join(tmpdir(), 'flan-gen-'));
try {
  const fresh = join(dir, 'types.gen.ts');
  execFileSync('npx', ['openapi-typescript', 'openapi/openapi.yaml', '-o', fresh], { stdio: 'ignore' });
  if (readFileSync(fresh, 'utf8') !== readFileSync('openapi/types.gen.ts', 'utf8')) {
    console.error('openapi/types.gen.ts is stale: run `npm run gen` and commit the result');
    process.exit(1);
  }
  console.log('openapi/types.gen.ts is up to date');
} finally {
  rmSync(dir, { recursive: true, force: true });
}
