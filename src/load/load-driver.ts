/**
 * What a load executor drives: the probe engine's runner, seen through the few calls load needs
 * (ProbeRunner satisfies it structurally). Keeping it narrow lets the executors' arithmetic be
 * tested on its own and keeps load from depending on the runner's internals.
 */
import type { ClientKind, DeliveryPath, Outcome } from '../metrics/index.js';

export interface LoadOutcome {
  path: DeliveryPath | string;
  eventId: string;
  subscriberId: string;
  outcome: Outcome | string;
  latencyMs?: number;
  /** False when measured while the harness was overloaded: counted, but kept out of latency figures. */
  trusted?: boolean;
  /** The subscriber's client kind (absent for pollers). */
  kind?: ClientKind;
}

/** What load reads from the runner's status; extra fields are ignored. */
export interface LoadDriverStatus {
  subscribers?: {
    desired?: number;
    connected?: number;
    /** Failed joins / status errors by reason, as the realtime adapter maps them. */
    errorsByReason?: Record<string, number>;
    lastError?: string;
  };
}

export interface LoadDriver {
  start(): void | Promise<void>;
  setSubscribers(count: number, kind?: ClientKind): void | Promise<void>;
  publishOne(): Promise<string>;
  onOutcome(listener: (outcome: LoadOutcome) => void): () => void;
  /** Wait until every published event has its final outcome (bounded by the probe deadline). */
  drain(): Promise<void>;
  stop(): Promise<void> | void;
}
