import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const GENERATED = 'src/transport/gen';

function filesUnder(dir: string): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    files.set(relative(dir, path), readFileSync(path));
  }
  return files;
}

test('src/transport/gen is what `npm run generate` makes from proto/', () => {
  const out = mkdtempSync(join(tmpdir(), 'fedplora-gen-'));
  try {
    // buf reads buf.gen.yaml from ROOT and writes its `out` under --output, leaving the committed copy alone.
    execFileSync(join(ROOT, 'node_modules/.bin/buf'), ['generate', '--output', out], { cwd: ROOT, stdio: 'pipe' });
    const fresh = filesUnder(join(out, GENERATED));
    const committed = filesUnder(join(ROOT, GENERATED));
    assert.ok(fresh.size > 0, 'buf generated nothing; check buf.gen.yaml');
    assert.deepEqual(
      [...committed.keys()].sort(),
      [...fresh.keys()].sort(),
      'generated files differ from the committed ones: run `npm run generate` and commit src/transport/gen',
    );
    for (const [name, bytes] of fresh) {
      assert.ok(committed.get(name)?.equals(bytes), `${GENERATED}/${name} is stale: run \`npm run generate\` after changing proto/ and commit the result`);
    }
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
