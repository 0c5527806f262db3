/**
 * The source folders in dependency order: a folder imports only from folders
 * on earlier lines (and from its own). `npm run lint` checks it, with no
 * cycles between files.
 */
const LAYERS = [
  ['util', 'io', 'transport'],
  ['kernels'],
  ['layers'],
  ['model'],
  ['lora'],
  ['optim'],
  ['data'],
  ['metrics'],
  ['eval'],
  ['train'],
  ['methods'],
  ['federation'],
  ['report', 'baselines'],
  ['experiment'],
  ['cli'],
];

const KNOWN = `^src/(index\\.ts|(${LAYERS.flat().join('|')})/)`;

const upward = LAYERS.flatMap((folders, level) => {
  const above = LAYERS.slice(level + 1).flat();
  return folders.map((folder) => ({
    name: `${folder}-imports-upward`,
    comment: `src/${folder} may import only from folders listed before it in .dependency-cruiser.cjs`,
    severity: 'error',
    from: { path: `^src/${folder}/` },
    // folders on one line are independent of each other
    to: { path: `^src/(${[...above, ...folders.filter((f) => f !== folder)].join('|')})/` },
  }));
});

module.exports = {
  forbidden: [
    { name: 'no-circular', comment: 'files import each other, directly or through others', severity: 'error', from: {}, to: { circular: true } },
    // every folder of src/ has a place in LAYERS: files of an unlisted folder may neither import nor be imported
    { name: 'unlisted-folder-imports', severity: 'error', from: { path: '^src/', pathNot: KNOWN }, to: {} },
    { name: 'unlisted-folder-imported', severity: 'error', from: {}, to: { path: '^src/', pathNot: KNOWN } },
    ...upward,
  ],
  options: {
    tsPreCompilationDeps: true,
    doNotFollow: { path: 'node_modules' },
    tsConfig: { fileName: 'tsconfig.json' },
    exclude: { path: '^src/transport/gen/' },
  },
};
