/**
 * The SLO spec (`version: canary.slo/v1`): plain versioned data, validated strictly at the edge and
 * mapped to the `Slo` model every other part of the harness (evaluator, burn-rate rules,
 * dashboards, reports) takes without re-checking.
 *
 * Grammar, by example:
 *
 *   version: canary.slo/v1
 *   slos:
 *     - name: delivery-latency            # kebab-case; becomes part of rule and test names
 *       description: New assignments reach mechanics within 1 s.
 *       objective: 0.99                   # ratio of good events, 0 < objective < 1
 *       window: 28d                       # error-budget window
 *       envs: [local, prod]               # optional: only these environments
 *       paths: [postgres_changes]         # optional: only these delivery paths (latency, delivery)
 *       sli:                              # exactly one of:
 *         latency: { threshold: 1s }      #   delivered within threshold (a catalogue bucket) / delivered
 *         # delivery: {}                  #   delivered within the deadline / all outcomes
 *         # subscription: { timeToSubscribed: 5s }  # SUBSCRIBED (within T) / join attempts
 *         # headroom: { minSubscribers: 150, joinSuccess: 0.999 }  # peak ≥ min and joins succeed
 */
import { z } from 'zod';
import { configInvalid, configIssues, durationText, loadYamlFile } from '../config/index.js';
import { DELIVERY_PATHS, LATENCY_BUCKETS_SECONDS, SUBSCRIBE_BUCKETS_SECONDS } from '../metrics/index.js';
import { parseDurationSeconds } from '../shared/duration.js';

export const SLO_SPEC_VERSION = 'canary.slo/v1';

function bucketDuration(buckets: readonly number[], what: string) {
  return durationText().superRefine((text, ctx) => {
    const seconds = parseDurationSeconds(text);
    if (seconds === undefined) return; // durationText reported it, naming the value
    if (!buckets.some((bucket) => Math.abs(bucket - seconds) < 1e-9)) {
      ctx.addIssue({
        code: 'custom',
        message: `${what} "${text}" must equal a histogram bucket of the metric catalogue — use one of ${buckets
          .map((b) => `${b}s`)
          .join(', ')}`,
      });
    }
  });
}

const latencySliSchema = z.strictObject({
  threshold: bucketDuration(LATENCY_BUCKETS_SECONDS, 'threshold'),
});
const deliverySliSchema = z.strictObject({});
const subscriptionSliSchema = z.strictObject({
  timeToSubscribed: bucketDuration(SUBSCRIBE_BUCKETS_SECONDS, 'timeToSubscribed').optional(),
});
const headroomSliSchema = z.strictObject({
  minSubscribers: z.number().int().positive(),
  /** Join success ratio required while at that level; defaults to the SLO objective. */
  joinSuccess: z.number().gt(0).lte(1).optional(),
});

export type LatencySli = { latency: z.infer<typeof latencySliSchema> };
export type DeliverySli = { delivery: z.infer<typeof deliverySliSchema> };
export type SubscriptionSli = { subscription: z.infer<typeof subscriptionSliSchema> };
export type HeadroomSli = { headroom: z.infer<typeof headroomSliSchema> };
export type Sli = LatencySli | DeliverySli | SubscriptionSli | HeadroomSli;
export type SliKind = 'latency' | 'delivery' | 'subscription' | 'headroom';
export const SLI_KINDS: readonly SliKind[] = ['latency', 'delivery', 'subscription', 'headroom'];

// One optional key per kind (rather than a z.union) so unknown keys and nested mistakes are
// reported with their exact path instead of a generic "invalid input".
const sliSchema = z
  .strictObject({
    latency: latencySliSchema.optional(),
    delivery: deliverySliSchema.nullable().optional(),
    subscription: subscriptionSliSchema.nullable().optional(),
    headroom: headroomSliSchema.optional(),
  })
  .superRefine((sli, ctx) => {
    const kinds = SLI_KINDS.filter((kind) => sli[kind] !== undefined);
    if (kinds.length !== 1) {
      ctx.addIssue({
        code: 'custom',
        message: `found ${kinds.length ? kinds.join(' and ') : 'no SLI kind'} — give exactly one of ${SLI_KINDS.join(', ')}`,
      });
    }
  })
  .transform((sli): Sli => {
    if (sli.latency) return { latency: sli.latency };
    if (sli.delivery !== undefined) return { delivery: sli.delivery ?? {} };
    if (sli.subscription !== undefined) return { subscription: sli.subscription ?? {} };
    return { headroom: sli.headroom as z.infer<typeof headroomSliSchema> };
  });

export const sloSchema = z
  .strictObject({
    name: z
      .string()
      .regex(
        /^[a-z][a-z0-9-]*$/,
        'not a valid SLO name — use kebab-case: lower-case letters, digits and dashes, e.g. delivery-latency',
      ),
    description: z.string().min(1),
    objective: z
      .number()
      .gt(0, 'objective is a ratio — write e.g. 0.999 for 99.9%')
      .lt(1, 'objective is a ratio below 1 — write e.g. 0.999 for 99.9%'),
    window: durationText({ min: 60_000 }).default('28d'),
    envs: z.array(z.string().min(1)).min(1).optional(),
    paths: z.array(z.enum(DELIVERY_PATHS)).min(1).optional(),
    sli: sliSchema,
  })
  .superRefine((slo, ctx) => {
    if (slo.paths && !('latency' in slo.sli || 'delivery' in slo.sli)) {
      ctx.addIssue({
        code: 'custom',
        path: ['paths'],
        message: 'only latency and delivery SLIs are per delivery path — remove paths',
      });
    }
  });

export type Slo = z.infer<typeof sloSchema>;

export const sloSpecSchema = z
  .strictObject({
    version: z.literal(SLO_SPEC_VERSION, {
      error: `write \`version: ${SLO_SPEC_VERSION}\` as the first line`,
    }),
    slos: z.array(sloSchema).min(1),
  })
  .superRefine((spec, ctx) => {
    const seen = new Set<string>();
    spec.slos.forEach((slo, index) => {
      if (seen.has(slo.name)) {
        ctx.addIssue({
          code: 'custom',
          path: ['slos', index, 'name'],
          message: `duplicate SLO name '${slo.name}' — give each SLO a unique name`,
        });
      }
      seen.add(slo.name);
    });
  });

export type SloSpec = z.infer<typeof sloSpecSchema>;

export function sliKind(slo: Slo): SliKind {
  const sli = slo.sli;
  if ('latency' in sli) return 'latency';
  if ('delivery' in sli) return 'delivery';
  if ('subscription' in sli) return 'subscription';
  return 'headroom';
}

/** Validate already-parsed data (e.g. a YAML document) as an SLO spec; every issue at once. */
export function parseSloSpec(data: unknown, source: string): SloSpec {
  const result = sloSpecSchema.safeParse(data);
  if (!result.success) throw configInvalid(configIssues(source, result.error, sloSpecSchema));
  return result.data;
}

/** Validate one SLO written inline elsewhere (a scenario's thresholds), naming its key path. */
export function parseSlo(data: unknown, source: string, keyPrefix: readonly PropertyKey[]): Slo {
  const result = sloSchema.safeParse(data);
  if (!result.success) throw configInvalid(configIssues(source, result.error, sloSchema, keyPrefix));
  return result.data;
}

/** Reads and validates an SLO file (`file: key: message — fix` for every problem). */
export function loadSloFile(filePath: string): SloSpec {
  return loadYamlFile(filePath, sloSpecSchema);
}
