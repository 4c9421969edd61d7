/**
 * Keys every load scenario has, whatever its executor: what is published and listened to, the
 * thresholds it is judged by, and the bounds that make every run stop by itself.
 */
import { z } from 'zod';
import { duration } from '../config/index.js';
import { CLIENT_KINDS, DELIVERY_PATHS } from '../metrics/index.js';

export const SCENARIO_VERSION = 'canary.scenario/v1';

export const thresholdsSchema = z.strictObject({
  /** An SLO file (canary.slo/v1), relative to the scenario file. */
  slos: z.string().min(1).optional(),
  /** Only these SLOs of that file. */
  only: z.array(z.string().min(1)).min(1).optional(),
  /** SLOs written here, in the SLO file's format (validated by the SLO loader). */
  inline: z.array(z.unknown()).optional(),
});

export const harnessLimitsSchema = z.strictObject({
  /** Subscriber budget of this harness: reaching it ends the ramp and is blamed on the harness. */
  maxSubscribers: z.number().int().min(1).optional(),
  /** Treat the harness as overloaded from the start (to rehearse the harness-bound verdict). */
  forceOverloaded: z.boolean().default(false),
  /** Overload thresholds for the harness-health sampler. */
  eventLoopLagP99Ms: z.number().positive().optional(),
  cpuRatio: z.number().positive().optional(),
});

export const commonScenarioShape = {
  version: z.literal(SCENARIO_VERSION, { error: `write \`version: ${SCENARIO_VERSION}\` as the first line` }),
  name: z
    .string()
    .regex(
      /^[a-z0-9][a-z0-9_-]{0,62}$/,
      'not a valid name — use lowercase letters, digits, "-" or "_" (e.g. smoke)',
    ),
  description: z.string().min(1),
  /** Probe (from the config) whose publisher, mechanics and deadlines the load uses; default: the first. */
  probe: z.string().min(1).optional(),
  /** Client kind of the load's subscribers (lean scales; supabase-js is the dashboard's own client). */
  clients: z.enum(CLIENT_KINDS).default('lean'),
  /** Delivery paths to measure; default: the probe's. */
  paths: z.array(z.enum(DELIVERY_PATHS)).min(1).optional(),
  /** Padding in each synthetic waiver's metadata (payload-size effects); default: the probe's. */
  payloadBytes: z.number().int().min(0).max(1_000_000).optional(),
  /** Latency bound of "delivered" and the drop deadline; default: the probe's. */
  lateAfter: duration({ min: 1 }).optional(),
  deadline: duration({ min: 1 }).optional(),
  /** New subscribers per second while ramping up (join pacing). */
  spawnRate: z.number().positive().max(10_000).default(50),
  /** Timeline sampling period for the report's plots. */
  sampleEvery: duration({ min: 100, max: 60_000 }).default(1000),
  /** Hard bound on the whole run; default: the executor's own length plus the drain deadline plus 30 s. */
  maxDuration: duration({ min: 1000, max: 24 * 3_600_000 }).optional(),
  /** Hard bound on events published. */
  maxEvents: z.number().int().min(1).max(10_000_000).default(100_000),
  thresholds: thresholdsSchema.default({}),
  harness: harnessLimitsSchema.default({ forceOverloaded: false }),
};

export type ThresholdsSpec = z.output<typeof thresholdsSchema>;
export type HarnessLimits = z.output<typeof harnessLimitsSchema>;
