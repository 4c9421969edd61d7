/**
 * A probe: what to publish, who listens (how many subscribers of each client kind), on which
 * delivery paths, and when an event counts as delivered, late or dropped.
 *
 * Outcome rule (docs/configuration.md, "Outcomes"): receive − publish ≤ lateAfter → delivered;
 * lateAfter < latency ≤ deadline → late; after the deadline or never → dropped.
 */
import { z } from 'zod';
import { duration } from './duration.js';

/** Kept equal to the metric catalogue's lists by a test (config may not import metrics). */
export const PROBE_PATHS = ['postgres_changes', 'broadcast', 'polling', 'db_broadcast'] as const;
export const PROBE_CLIENT_KINDS = ['supabase-js', 'lean'] as const;
export const PROBE_PUBLISH_MODES = ['app_endpoint', 'direct'] as const;

export const subscriberCountsSchema = z
  .object({
    lean: z.number().int().min(0).max(100_000).default(0),
    'supabase-js': z.number().int().min(0).max(100_000).default(0),
  })
  .strict();

const probeObject = z
  .object({
    name: z
      .string()
      .regex(
        /^[a-z0-9][a-z0-9_-]{0,62}$/,
        'not a valid name — use lowercase letters, digits, "-" or "_" (e.g. waiver-to-mechanic)',
      ),
    /** Environments this probe runs in; omitted = all. */
    envs: z.array(z.string().min(1)).optional(),
    interval: duration({ min: 100 }).default(15_000),
    /** Each round starts up to this much later than its interval, at random (spreads load). */
    jitter: duration().default(0),
    subscribers: subscriberCountsSchema.default({ lean: 2, 'supabase-js': 1 }),
    paths: z.array(z.enum(PROBE_PATHS)).min(1).default(['postgres_changes', 'broadcast', 'polling']),
    /** Paths per environment name, replacing `paths` there (run old and new paths side by side, then switch). */
    pathsByEnv: z.record(z.string().min(1), z.array(z.enum(PROBE_PATHS)).min(1)).optional(),
    pollInterval: duration({ min: 50 }).default(2_000),
    /** Latency bound of the SLO: at or under it an event is delivered, over it late. */
    lateAfter: duration({ min: 1 }).default(2_000),
    /** After this an event not yet seen is dropped. */
    deadline: duration({ min: 1 }).default(10_000),
    eventsPerRound: z.number().int().min(1).max(1000).default(1),
    /** Padding added to the synthetic waiver's metadata, to test payload size effects. */
    payloadBytes: z.number().int().min(0).max(1_000_000).default(0),
    publishMode: z.enum(PROBE_PUBLISH_MODES).default('app_endpoint'),
    /** Synthetic rows older than this are deleted. */
    retention: duration({ min: 1000 }).default(600_000),
    /** A SUBSCRIBED subscriber that missed this many consecutive events others got is a zombie. */
    zombieAfterMissed: z.number().int().min(1).max(1000).default(3),
    /** Publish one event right after each subscriber reaches SUBSCRIBED to measure the readiness gap. */
    readinessCheck: z.boolean().default(true),
  })
  .strict();

function checkProbe(probe: z.output<typeof probeObject>, ctx: z.RefinementCtx): void {
  if (probe.lateAfter >= probe.deadline) {
    ctx.addIssue({
      code: 'custom',
      path: ['lateAfter'],
      message: `lateAfter (${probe.lateAfter} ms) must be below deadline (${probe.deadline} ms) — raise deadline or lower lateAfter`,
    });
  }
  if (new Set(probe.paths).size !== probe.paths.length) {
    ctx.addIssue({ code: 'custom', path: ['paths'], message: 'a path is listed twice — list each once' });
  }
  for (const [env, paths] of Object.entries(probe.pathsByEnv ?? {})) {
    if (new Set(paths).size !== paths.length) {
      ctx.addIssue({
        code: 'custom',
        path: ['pathsByEnv', env],
        message: 'a path is listed twice — list each once',
      });
    }
  }
  const total = probe.subscribers.lean + probe.subscribers['supabase-js'];
  const realtimePaths = probe.paths.filter((p) => p !== 'polling');
  if (total === 0 && realtimePaths.length > 0) {
    ctx.addIssue({
      code: 'custom',
      path: ['subscribers'],
      message: 'no subscribers for the realtime paths — set subscribers.lean or subscribers.supabase-js ≥ 1',
    });
  }
}

export const probeSchema = probeObject.superRefine(checkProbe);

export type ProbeSpec = z.output<typeof probeSchema>;
export type ProbeSpecInput = z.input<typeof probeSchema>;

/** A probe file: `version: canary/v1` plus the probe's keys. */
export const probeFileSchema = probeObject
  .extend({ version: z.literal('canary/v1', { error: 'write `version: canary/v1` as the first line' }) })
  .strict()
  .superRefine(checkProbe);
