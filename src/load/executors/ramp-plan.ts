/** What a ramping executor decides over time; run-scenario follows it tick by tick. */
export interface RampPlan {
  durationMs: number;
  peakSubscribers: number;
  /** Subscribers wanted `ms` after the start. */
  subscribersAt(ms: number): number;
  /** Waiver rate (events/s) wanted at `ms`, for the gauge and the progress line. */
  rateAt(ms: number): number;
  /** Events that should have been published by `ms`. */
  arrivalsBy(ms: number): number;
}
