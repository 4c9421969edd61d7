/**
 * The top-level config (`canary.yaml`, `environments/*.yaml`): environments, probes (inline or
 * `file:` references to probes/*.yaml), the exporter's address and SLO spec files. `include:`
 * merges other config files. Every file is validated and every problem in every file is reported
 * in one CONFIG_INVALID error. Relative paths are resolved from the file that names them.
 */
import path from 'node:path';
import { z } from 'zod';
import { environmentSchema, type EnvironmentConfig } from './environment-schema.js';
import { probeFileSchema, probeSchema, type ProbeSpec } from './probe-schema.js';
import {
  configInvalid,
  configIssues,
  parseYamlText,
  readConfigFile,
  type ConfigIssue,
} from './yaml-loader.js';
import { CanaryError } from '../shared/index.js';

export const CONFIG_VERSION = 'canary/v1';

const version = z.literal(CONFIG_VERSION, {
  error: `write \`version: ${CONFIG_VERSION}\` as the first line`,
});

const probeReferenceSchema = z.object({ file: z.string().min(1) }).strict();

export const serverSchema = z
  .object({
    host: z.string().min(1).default('127.0.0.1'),
    port: z.number().int().min(0).max(65_535).default(9464),
  })
  .strict();

export const canaryFileSchema = z
  .object({
    version,
    include: z.array(z.string().min(1)).default([]),
    /** Entries are checked one by one below, so one bad entry does not hide the others' issues. */
    environments: z.array(z.unknown()).default([]),
    /** Each entry is `{file: …}` or an inline probe; checked one by one below for precise errors. */
    probes: z.array(z.unknown()).default([]),
    server: serverSchema.optional(),
    sloFiles: z.array(z.string().min(1)).default([]),
  })
  .strict();

export type ServerConfig = z.output<typeof serverSchema>;

/** A whole validated configuration, includes merged and probe files read. */
export interface CanaryConfig {
  /** The file the configuration was loaded from (as given). */
  file: string;
  environments: EnvironmentConfig[];
  probes: ProbeSpec[];
  server: ServerConfig;
  /** Absolute paths. */
  sloFiles: string[];
  /** Which file declared each environment / probe (for errors that happen later). */
  sources: { environments: Record<string, string>; probes: Record<string, string> };
}

export interface LoadConfigOptions {
  /**
   * Extra validation of each local environment's `faults` (the CLI passes the target's fault
   * schema, which config may not import); its issues are reported with the others.
   */
  localFaultsSchema?: z.ZodType;
  /**
   * Also check that every remote environment has what its probes need to publish and poll
   * (waiverUrl, serviceRoleKeyEnv, queueUrl). `canary run` asks for this; commands that only
   * read environments (audit, load against local targets) do not.
   */
  checkProbeNeeds?: boolean;
}

/** Loads and validates a config file and everything it references. Throws CONFIG_* errors. */
export function loadCanaryConfig(file: string, options: LoadConfigOptions = {}): CanaryConfig {
  const issues: ConfigIssue[] = [];
  const config: CanaryConfig = {
    file,
    environments: [],
    probes: [],
    server: serverSchema.parse({}),
    sloFiles: [],
    sources: { environments: {}, probes: {} },
  };
  const seen = new Set<string>();
  let serverSetBy: string | undefined;

  const visit = (current: string, includedFrom: string | undefined): void => {
    const absolute = path.resolve(current);
    if (seen.has(absolute)) return;
    seen.add(absolute);
    let text: string;
    try {
      text = readConfigFile(current);
    } catch (error) {
      if (includedFrom === undefined) throw error;
      issues.push({
        file: includedFrom,
        key: 'include',
        message: `cannot read ${current}`,
        fix: 'check the path (relative to the including file)',
      });
      return;
    }
    const parsed = parseYamlText(current, text);
    if (parsed.issues.length > 0) {
      issues.push(...parsed.issues);
      return;
    }
    const result = canaryFileSchema.safeParse(parsed.data ?? {});
    if (!result.success) issues.push(...configIssues(current, result.error, canaryFileSchema));
    const data = result.success ? result.data : salvage(parsed.data);
    const dir = path.dirname(current);
    data.environments.forEach((rawEnv, index) => {
      const envResult = environmentSchema.safeParse(rawEnv);
      if (!envResult.success) {
        issues.push(...configIssues(current, envResult.error, environmentSchema, ['environments', index]));
        return;
      }
      const env = envResult.data;
      if (config.sources.environments[env.name] !== undefined) {
        issues.push({
          file: current,
          key: `environments[${index}].name`,
          message: `environment "${env.name}" is already defined in ${config.sources.environments[env.name]}`,
          fix: 'give each environment a unique name',
        });
        return;
      }
      if (env.local?.faults && options.localFaultsSchema) {
        const faults = options.localFaultsSchema.safeParse(env.local.faults);
        if (!faults.success) {
          issues.push(
            ...configIssues(current, faults.error, options.localFaultsSchema, [
              'environments',
              index,
              'local',
              'faults',
            ]),
          );
        }
      }
      config.sources.environments[env.name] = current;
      config.environments.push(env);
    });
    data.probes.forEach((raw, index) => {
      let probe: ProbeSpec;
      let probeFile = current;
      if (typeof raw === 'object' && raw !== null && 'file' in raw) {
        const reference = probeReferenceSchema.safeParse(raw);
        if (!reference.success) {
          issues.push(...configIssues(current, reference.error, probeReferenceSchema, ['probes', index]));
          return;
        }
        probeFile = path.resolve(dir, reference.data.file);
        let probeText: string;
        try {
          probeText = readConfigFile(probeFile);
        } catch {
          issues.push({
            file: current,
            key: `probes[${index}].file`,
            message: `cannot read ${probeFile}`,
            fix: 'check the path (relative to this file)',
          });
          return;
        }
        const probeParsed = parseYamlText(probeFile, probeText);
        if (probeParsed.issues.length > 0) {
          issues.push(...probeParsed.issues);
          return;
        }
        const probeResult = probeFileSchema.safeParse(probeParsed.data ?? {});
        if (!probeResult.success) {
          issues.push(...configIssues(probeFile, probeResult.error, probeFileSchema));
          return;
        }
        const { version: _version, ...spec } = probeResult.data;
        probe = spec;
      } else {
        const inline = probeSchema.safeParse(raw);
        if (!inline.success) {
          issues.push(...configIssues(current, inline.error, probeSchema, ['probes', index]));
          return;
        }
        probe = inline.data;
      }
      if (config.sources.probes[probe.name] !== undefined) {
        issues.push({
          file: probeFile,
          key: 'name',
          message: `probe "${probe.name}" is already defined in ${config.sources.probes[probe.name]}`,
          fix: 'give each probe a unique name',
        });
        return;
      }
      config.sources.probes[probe.name] = probeFile;
      config.probes.push(probe);
    });
    if (data.server) {
      if (serverSetBy === undefined || includedFrom === undefined) {
        config.server = data.server;
        serverSetBy = current;
      }
    }
    config.sloFiles.push(...data.sloFiles.map((f) => path.resolve(dir, f)));
    for (const include of data.include) visit(path.resolve(dir, include), current);
  };

  visit(file, undefined);

  const otherwiseValid = issues.length === 0;
  for (const probe of config.probes) {
    for (const envName of probe.envs ?? []) {
      if (config.sources.environments[envName] === undefined && otherwiseValid) {
        issues.push({
          file: config.sources.probes[probe.name] ?? file,
          key: 'envs',
          message: `probe "${probe.name}" names environment "${envName}", which no config file defines`,
          fix: `use one of: ${Object.keys(config.sources.environments).join(', ') || '(none defined)'}`,
        });
      }
    }
  }
  if (otherwiseValid && options.checkProbeNeeds) issues.push(...crossCheck(config));
  if (issues.length === 0 && config.environments.length === 0) {
    issues.push({
      file,
      key: 'environments',
      message: 'no environments defined',
      fix: 'add one, e.g. `environments: [{name: local, local: {}}]`',
    });
  }
  if (issues.length === 0 && config.probes.length === 0) {
    issues.push({
      file,
      key: 'probes',
      message: 'no probes defined',
      fix: 'add one, e.g. `probes: [{file: probes/waiver-to-mechanic.yaml}]`',
    });
  }
  if (issues.length > 0) throw configInvalid(issues);
  return config;
}

/** What a probe needs from each remote environment it runs in (publisher mode, polling URL). */
function crossCheck(config: CanaryConfig): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  for (const probe of config.probes) {
    const probeFile = config.sources.probes[probe.name] ?? config.file;
    for (const env of config.environments) {
      if (!env.remote || (probe.envs !== undefined && !probe.envs.includes(env.name))) continue;
      const envFile = config.sources.environments[env.name] ?? config.file;
      const where = `environments.${env.name}.remote`;
      if (probe.publishMode === 'app_endpoint' && !env.remote.waiverUrl) {
        issues.push({
          file: envFile,
          key: `${where}.waiverUrl`,
          message: `probe "${probe.name}" publishes through the app (publishMode app_endpoint) but environment "${env.name}" has no waiverUrl`,
          fix: `add remote.waiverUrl, or set publishMode: direct in ${probeFile}`,
        });
      }
      if (probe.publishMode === 'direct' && !env.remote.serviceRoleKeyEnv && !env.remote.secretKeyEnv) {
        issues.push({
          file: envFile,
          key: `${where}.secretKeyEnv`,
          message: `probe "${probe.name}" publishes directly (publishMode direct), which needs the secret (or service-role) key`,
          fix: `add remote.secretKeyEnv (or the legacy serviceRoleKeyEnv), or set publishMode: app_endpoint in ${probeFile}`,
        });
      }
      if (probe.paths.includes('polling') && !env.remote.queueUrl) {
        issues.push({
          file: envFile,
          key: `${where}.queueUrl`,
          message: `probe "${probe.name}" measures the polling path but environment "${env.name}" has no queueUrl`,
          fix: `add remote.queueUrl, or drop polling from paths in ${probeFile}`,
        });
      }
    }
  }
  return issues;
}

/** The parts of an invalid file that can still be checked entry by entry. */
function salvage(data: unknown): z.output<typeof canaryFileSchema> {
  const record = typeof data === 'object' && data !== null ? (data as Record<string, unknown>) : {};
  const list = (value: unknown): unknown[] => (Array.isArray(value) ? value : []);
  return {
    version: CONFIG_VERSION,
    include: [],
    environments: list(record.environments),
    probes: list(record.probes),
    sloFiles: [],
  };
}

/** Environments selected by `--env` names (all when none given). Unknown names are a usage error. */
export function selectEnvironments(config: CanaryConfig, names: readonly string[]): EnvironmentConfig[] {
  if (names.length === 0) return config.environments;
  const known = config.environments.map((e) => e.name);
  const unknown = names.filter((n) => !known.includes(n));
  if (unknown.length > 0) {
    throw new CanaryError('CLI_USAGE', `--env ${unknown.join(', ')}: not defined in ${config.file}`, {
      hint: `use one of: ${known.join(', ')}`,
    });
  }
  return config.environments.filter((e) => names.includes(e.name));
}

/**
 * The one environment a single-environment command (`canary load`) works on: the one `--env`
 * names, or the only one the config defines. Several and no --env is a usage error listing them.
 */
export function pickEnvironment(config: CanaryConfig, name: string | undefined): EnvironmentConfig {
  if (name !== undefined) {
    const [picked] = selectEnvironments(config, [name]);
    if (picked) return picked;
  }
  const known = config.environments.map((e) => e.name);
  if (config.environments.length === 1 && config.environments[0]) return config.environments[0];
  throw new CanaryError(
    'CLI_USAGE',
    `--env is required: ${config.file} defines ${known.length} environments`,
    {
      hint: `add --env with one of: ${known.join(', ')}`,
    },
  );
}

/** Probes that run in an environment. */
export function probesFor(config: CanaryConfig, envName: string): ProbeSpec[] {
  return config.probes.filter((p) => p.envs === undefined || p.envs.includes(envName));
}
