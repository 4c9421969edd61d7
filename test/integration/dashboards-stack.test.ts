/**
 * The docker-compose stack as files: docker-compose accepts it, the `local-target` profile runs
 * `canary target`, Prometheus' config (with the generated rules) passes promtool, Grafana is
 * provisioned with the generated dashboards where the compose file mounts them, the Dockerfile
 * builds the way the stack expects, and the canary config the container runs is valid.
 */
import { execFile } from 'node:child_process';
import { builtinModules } from 'node:module';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { parseDurationMs } from '../../src/shared/index.js';
import { loadSloFile } from '../../src/slo/index.js';
import { loadCanaryConfig } from '../../src/config/index.js';

const run = promisify(execFile);
const root = path.resolve(import.meta.dirname, '../..');
const composeFile = path.join(root, 'docker-compose.yml');

function tool(name: string, apt: string): string | undefined {
  const found = (process.env.PATH ?? '')
    .split(path.delimiter)
    .map((dir) => path.join(dir, name))
    .find((candidate) => fs.existsSync(candidate));
  if (!found && process.env.CI === 'true') {
    throw new Error(`${name} is required under CI=true: apt-get install ${apt} (see .ci/run)`);
  }
  return found;
}

const dockerCompose = tool('docker-compose', 'docker-compose');
const promtool = tool('promtool', 'prometheus');

interface ComposeService {
  build?: string | { context: string };
  image?: string;
  command?: string[];
  profiles?: string[];
  ports?: unknown[];
  volumes?: (string | { source: string; target: string })[];
  environment?: Record<string, string>;
}
interface Compose {
  services: Record<string, ComposeService>;
}

/** `host:container[:mode]` or the long form docker-compose config prints → [source, target]. */
function mounts(service: ComposeService | undefined): [string, string][] {
  return (service?.volumes ?? []).map((volume) => {
    if (typeof volume !== 'string') return [volume.source, volume.target];
    const [source = '', target = ''] = volume.split(':');
    return [source, target];
  });
}

describe.skipIf(!dockerCompose)('docker-compose', () => {
  it('accepts docker-compose.yml', async () => {
    await run(dockerCompose as string, ['-f', composeFile, 'config', '-q'], { cwd: root });
  });

  it('runs prometheus, alertmanager, grafana and the canary, and `canary target` under the local-target profile', async () => {
    const { stdout } = await run(
      dockerCompose as string,
      ['-f', composeFile, '--profile', 'local-target', 'config'],
      {
        cwd: root,
      },
    );
    const compose = parse(stdout) as Compose;
    expect(Object.keys(compose.services).sort()).toEqual([
      'alertmanager',
      'canary',
      'grafana',
      'prometheus',
      'pushgateway',
      'target',
    ]);
    expect(compose.services.target?.profiles).toEqual(['local-target']);
    expect(compose.services.target?.command?.[0]).toBe('target');
    expect(compose.services.canary?.profiles).toBeUndefined();
    const context = compose.services.canary?.build;
    expect(typeof context === 'string' ? context : context?.context).toBe(root);
  });
});

describe('the compose files agree with each other', () => {
  const compose = parse(fs.readFileSync(composeFile, 'utf8')) as Compose;

  it('mount the generated rules where prometheus.yml loads them from', () => {
    const prometheus = compose.services.prometheus;
    expect(mounts(prometheus)).toContainEqual(['./prometheus', '/etc/prometheus']);
    expect(prometheus?.command).toContain('--config.file=/etc/prometheus/prometheus.yml');
    const config = parse(fs.readFileSync(path.join(root, 'prometheus/prometheus.yml'), 'utf8')) as {
      rule_files: string[];
      scrape_configs: { job_name: string; static_configs: { targets: string[] }[] }[];
    };
    expect(config.rule_files).toEqual(['rules/*.yaml']);
    const canaryJob = config.scrape_configs.find((job) => job.job_name === 'canary');
    expect(canaryJob?.static_configs[0]?.targets).toEqual(['canary:9464']);
  });

  it('keep data longer than the longest SLO window on a current Prometheus 3 that accepts pushed runs', () => {
    const prometheus = compose.services.prometheus;
    expect(prometheus?.image).toMatch(/^prom\/prometheus:v3\.\d+\.\d+$/);
    const retention = prometheus?.command?.find((flag) => flag.startsWith('--storage.tsdb.retention.time='));
    expect(retention, 'the 15-day default is shorter than a 28-day SLO').toBeDefined();
    const kept = parseDurationMs(retention?.split('=')[1] ?? '') ?? 0;
    const longest = Math.max(
      ...fs
        .readdirSync(path.join(root, 'slos'))
        .flatMap((name) => loadSloFile(path.join(root, 'slos', name)).slos)
        .map((slo) => parseDurationMs(slo.window) ?? 0),
    );
    expect(longest).toBeGreaterThanOrEqual(28 * 86_400_000);
    expect(kept).toBeGreaterThan(longest);
    expect(prometheus?.command).toContain('--web.enable-remote-write-receiver');
    const config = parse(fs.readFileSync(path.join(root, 'prometheus/prometheus.yml'), 'utf8')) as {
      scrape_configs: { job_name: string; honor_labels?: boolean; static_configs: { targets: string[] }[] }[];
    };
    const pushgateway = config.scrape_configs.find((job) => job.job_name === 'pushgateway');
    expect(pushgateway?.honor_labels).toBe(true);
    expect(pushgateway?.static_configs[0]?.targets).toEqual(['pushgateway:9091']);
    expect(compose.services.pushgateway?.image).toMatch(/^prom\/pushgateway:v1\./);
  });

  it('provision Grafana with every generated dashboard and the Prometheus datasource', () => {
    const grafana = compose.services.grafana;
    const provider = parse(
      fs.readFileSync(path.join(root, 'grafana/provisioning/dashboards/realtime-canary.yaml'), 'utf8'),
    ) as { providers: { options: { path: string } }[] };
    const dashboardsPath = provider.providers[0]?.options.path;
    expect(mounts(grafana)).toContainEqual(['./dashboards', dashboardsPath]);
    expect(mounts(grafana)).toContainEqual(['./grafana/provisioning', '/etc/grafana/provisioning']);
    const home = grafana?.environment?.GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH ?? '';
    expect(fs.existsSync(path.join(root, 'dashboards', path.basename(home)))).toBe(true);

    const datasources = parse(
      fs.readFileSync(path.join(root, 'grafana/provisioning/datasources/prometheus.yaml'), 'utf8'),
    ) as { datasources: { type: string; url: string; isDefault: boolean }[] };
    expect(datasources.datasources).toEqual([
      expect.objectContaining({ type: 'prometheus', url: 'http://prometheus:9090', isDefault: true }),
    ]);
    expect(fs.readdirSync(path.join(root, 'dashboards')).filter((f) => f.endsWith('.json'))).toHaveLength(4);
  });

  it('run the canary from a multi-stage Node 22 image as a non-root user with a /healthz check', () => {
    const dockerfile = fs.readFileSync(path.join(root, 'Dockerfile'), 'utf8');
    expect(dockerfile).toMatch(/^ARG NODE_VERSION=22-/m);
    expect(dockerfile.match(/^FROM /gm)).toHaveLength(2);
    expect(dockerfile).toMatch(/^RUN npm ci\b/m);
    expect(dockerfile).toMatch(/npm run build/);
    expect(dockerfile).toMatch(/^USER node$/m);
    expect(dockerfile).toMatch(/^EXPOSE 9464$/m);
    expect(dockerfile).toMatch(/HEALTHCHECK[\s\S]*\/healthz/);
    expect(dockerfile).toMatch(/^CMD \["run", "--host", "0.0.0.0"\]$/m);
    expect(compose.services.canary?.command).toEqual(['run', '--host', '0.0.0.0']);
  });

  it('run the default configuration in the container, its exporter reachable from Prometheus', () => {
    const config = loadCanaryConfig(path.join(root, 'canary.yaml'));
    expect(config.server.port).toBe(9464);
    expect(config.environments.some((env) => env.local !== undefined)).toBe(true);
    expect(compose.services.canary?.ports).toContain('9464:9464');
  });
});

describe.skipIf(!promtool)('promtool', () => {
  it('accepts prometheus/prometheus.yml together with the rule files it loads', async () => {
    const { stdout } = await run(promtool as string, [
      'check',
      'config',
      path.join(root, 'prometheus/prometheus.yml'),
    ]);
    expect(stdout).toMatch(/SUCCESS: 2 rule files found/);
    expect(stdout).not.toContain('FAILED');
  });
});

/**
 * Every module the CLI loads statically, following relative imports from src/cli/main.ts;
 * `import type` and `import()` are not followed (the dashboards area is loaded with `import()`).
 */
function staticImports(entry: string): { files: Set<string>; packages: Set<string> } {
  const files = new Set<string>();
  const packages = new Set<string>();
  const pending = [entry];
  const pattern = /^\s*(?:import|export)\s+(?!type\b)(?:[^'";]*?\s+from\s+)?'([^']+)'/gm;
  while (pending.length > 0) {
    const file = pending.pop() as string;
    if (files.has(file)) continue;
    files.add(file);
    for (const match of fs.readFileSync(file, 'utf8').matchAll(pattern)) {
      const specifier = match[1] as string;
      if (specifier.startsWith('.')) {
        pending.push(path.resolve(path.dirname(file), specifier.replace(/\.js$/, '.ts')));
      } else {
        const parts = specifier.split('/');
        packages.add(specifier.startsWith('@') ? parts.slice(0, 2).join('/') : (parts[0] as string));
      }
    }
  }
  return { files, packages };
}

describe('the production image', () => {
  it('has every package the CLI imports statically among the dependencies `npm prune --omit=dev` keeps', () => {
    const manifest = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as {
      dependencies: Record<string, string>;
    };
    const { files, packages } = staticImports(path.join(root, 'src/cli/main.ts'));
    expect(files.size).toBeGreaterThan(20);
    const builtins = new Set(builtinModules);
    const missing = [...packages].filter(
      (name) => !name.startsWith('node:') && !builtins.has(name) && !(name in manifest.dependencies),
    );
    expect(missing).toEqual([]);
    // The dashboard builders need the Grafana SDK, the largest dependency: only `canary generate` loads them, lazily.
    expect([...files].some((file) => file.includes(`${path.sep}src${path.sep}dashboards${path.sep}`))).toBe(
      false,
    );
  });
});
