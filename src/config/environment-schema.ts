/**
 * An environment the probes run against: either `local` (an embedded Supabase-compatible target
 * started in-process, optionally with faults and plan limits) or `remote` (a real Supabase
 * project plus the app's endpoints). Secrets appear only as env-var NAMES.
 */
import { z } from 'zod';
import { duration } from './duration.js';

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

/**
 * How early a mechanic token is renewed. Both are capped by the token's lifetime (margin at half of
 * it, jitter at a quarter), so short-lived tokens are still renewed well before they expire.
 */
export const refreshSchema = z
  .object({
    /** Renew this long before the token expires. */
    margin: duration({ min: 1000 }).default(120_000),
    /** Up to this much earlier again, at random, so many mechanics do not refresh in the same second. */
    jitter: duration().default(60_000),
  })
  .strict();

const passwordAccount = z
  .object({
    /** Env var holding the synthetic mechanic's email. */
    emailEnv: envVarName,
    /** Env var holding its password. */
    passwordEnv: envVarName,
  })
  .strict();

/** Where the mechanic tokens subscribers connect with come from. */
export const mechanicsSchema = z.discriminatedUnion('from', [
  z
    .object({
      /**
       * Synthetic mechanic accounts signed in through Supabase Auth with email + password; sessions
       * are refreshed before expiry. `canary mechanics create` makes the accounts. Recommended.
       */
      from: z.literal('password'),
      accounts: z.array(passwordAccount).min(1),
      refresh: refreshSchema.default({ margin: 120_000, jitter: 60_000 }),
    })
    .strict(),
  z
    .object({
      /** Pre-issued user access tokens, one per env var; never renewed (the run warns at start). */
      from: z.literal('env'),
      tokensEnv: z.array(envVarName).min(1),
    })
    .strict(),
  z
    .object({
      /** Mint HS256 user tokens with the project's legacy JWT secret, re-minted before expiry. */
      from: z.literal('mint'),
      jwtSecretEnv: envVarName,
      userIds: z.array(z.string().min(1)).min(1),
      /** Token lifetime in seconds. */
      expiresInSeconds: z.number().int().min(10).default(3600),
      refresh: refreshSchema.default({ margin: 120_000, jitter: 60_000 }),
    })
    .strict(),
  z
    .object({
      /**
       * Local environments: the target creates the mechanic accounts, and the canary signs them in
       * through the target's Auth exactly as `from: password` does against a real project.
       */
      from: z.literal('local'),
      count: z.number().int().min(1).max(10_000).default(4),
      refresh: refreshSchema.default({ margin: 120_000, jitter: 60_000 }),
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

/** The local target's Auth: how it signs tokens and how long they live. */
const localAuthSchema = z
  .object({
    /** asymmetric: ES256 only; legacy: HS256 secret only; both: ES256 plus the legacy secret (default). */
    jwtMode: z.enum(['legacy', 'asymmetric', 'both']).default('both'),
    /** Access-token lifetime the target's Auth grants. */
    accessTokenTtl: duration({ min: 5_000, max: 7 * 24 * 3_600_000 }).default(3_600_000),
  })
  .strict();

export const localTargetSchema = z
  .object({
    auth: localAuthSchema.optional(),
    /**
     * Serve https:// and wss:// with a certificate from a CA made for the run; the canary trusts
     * that CA by itself, so the probes run over TLS as against a real project.
     */
    tls: z.boolean().default(false),
    /** Faults to start with (src/local-target/faults/fault-settings.ts; validated against it when loaded by the CLI). */
    faults: z.record(z.string(), z.unknown()).optional(),
    limits: localLimitsSchema.optional(),
    /** Seed for the target's fault dice, for reproducible runs. */
    seed: z.number().int().optional(),
    /**
     * Realtime settings of the local project: `privateOnly` refuses public channel joins;
     * `assignmentTopic` is where the session_assignments trigger broadcasts (`per_mechanic`:
     * mechanic:<id>:assignments, unassigned rows on `assignments`; `shared`: always `assignments`).
     */
    realtime: z
      .object({
        privateOnly: z.boolean().default(false),
        assignmentTopic: z.enum(['per_mechanic', 'shared']).default('per_mechanic'),
      })
      .strict()
      .optional(),
  })
  .strict();

/**
 * Broadcast from Database (the db_broadcast path): the private topic subscribers join — `{mechanic}`
 * is replaced by each subscriber's mechanic id, e.g. `mechanic:{mechanic}:assignments` — the
 * broadcast event (the trigger sends the operation, INSERT) and whether rejoins ask for a replay.
 */
export const dbBroadcastSchema = z
  .object({
    topic: z.string().min(1).default('assignments'),
    event: z.string().min(1).default('INSERT'),
    replay: z.boolean().default(true),
  })
  .strict();

export const remoteTargetSchema = z
  .object({
    supabaseUrl: httpUrl,
    /** The project's publishable key (sb_publishable_…): subscribers, pollers and Auth use it. */
    publishableKeyEnv: envVarName.optional(),
    /** The project's secret key (sb_secret_…): publishMode `direct`, cleanup, `canary mechanics`. */
    secretKeyEnv: envVarName.optional(),
    /** Legacy alternative to publishableKeyEnv: the anon JWT key. */
    anonKeyEnv: envVarName.optional(),
    /** Legacy alternative to secretKeyEnv: the service_role JWT key. */
    serviceRoleKeyEnv: envVarName.optional(),
    /** The app's waiver endpoint (publishMode `app_endpoint`). */
    waiverUrl: httpUrl.optional(),
    /** Extra headers for the waiver request: header name → env var holding its value. */
    waiverHeadersEnv: z.record(z.string().min(1), envVarName).optional(),
    /** The app's polling API (the `polling` path). */
    queueUrl: httpUrl.optional(),
  })
  .strict()
  .superRefine((remote, ctx) => {
    if (remote.publishableKeyEnv && remote.anonKeyEnv) {
      ctx.addIssue({
        code: 'custom',
        path: ['anonKeyEnv'],
        message:
          'give either publishableKeyEnv (new keys) or anonKeyEnv (legacy), not both — keep publishableKeyEnv',
      });
    } else if (!remote.publishableKeyEnv && !remote.anonKeyEnv) {
      ctx.addIssue({
        code: 'custom',
        path: ['publishableKeyEnv'],
        message:
          'missing the client key — add publishableKeyEnv (the sb_publishable_… key), or anonKeyEnv on a project with legacy keys',
      });
    }
    if (remote.secretKeyEnv && remote.serviceRoleKeyEnv) {
      ctx.addIssue({
        code: 'custom',
        path: ['serviceRoleKeyEnv'],
        message:
          'give either secretKeyEnv (new keys) or serviceRoleKeyEnv (legacy), not both — keep secretKeyEnv',
      });
    }
  });

/** How the canary reaches the project over TLS. */
export const tlsSchema = z
  .object({
    /**
     * Extra certificate authorities (PEM files) to trust for this project, besides the system
     * roots and NODE_EXTRA_CA_CERTS — e.g. the CA `canary target --tls` prints, or a corporate
     * proxy's. A relative path is read from the directory of the file that names it.
     */
    caFile: z
      .union([z.string().min(1), z.array(z.string().min(1)).min(1)])
      .transform((value) => (typeof value === 'string' ? [value] : value))
      .optional(),
    /** Offer the previous TLS session on reconnects (fewer full handshakes in a reconnect storm). */
    resumeSessions: z.boolean().default(true),
  })
  .strict();

export const environmentSchema = z
  .object({
    name: slug,
    labels: z.record(z.string(), z.string()).default({}),
    local: localTargetSchema.optional(),
    remote: remoteTargetSchema.optional(),
    tls: tlsSchema.default({ resumeSessions: true }),
    schema: z.string().min(1).default('public'),
    table: z.string().min(1).default('session_assignments'),
    sessionsTable: z.string().min(1).default('sessions'),
    /** Channel the postgres_changes subscription joins. */
    changesChannel: z.string().min(1).default('mechanic-assignments-changes'),
    /** Channel the app broadcasts `new_assignment` on. */
    broadcastChannel: z.string().min(1).default('mechanic-assignments'),
    broadcastEvent: z.string().min(1).default('new_assignment'),
    dbBroadcast: dbBroadcastSchema.default({ topic: 'assignments', event: 'INSERT', replay: true }),
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
          'a remote environment cannot create mechanics — use `from: password` (accounts made by `canary mechanics create`), `from: mint` (legacy JWT secret) or `from: env` (tokens)',
      });
    }
    if (env.remote && !env.mechanics) {
      ctx.addIssue({
        code: 'custom',
        path: ['mechanics'],
        message:
          'remote environments need mechanics — add `mechanics: {from: password, accounts: [{emailEnv: …, passwordEnv: …}]}` (see `canary mechanics create`)',
      });
    }
  });

export type EnvironmentConfig = z.output<typeof environmentSchema>;
export type MechanicsConfig = z.output<typeof mechanicsSchema>;
export type LocalTargetConfig = z.output<typeof localTargetSchema>;
export type RemoteTargetConfig = z.output<typeof remoteTargetSchema>;
export type RefreshConfig = z.output<typeof refreshSchema>;
export type TlsConfig = z.output<typeof tlsSchema>;
