/* global process */
// `npm start`'s build step. When dist/ is newer than every source and config file it does nothing
// (a few milliseconds); otherwise it transpiles src/ file by file (TypeScript's transpileModule,
// which isolatedModules makes equivalent to tsc's emit) in a few seconds instead of a full tsc.
// Type checking stays with `npm run typecheck` / `npm test`, and `npm run build` (tsc) is still the
// checked build that `npm pack` and the Dockerfile use.
import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const outDir = path.join(root, 'dist');
const stamp = path.join(outDir, '.start-build');

function sources() {
  return fs
    .readdirSync(path.join(root, 'src'), { recursive: true })
    .map(String)
    .filter((file) => file.endsWith('.ts') && !file.endsWith('.test.ts'))
    .map((file) => path.join(root, 'src', file));
}

const inputs = [
  ...sources(),
  ...['tsconfig.json', 'tsconfig.build.json', 'package.json'].map((f) => path.join(root, f)),
];
const newest = Math.max(...inputs.map((file) => fs.statSync(file).mtimeMs));
const built = fs.existsSync(stamp) && fs.existsSync(path.join(outDir, 'cli', 'main.js'));
if (
  built &&
  fs.statSync(stamp).mtimeMs >= newest &&
  fs.readFileSync(stamp, 'utf8') === `${inputs.length}\n`
) {
  process.stdout.write('dist/ is up to date\n');
  process.exit(0);
}

const started = performance.now();
const { default: ts } = await import('typescript');
const configFile = path.join(root, 'tsconfig.build.json');
const read = ts.readConfigFile(configFile, ts.sys.readFile);
const parsed = ts.parseJsonConfigFileContent(read.config, ts.sys, root, undefined, configFile);
const { incremental: _incremental, tsBuildInfoFile: _buildInfo, ...options } = parsed.options;
// NodeNext picks each file's format from package.json ("type": "module"), which transpileModule
// cannot see: say ES modules outright, as tsc emits them here.
const compilerOptions = {
  ...options,
  module: ts.ModuleKind.ESNext,
  moduleResolution: ts.ModuleResolutionKind.Bundler,
};
fs.rmSync(outDir, { recursive: true, force: true });
let failed = false;
for (const file of parsed.fileNames) {
  const relative = path.relative(path.join(root, 'src'), file).replace(/\.ts$/, '.js');
  const output = ts.transpileModule(fs.readFileSync(file, 'utf8'), {
    fileName: file,
    compilerOptions,
    reportDiagnostics: true,
  });
  for (const diagnostic of output.diagnostics ?? []) {
    failed = true;
    process.stderr.write(
      ts.formatDiagnostic(diagnostic, {
        getCanonicalFileName: (f) => f,
        getCurrentDirectory: () => root,
        getNewLine: () => '\n',
      }),
    );
  }
  const target = path.join(outDir, relative);
  fs.mkdirSync(path.dirname(target), { recursive: true });
  fs.writeFileSync(target, output.outputText);
  if (output.sourceMapText) fs.writeFileSync(`${target}.map`, output.sourceMapText);
}
if (failed) process.exit(1);
fs.writeFileSync(stamp, `${inputs.length}\n`);
process.stdout.write(
  `dist/: ${parsed.fileNames.length} files transpiled in ${((performance.now() - started) / 1000).toFixed(1)} s\n`,
);
