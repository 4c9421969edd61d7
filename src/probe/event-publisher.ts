/**
 * How the runner publishes a synthetic waiver. The event id travels in the row's metadata
 * (`synthetic: true`, `canary_event_id`, `probe`) so every path can be correlated and the app can
 * filter synthetic rows out. The realtime area's publisher does the work; this adapter turns its
 * step-by-step result into "published (maybe with a failed broadcast)" or "not published".
 */
import type { ProbeSpec } from '../config/index.js';
import type { CanaryMetrics } from '../metrics/index.js';
import { createPublisher, type PublishStep } from '../realtime/index.js';
import { systemClock, type Clock, type Logger } from '../shared/index.js';
import type { ResolvedEnvironment } from './resolved-environment.js';

export interface SyntheticEvent {
  eventId: string;
  probe: string;
  env: string;
  /** Padding for payload-size tests. */
  payloadBytes: number;
}

export interface PublishOutcome {
  assignmentId?: string;
  /** Steps that failed although the row exists (e.g. the broadcast); counted, not fatal. */
  failedSteps?: PublishStep[];
}

/** A publish that created nothing; `step` names where it failed. */
export class PublishError extends Error {
  constructor(
    readonly step: PublishStep,
    message: string,
  ) {
    super(message);
    this.name = 'PublishError';
  }
}

export interface EventPublisher {
  /** Resolves once the row exists (with its id when known); rejects with PublishError otherwise. */
  publish(event: SyntheticEvent): Promise<PublishOutcome>;
  /** Delete synthetic rows older than `olderThanMs`; resolves with how many went. */
  cleanup?(olderThanMs: number): Promise<number>;
  close?(): Promise<void>;
}

export type PublisherFactory = (
  env: ResolvedEnvironment,
  probe: ProbeSpec,
  logger: Logger,
) => EventPublisher | Promise<EventPublisher>;

/** The realtime area's publisher, configured from the environment and the probe. */
export function defaultPublisherFactory(
  env: ResolvedEnvironment,
  probe: ProbeSpec,
  _logger: Logger,
  clock: Clock = systemClock,
): EventPublisher {
  const headers: Record<string, string> = {};
  for (const [name, secret] of Object.entries(env.waiverHeaders)) headers[name] = secret.reveal();
  const publisher = createPublisher({
    mode: probe.publishMode,
    supabaseUrl: env.supabaseUrl,
    anonKey: env.anonKey.reveal(),
    serviceRoleKey: env.serviceRoleKey?.reveal(),
    waiverUrl: env.waiverUrl,
    waiverHeaders: headers,
    schema: env.schema,
    table: env.table,
    sessionsTable: env.sessionsTable,
    broadcastChannel: env.broadcastChannel,
    broadcastEvent: env.broadcastEvent,
    clock,
    transport: env.transport,
  });
  return {
    async publish(event) {
      const result = await publisher.publish({
        eventId: event.eventId,
        probe: event.probe,
        payloadBytes: event.payloadBytes,
      });
      if (!result.ok) {
        const first = result.errors[0];
        throw new PublishError(first?.step ?? 'endpoint', first?.message ?? 'publishing failed');
      }
      const outcome: PublishOutcome = { failedSteps: result.errors.map((e) => e.step) };
      if (result.assignmentId !== undefined) outcome.assignmentId = result.assignmentId;
      return outcome;
    },
    cleanup: env.serviceRoleKey ? (olderThanMs) => publisher.cleanup(olderThanMs) : undefined,
    close: () => publisher.close(),
  };
}

/** Counts steps that failed on a published event (e.g. a broadcast the app could not send). */
export function countFailedSteps(
  metrics: CanaryMetrics,
  labels: { env: string; probe: string },
  outcome: PublishOutcome,
): void {
  for (const step of outcome.failedSteps ?? []) metrics.publishErrors.inc({ ...labels, step });
}
