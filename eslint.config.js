// Lint rules, including the import direction the architecture promises (docs/ARCHITECTURE.md).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/** Areas each area must not import. Imports flow one way; nothing imports the CLI. */
const forbidden = {
  shared: [
    'config',
    'metrics',
    'realtime',
    'probe',
    'load',
    'slo',
    'report',
    'server',
    'dashboards',
    'target',
    'diagnosis',
    'cli',
  ],
  config: [
    'metrics',
    'realtime',
    'probe',
    'load',
    'slo',
    'report',
    'server',
    'dashboards',
    'target',
    'diagnosis',
    'cli',
  ],
  metrics: [
    'realtime',
    'probe',
    'load',
    'slo',
    'report',
    'server',
    'dashboards',
    'target',
    'diagnosis',
    'cli',
  ],
  realtime: [
    'metrics',
    'probe',
    'load',
    'slo',
    'report',
    'server',
    'dashboards',
    'target',
    'diagnosis',
    'cli',
  ],
  target: ['realtime', 'probe', 'load', 'slo', 'report', 'server', 'dashboards', 'diagnosis', 'cli'],
  probe: ['load', 'slo', 'report', 'server', 'dashboards', 'target', 'diagnosis', 'cli'],
  slo: [
    'realtime',
    'probe',
    'load',
    'report',
    'server',
    'dashboards',
    'alerts',
    'target',
    'diagnosis',
    'cli',
  ],
  load: ['slo', 'report', 'server', 'dashboards', 'target', 'diagnosis', 'cli'],
  report: ['realtime', 'server', 'dashboards', 'target', 'diagnosis', 'cli'],
  server: ['load', 'report', 'dashboards', 'target', 'diagnosis', 'cli'],
  dashboards: ['realtime', 'probe', 'load', 'report', 'server', 'target', 'diagnosis', 'cli'],
  alerts: ['realtime', 'probe', 'load', 'report', 'server', 'dashboards', 'target', 'diagnosis', 'cli'],
  diagnosis: ['load', 'report', 'server', 'dashboards', 'target', 'cli'],
};

const areaRules = Object.entries(forbidden).map(([area, banned]) => ({
  files: [`src/${area}/**/*.ts`],
  ignores: [`src/${area}/**/*.test.ts`],
  rules: {
    'no-restricted-imports': [
      'error',
      {
        patterns: banned.map((other) => ({
          group: [
            `../${other}/*`,
            `../../${other}/*`,
            `../../../${other}/*`,
            `../${other}`,
            `../../${other}`,
          ],
          message: `src/${area} must not import src/${other} (see docs/ARCHITECTURE.md, "Import direction").`,
        })),
      },
    ],
  },
}));

export default tseslint.config(
  {
    ignores: [
      'dist/**',
      'node_modules/**',
      'coverage/**',
      'artifacts/**',
      'packages/*/node_modules/**',
      'packages/*/dist/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { ecmaVersion: 2023, sourceType: 'module' },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-explicit-any': 'error',
    },
  },
  {
    files: ['**/*.js', '**/*.mjs', '**/*.cjs'],
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  ...areaRules,
);
