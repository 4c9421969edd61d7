/**
 * The production image without a Docker engine: its file list is computed from the Dockerfile's
 * COPY lines and .dockerignore, and must hold everything `canary run` reads (the built CLI, the
 * default config and the probe and SLO files it names, the migrations) and everything the npm
 * package ships. And every way the project starts the canary as a service — the image, compose,
 * the Kubernetes manifests — runs the binary itself, never `npm start` (npm does not pass SIGTERM on,
 * so a stopped service would leave the canary running).
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { repoRoot } from './load-support.js';

interface Copy {
  from?: string;
  sources: string[];
  dest: string;
}

interface Stage {
  name: string;
  workdir: string;
  copies: Copy[];
  runs: string[];
  lines: string[];
}

/** The Dockerfile's stages with their COPY and RUN instructions (continuation lines joined). */
function stages(text: string): Stage[] {
  const out: Stage[] = [];
  const instructions = text
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
  for (const line of instructions) {
    const [keyword, ...rest] = line.split(/\s+/);
    if (keyword === 'FROM') {
      out.push({
        name: /\bAS\s+(\S+)/i.exec(line)?.[1] ?? String(out.length),
        workdir: '/',
        copies: [],
        runs: [],
        lines: [],
      });
      continue;
    }
    const stage = out.at(-1);
    if (stage === undefined) continue; // ARGs before the first FROM
    stage.lines.push(line);
    if (keyword === 'WORKDIR') stage.workdir = path.posix.resolve(stage.workdir, rest[0]!);
    if (keyword === 'RUN') stage.runs.push(rest.join(' '));
    if (keyword === 'COPY') {
      const flags = rest.filter((word) => word.startsWith('--'));
      const paths = rest.filter((word) => !word.startsWith('--'));
      const from = flags.find((flag) => flag.startsWith('--from='))?.slice('--from='.length);
      out.at(-1)!.copies.push({
        ...(from ? { from } : {}),
        sources: paths.slice(0, -1),
        dest: path.posix.resolve(stage.workdir, paths.at(-1)!),
      });
    }
  }
  return out;
}

/** .dockerignore patterns as matchers on context-relative paths (a match excludes the subtree). */
function ignoreMatcher(text: string): (relative: string) => boolean {
  const patterns = text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((pattern) => {
      const source = pattern
        .replace(/^\//, '')
        .replace(/[.+^${}()|[\]\\]/g, '\\$&')
        .replace(/\*\*/g, '\0')
        .replace(/\*/g, '[^/]*')
        .replace(/\?/g, '[^/]')
        .replace(/\0/g, '.*');
      return new RegExp(`^${source}(/.*)?$`);
    });
  return (relative) => patterns.some((pattern) => pattern.test(relative));
}

function filesUnder(absolute: string): string[] {
  if (!fs.existsSync(absolute)) return [];
  if (fs.statSync(absolute).isFile()) return [absolute];
  return fs
    .readdirSync(absolute, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => path.join(entry.parentPath, entry.name));
}

/** Files a stage copies in from the build context, as absolute paths in the image. */
function copiedFromContext(stage: Stage, ignored: (relative: string) => boolean): Map<string, string> {
  const image = new Map<string, string>();
  for (const copy of stage.copies.filter((c) => c.from === undefined)) {
    const toDirectory =
      copy.sources.length > 1 || copy.dest.endsWith('/') || copy.sources.some((s) => !s.includes('.'));
    for (const source of copy.sources) {
      for (const file of filesUnder(path.join(repoRoot, source))) {
        const relative = path.relative(repoRoot, file).split(path.sep).join('/');
        if (ignored(relative)) continue;
        const inSource = path.relative(path.join(repoRoot, source), file).split(path.sep).join('/');
        const target =
          inSource === ''
            ? toDirectory
              ? path.posix.join(copy.dest, path.posix.basename(relative))
              : copy.dest
            : path.posix.join(copy.dest, inSource);
        image.set(target, relative);
      }
    }
  }
  return image;
}

const dockerfile = fs.readFileSync(path.join(repoRoot, 'Dockerfile'), 'utf8');
const ignored = ignoreMatcher(fs.readFileSync(path.join(repoRoot, '.dockerignore'), 'utf8'));
const [build, runtime] = stages(dockerfile);

/** The runtime image's files under its WORKDIR, relative to it. */
function runtimeFiles(): Set<string> {
  const files = new Set<string>();
  const add = (absolute: string) => files.add(path.posix.relative(runtime!.workdir, absolute));
  for (const target of copiedFromContext(runtime!, ignored).keys()) add(target);
  const buildContext = copiedFromContext(build!, ignored);
  for (const copy of runtime!.copies.filter((c) => c.from === build!.name)) {
    for (const source of copy.sources) {
      if (source === path.posix.join(build!.workdir, 'dist')) {
        // `npm run build` (tsc -p tsconfig.build.json) compiles the src/ the build stage copied in.
        for (const [target] of buildContext) {
          const inSrc = path.posix.relative(path.posix.join(build!.workdir, 'src'), target);
          if (inSrc.startsWith('..') || !inSrc.endsWith('.ts') || inSrc.endsWith('.test.ts')) continue;
          add(path.posix.join(copy.dest, inSrc.replace(/\.ts$/, '.js')));
        }
      } else if (source === path.posix.join(build!.workdir, 'node_modules')) {
        add(path.posix.join(copy.dest, '.production-dependencies'));
      }
    }
  }
  return files;
}

describe('the production image', () => {
  const files = runtimeFiles();

  it('is built in a stage that copies the sources and compiles them, and keeps only production dependencies', () => {
    const context = [...copiedFromContext(build!, ignored).values()];
    expect(context).toEqual(
      expect.arrayContaining(['package.json', 'package-lock.json', 'tsconfig.build.json', 'src/cli/main.ts']),
    );
    expect(context.filter((file) => file.startsWith('test/') || file.startsWith('node_modules/'))).toEqual(
      [],
    );
    expect(build!.runs.join('\n')).toMatch(/npm run build && npm prune --omit=dev/);
    expect(files.has('node_modules/.production-dependencies')).toBe(true);
  });

  it('holds everything canary run reads: the CLI, the default config, its probe and SLO files, the migrations', () => {
    const config = parse(fs.readFileSync(path.join(repoRoot, 'canary.yaml'), 'utf8')) as {
      probes: { file?: string }[];
      sloFiles?: string[];
    };
    const needed = [
      'dist/cli/main.js',
      'dist/local-target/database/migrations.js',
      'package.json',
      'canary.yaml',
      ...config.probes.flatMap((probe) => (probe.file ? [probe.file] : [])),
      ...(config.sloFiles ?? []),
      ...fs.readdirSync(path.join(repoRoot, 'migrations')).map((name) => `migrations/${name}`),
    ];
    expect(needed.filter((file) => !files.has(file))).toEqual([]);
    const entrypoint = /^ENTRYPOINT \["node", "([^"]+)"\]$/m.exec(dockerfile)?.[1];
    expect(entrypoint).toBe('dist/cli/main.js');
  });

  it('holds everything the npm package ships, so the image runs every command the package does', () => {
    const manifest = JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as {
      files: string[];
    };
    for (const entry of manifest.files) {
      if (entry.startsWith('dist/')) continue; // compiled in the build stage, checked above
      const shipped = filesUnder(path.join(repoRoot, entry)).map((file) =>
        path.relative(repoRoot, file).split(path.sep).join('/'),
      );
      expect(shipped.length, entry).toBeGreaterThan(0);
      expect(
        shipped.filter((file) => !files.has(file)),
        entry,
      ).toEqual([]);
    }
    expect([...files].filter((file) => /^(test|bench|docs|\.git)\//.test(file))).toEqual([]);
  });
});

describe('every service definition', () => {
  it('starts the canary binary itself, never through npm', () => {
    expect(dockerfile).toMatch(/^ENTRYPOINT \["node", "dist\/cli\/main\.js"\]$/m);
    expect(dockerfile).not.toMatch(/^(CMD|ENTRYPOINT) .*\bnpm\b/m);
    const compose = parse(fs.readFileSync(path.join(repoRoot, 'docker-compose.yml'), 'utf8')) as {
      services: Record<string, { build?: unknown; command?: string[]; entrypoint?: unknown }>;
    };
    const canaries = Object.entries(compose.services).filter(([, service]) => service.build !== undefined);
    expect(canaries.length).toBeGreaterThan(0);
    for (const [name, service] of canaries) {
      expect(service.entrypoint, name).toBeUndefined();
      expect(service.command?.join(' ') ?? '', name).not.toMatch(/\bnpm\b/);
    }
    const manifests = fs
      .readdirSync(path.join(repoRoot, 'deploy', 'kubernetes'), { recursive: true })
      .map(String)
      .filter((file) => file.endsWith('.yaml'));
    let containers = 0;
    for (const file of manifests) {
      const text = fs.readFileSync(path.join(repoRoot, 'deploy', 'kubernetes', file), 'utf8');
      for (const document of parseAllDocuments(text)) {
        const object = document.toJS() as {
          spec?: { template?: { spec?: { containers?: { command?: string[]; args?: string[] }[] } } };
        } | null;
        for (const container of object?.spec?.template?.spec?.containers ?? []) {
          containers += 1;
          expect(container.command, file).toBeUndefined();
          expect(container.args?.join(' ') ?? '', file).not.toMatch(/\bnpm\b/);
        }
      }
    }
    expect(containers).toBeGreaterThanOrEqual(2);
  });
});
