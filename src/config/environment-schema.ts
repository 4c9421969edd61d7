/**
 * An environment the probes run against: either `local` (an embedded Supabase-compatible target
 * started in-process, optionally with faults and plan limits) or `remote` (a real Supabase
 * project plus the app's endpoints). Secrets appear only as env-var NAMES.
 */
import { z } from 'zod';

const slug = z
  .string()
  .regex(
    /^[a-z0-9][a-z0-9_-]{0,62}$/,
    'not a valid name — use lowercase letters, digits, "-" or "_" (e.g. prod-eu)',
  );
const envVarName = z
  .string()
  .regex(
    /^[A-Za-z_][A-Za-z0-9_]*$/,
    'not an environment variable name — give the variable NAME (e.g. PROD_ANON_KEY), never the secret itself',
  );
const httpUrl = z.url({
  protocol: /^https?$/,
  error: 'not an http(s) URL — write the full URL, e.g. https://xyz.supabase.co',
});

/** Where the mechanic tokens subscribers connect with come from. */
export const mechanicsSchema = z.discriminatedUnion('from', [
  z
    .object({
      /** Pre-issued user access tokens, one per env var. */
      from: z.literal('env'),
      tokensEnv: z.array(envVarName).min(1),
    })
    .strict(),
  z
    .object({
      /** Mint HS256 user tokens with the project's JWT secret for these mechanic user ids. */
      from: z.literal('mint'),
      jwtSecretEnv: envVarName,
      userIds: z.array(z.string().min(1)).min(1),
      /** Token lifetime in seconds. */
      expiresInSeconds: z.number().int().min(60).default(3600),
    })
    .strict(),
  z
    .object({
      /** Ask the local target to create mechanics (local environments only). */
      from: z.literal('local'),
      count: z.number().int().min(1).max(10_000).default(4),
    })
    .strict(),
]);

/** Plan limits for a local target (defaults: Supabase Free plan). */
const localLimitsSchema = z
  .object({
    maxConcurrentConnections: z.number().int().min(1).optional(),
    maxJoinsPerSecond: z.number().int().min(1).optional(),
    maxMessagesPerSecond: z.number().int().min(1).optional(),
    maxChannelsPerConnection: z.number().int().min(1).optional(),
    maxBroadcastPayloadBytes: z.number().int().min(1).optional(),
  })
  .strict();

export const localTargetSchema = z
  .object({
    /** Faults to start with (src/target/faults/fault-settings.ts; validated against it when loaded by the CLI). */
    faults: z.record(z.string(), z.unknown()).optional(),
    limits: localLimitsSchema.optional(),
    /** Seed for the target's fault dice, for reproducible runs. */
    seed: z.number().int().optional(),
  })
  .strict();

export const remoteTargetSchema = z
  .object({
    supabaseUrl: httpUrl,
    anonKeyEnv: envVarName,
    /** Needed for publishMode `direct` (service-role insert + broadcast) and for cleanup. */
    serviceRoleKeyEnv: envVarName.optional(),
    /** The app's waiver endpoint (publishMode `app_endpoint`). */
    waiverUrl: httpUrl.optional(),
    /** Extra headers for the waiver request: header name → env var holding its value. */
    waiverHeadersEnv: z.record(z.string().min(1), envVarName).optional(),
    /** The app's polling API (the `polling` path). */
    queueUrl: httpUrl.optional(),
  })
  .strict();

export const environmentSchema = z
  .object({
    name: slug,
    labels: z.record(z.string(), z.string()).default({}),
    local: localTargetSchema.optional(),
    remote: remoteTargetSchema.optional(),
    schema: z.string().min(1).default('public'),
    table: z.string().min(1).default('session_assignments'),
    sessionsTable: z.string().min(1).default('sessions'),
    /** Channel the postgres_changes subscription joins. */
    changesChannel: z.string().min(1).default('mechanic-assignments-changes'),
    /** Channel the app broadcasts `new_assignment` on. */
    broadcastChannel: z.string().min(1).default('mechanic-assignments'),
    broadcastEvent: z.string().min(1).default('new_assignment'),
    mechanics: mechanicsSchema.optional(),
    /** Realtime concurrent-connection limit of the plan (Free: 200). */
    connectionLimit: z.number().int().min(1).default(200),
    /** Highest publish rate (events/s) load scenarios may drive here. */
    loadRateCap: z.number().positive().default(5),
  })
  .strict()
  .superRefine((env, ctx) => {
    if (!env.local === !env.remote) {
      ctx.addIssue({
        code: 'custom',
        path: ['local'],
        message: env.local
          ? 'an environment is either local or remote, not both — keep one of `local:` / `remote:`'
          : 'missing `local: {}` or `remote: {…}` — add one (local starts an embedded target)',
      });
    }
    if (env.local && env.mechanics && env.mechanics.from !== 'local') {
      ctx.addIssue({
        code: 'custom',
        path: ['mechanics', 'from'],
        message: 'local environments create their own mechanics — use `from: local` or remove `mechanics`',
      });
    }
    if (env.remote && env.mechanics?.from === 'local') {
      ctx.addIssue({
        code: 'custom',
        path: ['mechanics', 'from'],
        message:
          'a remote environment cannot create mechanics — use `from: env` (tokens) or `from: mint` (JWT secret)',
      });
    }
    if (env.remote && !env.mechanics) {
      ctx.addIssue({
        code: 'custom',
        path: ['mechanics'],
        message:
          'remote environments need mechanic tokens — add `mechanics: {from: env, tokensEnv: [...]}` or `{from: mint, …}`',
      });
    }
  });

export type EnvironmentConfig = z.output<typeof environmentSchema>;
export type MechanicsConfig = z.output<typeof mechanicsSchema>;
export type LocalTargetConfig = z.output<typeof localTargetSchema>;
export type RemoteTargetConfig = z.output<typeof remoteTargetSchema>;
