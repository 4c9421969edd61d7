/* global process */
// Transpiles src/*.ts to dist/*.js file by file. Type checking is `tsc -p` on this folder
// (the root `typecheck` script runs it); the engine's types come from the core's sources while
// its runtime imports the core's build output, so a whole-program emit would also emit the core.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const here = path.dirname(fileURLToPath(import.meta.url));
const sourceDir = path.join(here, 'src');
// `--out-dir <dir>` builds elsewhere (tests build a private copy so parallel runs never share one).
const outFlag = process.argv.indexOf('--out-dir');
const outDir =
  outFlag > 0 && process.argv[outFlag + 1]
    ? path.resolve(process.argv[outFlag + 1])
    : path.join(here, 'dist');

fs.rmSync(outDir, { recursive: true, force: true });
fs.mkdirSync(outDir, { recursive: true });
const sources = fs
  .readdirSync(sourceDir)
  .filter((name) => name.endsWith('.ts') && !name.endsWith('.test.ts'));
for (const name of sources) {
  const source = fs.readFileSync(path.join(sourceDir, name), 'utf8');
  const output = ts.transpileModule(source, {
    fileName: name,
    compilerOptions: {
      module: ts.ModuleKind.ESNext,
      target: ts.ScriptTarget.ES2022,
      verbatimModuleSyntax: true,
      sourceMap: false,
    },
    reportDiagnostics: true,
  });
  const problems = output.diagnostics ?? [];
  if (problems.length > 0) {
    const text = ts.formatDiagnostics(problems, {
      getCanonicalFileName: (file) => file,
      getCurrentDirectory: () => here,
      getNewLine: () => '\n',
    });
    process.stderr.write(text);
    process.exit(1);
  }
  fs.writeFileSync(path.join(outDir, name.replace(/\.ts$/, '.js')), output.outputText);
}
process.stdout.write(
  `artillery-engine-canary: ${sources.length} files → ${path.relative(process.cwd(), outDir) || outDir}\n`,
);
