#!/usr/bin/env node
// Builds the native kernels (binding.gyp, native/*.c) into
// build/Release/fedplora.node with node-gyp. It runs as the package's npm
// `install` script, so it never fails the install: when the build or the
// test load fails it prints one line saying why and that the (slower)
// TypeScript kernels will be used, and exits 0. FEDPLORA_SKIP_NATIVE=1 skips it.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const addon = path.join(root, 'build', 'Release', 'fedplora.node');
const FALLBACK = 'the slower TypeScript kernels will be used';

function giveUp(why) {
  console.error(`fedplora: the native addon could not be built: ${why}; ${FALLBACK}.`);
  process.exit(0);
}

if (process.env.FEDPLORA_SKIP_NATIVE === '1') {
  console.error(`fedplora: FEDPLORA_SKIP_NATIVE=1, native addon not built; ${FALLBACK}.`);
  process.exit(0);
}

/** node-gyp's entry script: npm's (it tells scripts where), else the one bundled beside node. */
function findNodeGyp() {
  const candidates = [
    process.env.npm_config_node_gyp,
    path.join(path.dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
    path.join(path.dirname(process.execPath), 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
  ];
  for (const file of candidates) if (file && existsSync(file)) return file;
  try {
    return createRequire(import.meta.url).resolve('node-gyp/bin/node-gyp.js');
  } catch {
    return undefined;
  }
}

/** The first line of the build output that explains a failure, with a hint when it is a known one. */
function diagnose(output) {
  const lines = output
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  const hints = [
    [/cblas\.h|openblas|-lopenblas|cannot find -l(open)?blas/i, 'install libopenblas-dev (Debian/Ubuntu) or openblas-devel'],
    [
      /node_api\.h|common\.gypi|download|ENOTFOUND|EAI_AGAIN|ECONNREFUSED|getaddrinfo/i,
      'node headers not found (offline? set npm_config_nodedir to the folder holding include/node)',
    ],
    [/find Python|python.*not found|No Python/i, 'install python3'],
    [/not found: make|make: not found|`make` failed|gmake/i, 'install make'],
    [/(cc|gcc|g\+\+|clang)[: ].*(not found|No such file)|CC.*not found/i, 'install a C compiler (build-essential)'],
    [/Xcode|xcrun/i, 'install the Xcode command line tools'],
  ];
  const first =
    lines.find((l) => /fatal error|error:|undefined reference|cannot find -l/i.test(l)) ??
    lines.find((l) => /^gyp ERR!.*(stack )?Error:/.test(l) && !/not ok/.test(l)) ??
    lines.find((l) => /ERR!|error/i.test(l)) ??
    lines.at(-1) ??
    'no output';
  const hint = hints.find(([re]) => re.test(first) || re.test(output));
  return hint ? `${first.replace(/^gyp ERR! ?(stack )?/, '')} (${hint[1]})` : first.replace(/^gyp ERR! ?(stack )?/, '');
}

const nodeGyp = findNodeGyp();
if (!nodeGyp) giveUp('node-gyp not found (it ships with npm)');

const args = [nodeGyp, 'rebuild', '--jobs=max'];
// Offline: use the installed headers (e.g. /usr/include/node) rather than downloading them.
if (!process.env.npm_config_nodedir) {
  const prefix = path.resolve(path.dirname(process.execPath), '..');
  if (existsSync(path.join(prefix, 'include', 'node', 'node_api.h')) && existsSync(path.join(prefix, 'include', 'node', 'common.gypi'))) {
    args.push(`--nodedir=${prefix}`);
  }
}

const build = spawnSync(process.execPath, args, { cwd: root, encoding: 'utf8', timeout: 15 * 60 * 1000, maxBuffer: 64 << 20 });
const output = `${build.stdout ?? ''}\n${build.stderr ?? ''}`;
if (build.error) giveUp(`node-gyp did not run: ${build.error.message}`);
if (build.status !== 0 || !existsSync(addon)) giveUp(diagnose(output));

// Load it once in a child process: a missing shared library shows up here, not at build time.
const probe = spawnSync(
  process.execPath,
  [
    '-e',
    'const a = require(process.argv[1]); const c = new Float32Array(1); a.matmul(c, new Float32Array([2]), new Float32Array([3]), 1, 1, 1, false, false, 1, 0); if (c[0] !== 6) throw new Error("matmul gave " + c[0]);',
    addon,
  ],
  { encoding: 'utf8', timeout: 60 * 1000 },
);
if (probe.status !== 0) {
  const why = `${probe.stderr ?? ''}`.split('\n').find((l) => /Error|error/.test(l)) ?? `exit status ${probe.status}`;
  giveUp(`it was built but does not load: ${why.trim()}`);
}
console.error(`fedplora: native addon built (${path.relative(root, addon)}).`);
