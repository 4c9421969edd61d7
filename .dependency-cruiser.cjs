// The import boundaries of src/, written once as an allowlist (docs/ARCHITECTURE.md, "Import
// direction", shows the same table). An import between areas that is not listed here fails
// `npm test`; so does an import of supabase-js outside src/realtime. Unit tests beside their
// files are exempt: they may reach into the area they test from any side.

/** Area name → its folder. Renaming a folder is a change to one line here. */
const AREAS = {
  cli: 'src/cli',
  server: 'src/server',
  report: 'src/report',
  dashboards: 'src/dashboards',
  alerts: 'src/alerts',
  load: 'src/load',
  diagnosis: 'src/diagnosis',
  probe: 'src/probe',
  slo: 'src/slo',
  'local-target': 'src/local-target',
  auth: 'src/auth',
  realtime: 'src/realtime',
  net: 'src/net',
  metrics: 'src/metrics',
  config: 'src/config',
  shared: 'src/shared',
};

/** Which other areas each area may import. Every area may import itself; nothing imports cli. */
const ALLOWED = {
  cli: Object.keys(AREAS).filter((area) => area !== 'cli'),
  server: ['probe', 'metrics', 'shared'],
  report: ['load', 'slo', 'metrics', 'shared'],
  dashboards: ['alerts', 'slo', 'metrics', 'shared'],
  alerts: ['slo', 'metrics', 'shared'],
  load: ['probe', 'auth', 'realtime', 'net', 'metrics', 'config', 'shared'],
  diagnosis: ['probe', 'slo', 'auth', 'net', 'metrics', 'config', 'shared'],
  probe: ['auth', 'realtime', 'net', 'metrics', 'config', 'shared'],
  slo: ['metrics', 'config', 'shared'],
  'local-target': ['config', 'shared'],
  auth: ['net', 'metrics', 'config', 'shared'],
  realtime: ['net', 'config', 'shared'],
  net: ['shared'],
  metrics: ['shared'],
  config: ['shared'],
  shared: [],
};

/** The only area that may import the Supabase client libraries (the adapter, habit 11). */
const CLIENT_ADAPTER = 'realtime';

const escapeRegExp = (text) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const under = (areas) => `^(${areas.map((area) => escapeRegExp(AREAS[area])).join('|')})/`;
const tests = '\\.test\\.ts$';

module.exports = {
  allowedSeverity: 'error',
  allowed: [
    // Anything outside src/ (packages, Node's own modules) is not a boundary question.
    { from: {}, to: { pathNot: '^src/' } },
    ...Object.entries(ALLOWED).map(([area, others]) => ({
      from: { path: under([area]) },
      to: { path: under([area, ...others]) },
    })),
  ],
  forbidden: [
    {
      name: 'supabase-client-outside-realtime',
      comment: `only ${AREAS[CLIENT_ADAPTER]} imports @supabase/*: one adapter folder for the client libraries`,
      severity: 'error',
      from: { path: '^src/', pathNot: [under([CLIENT_ADAPTER]), tests] },
      to: { path: 'node_modules/@supabase/' },
    },
  ],
  options: {
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    doNotFollow: { path: 'node_modules' },
    exclude: { path: tests },
  },
};

// The tables themselves, for the test that keeps docs/ARCHITECTURE.md in step (not enumerable,
// so dependency-cruiser's own config check does not see them).
Object.defineProperties(module.exports, {
  AREAS: { value: AREAS, enumerable: false },
  ALLOWED: { value: ALLOWED, enumerable: false },
});
