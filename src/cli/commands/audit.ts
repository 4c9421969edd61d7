/**
 * `canary audit --env <name>`: the seed's database audit, automated and read-only. Local
 * environments are started (with their configured faults) and audited through their database;
 * remote ones need the direct database URL in an environment variable.
 */
import fs from 'node:fs';
import type { Command } from 'commander';
import {
  loadCanaryConfig,
  probesFor,
  resolveEnvironmentSecrets,
  selectEnvironments,
  type EnvironmentConfig,
} from '../../config/index.js';
import type { MechanicCredentials } from '../../auth/index.js';
import {
  auditExitCode,
  renderAuditJson,
  renderAuditMarkdown,
  renderAuditText,
  runAudit,
  runAuthChecks,
  withChecks,
  type AuditReport,
  type AuthAuditInput,
  type CheckResult,
} from '../../diagnosis/index.js';
import { resolveEnvironment } from '../../probe/index.js';
import { CanaryError, createLogger, isCanaryError } from '../../shared/index.js';
import { faultSettingsSchema, startTarget, type LocalTarget } from '../../local-target/index.js';

interface AuditFlags {
  env: string;
  config: string;
  databaseUrlEnv?: string;
  format: string;
  out?: string;
}

const FORMATS = ['text', 'json', 'markdown'] as const;

export function register(program: Command): void {
  program
    .command('audit')
    .description("check an environment's database and Realtime setup against the expected schema (read-only)")
    .requiredOption('--env <name>', 'environment to audit (from the config)')
    .option('--config <file>', 'config file', 'canary.yaml')
    .option(
      '--database-url-env <VAR>',
      'environment variable holding the direct Postgres URL (remote environments)',
    )
    .option('--format <format>', `output format: ${FORMATS.join(', ')}`, 'text')
    .option('--out <file>', 'also write the report to this file')
    .action(async (flags: AuditFlags) => {
      process.exitCode = await audit(flags);
    });
}

async function audit(flags: AuditFlags): Promise<number> {
  if (!(FORMATS as readonly string[]).includes(flags.format)) {
    throw new CanaryError('CLI_USAGE', `--format ${flags.format} is not supported`, {
      hint: `use one of: ${FORMATS.join(', ')}`,
    });
  }
  const logger = createLogger({ level: 'warn' });
  const config = loadCanaryConfig(flags.config, { localFaultsSchema: faultSettingsSchema });
  const [envConfig] = selectEnvironments(config, [flags.env]);
  if (!envConfig) throw new CanaryError('CLI_USAGE', `--env ${flags.env}: not defined in ${flags.config}`);
  const plannedSubscribers = probesFor(config, envConfig.name).reduce(
    (sum, probe) => sum + probe.subscribers.lean + probe.subscribers['supabase-js'],
    0,
  );

  let report: AuditReport;
  if (envConfig.local) {
    let target: LocalTarget | undefined;
    const env = await resolveEnvironment(envConfig, {
      file: config.sources.environments[envConfig.name] ?? config.file,
      logger,
      startLocalTarget: async (request) => {
        target = await startTarget({ ...request, logger });
        return target;
      },
    });
    try {
      if (!target) throw new CanaryError('INTERNAL', 'the local target did not start');
      report = await runAudit({
        env: envConfig.name,
        databaseUrl: target.databaseUrl,
        schema: envConfig.schema,
        table: envConfig.table,
        realtimeConnectionLimit: target.context.limits.maxConcurrentConnections,
        realtimeConnections: target.gateway.stats().connections,
        plannedSubscribers,
        dbBroadcastTopic: envConfig.dbBroadcast.topic,
        privateOnly: envConfig.local.realtime?.privateOnly ?? false,
      });
      report = withChecks(
        report,
        await runAuthChecks({
          supabaseUrl: env.supabaseUrl,
          fetch: env.transport.fetch,
          clientKey: env.anonKey,
          clientKeyKind: env.keyKinds.client,
          ...(env.serviceRoleKey && env.keyKinds.server
            ? { serverKey: env.serviceRoleKey, serverKeyKind: env.keyKinds.server }
            : {}),
          ...(env.mechanics[0] ? { mechanic: env.mechanics[0].session.credentials } : {}),
          timing: refreshTiming(envConfig),
          ...(env.queueUrl ? { queueUrl: env.queueUrl } : {}),
          schema: envConfig.schema,
          table: envConfig.table,
        }),
      );
    } finally {
      await env.close();
    }
  } else {
    const variable = flags.databaseUrlEnv;
    if (!variable) {
      throw new CanaryError(
        'CLI_USAGE',
        `auditing the remote environment ${envConfig.name} needs its database URL`,
        {
          hint: 'export PROD_DATABASE_URL=postgres://… (Dashboard → Project Settings → Database → direct connection) and pass --database-url-env PROD_DATABASE_URL',
        },
      );
    }
    const databaseUrl = process.env[variable];
    if (!databaseUrl) {
      throw new CanaryError('ENV_VAR_MISSING', `--database-url-env ${variable}: the variable is not set`, {
        hint: `export ${variable}=postgres://… before running canary audit`,
      });
    }
    report = await runAudit({
      env: envConfig.name,
      databaseUrl,
      schema: envConfig.schema,
      table: envConfig.table,
      realtimeConnectionLimit: envConfig.connectionLimit,
      plannedSubscribers,
      dbBroadcastTopic: envConfig.dbBroadcast.topic,
    });
    report = withChecks(
      report,
      await remoteAuthChecks(envConfig, config.sources.environments[envConfig.name] ?? config.file),
    );
  }

  const rendered =
    flags.format === 'json'
      ? renderAuditJson(report)
      : flags.format === 'markdown'
        ? renderAuditMarkdown(report)
        : renderAuditText(report);
  process.stdout.write(rendered);
  if (flags.out) fs.writeFileSync(flags.out, rendered);
  return auditExitCode(report);
}

function refreshTiming(env: EnvironmentConfig): AuthAuditInput['timing'] {
  const refresh = env.mechanics && 'refresh' in env.mechanics ? env.mechanics.refresh : undefined;
  return { marginMs: refresh?.margin ?? 120_000, jitterMs: refresh?.jitter ?? 60_000 };
}

/** A remote project's auth checks, from its config and secrets (no database needed). */
async function remoteAuthChecks(env: EnvironmentConfig, file: string): Promise<CheckResult[]> {
  let secrets;
  try {
    secrets = resolveEnvironmentSecrets(env, { file }).secrets;
  } catch (error) {
    if (!isCanaryError(error)) throw error;
    return [
      {
        id: 'auth.secrets',
        title: 'The keys and mechanic credentials are set',
        status: 'fail',
        evidence: error.message,
        ...(error.hint ? { fix: error.hint } : {}),
      },
    ];
  }
  if (!secrets.anonKey) return [];
  const mechanics = env.mechanics;
  const account = secrets.mechanicAccounts[0];
  const token = secrets.mechanicTokens[0];
  const mechanic: MechanicCredentials | undefined =
    mechanics?.from === 'password' && account
      ? { kind: 'password', ...account }
      : mechanics?.from === 'env' && token
        ? { kind: 'env', token }
        : mechanics?.from === 'mint' && secrets.jwtSecret && mechanics.userIds[0]
          ? {
              kind: 'mint',
              jwtSecret: secrets.jwtSecret,
              userId: mechanics.userIds[0],
              lifetimeSeconds: mechanics.expiresInSeconds,
            }
          : undefined;
  return runAuthChecks({
    supabaseUrl: env.remote!.supabaseUrl,
    clientKey: secrets.anonKey,
    clientKeyKind: secrets.anonKeyKind ?? 'anon',
    ...(secrets.serviceRoleKey && secrets.serviceRoleKeyKind
      ? { serverKey: secrets.serviceRoleKey, serverKeyKind: secrets.serviceRoleKeyKind }
      : {}),
    ...(mechanic ? { mechanic } : {}),
    timing: refreshTiming(env),
    ...(env.remote?.queueUrl ? { queueUrl: env.remote.queueUrl } : {}),
    schema: env.schema,
    table: env.table,
  });
}
