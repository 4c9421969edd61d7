/**
 * The simplest StatusSource: holds the latest snapshot and tells listeners when a new one is
 * published. A producer that builds whole snapshots (a runner on each outcome, a test feeding
 * changing data) publishes here and hands the hub to the exporter.
 */
import { emptyStatusSnapshot, type StatusSnapshot, type StatusSource } from './status-snapshot.js';

export interface StatusHub extends StatusSource {
  publish(snapshot: StatusSnapshot): void;
  /** Listeners currently attached (one per open live page). */
  listenerCount(): number;
}

export function createStatusHub(initial: StatusSnapshot = emptyStatusSnapshot()): StatusHub {
  let latest = initial;
  const listeners = new Set<(snapshot: StatusSnapshot) => void>();
  return {
    snapshot: () => latest,
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    publish(snapshot) {
      latest = snapshot;
      // A throwing listener (a closed page) must not stop the others from hearing about it.
      for (const listener of [...listeners]) {
        try {
          listener(snapshot);
        } catch {
          listeners.delete(listener);
        }
      }
    },
    listenerCount: () => listeners.size,
  };
}
