/**
 * The two limits every executor's load passes through, kept by the runner: new subscribers join
 * at most at the scenario's spawn rate, and publishes go out at most as the plan asks, within
 * maxEvents, a bound on publishes in flight and (remote environments) a token bucket at the
 * environment's loadRateCap. Both are plain arithmetic on the time handed in.
 */

/** At most `perSecond` new subscribers a second, saving up at most one second of allowance. */
export class SpawnLimiter {
  private allowance = 0;
  private lastAt: number;
  /** Subscribers asked for so far. */
  current = 0;

  constructor(
    private readonly perSecond: number,
    now: number,
  ) {
    this.lastAt = now;
  }

  /** The count to ask for now on the way to `wanted`; going down is not limited. */
  next(wanted: number, now: number): number {
    this.allowance = Math.min(this.perSecond, this.allowance + ((now - this.lastAt) / 1000) * this.perSecond);
    this.lastAt = now;
    let next = wanted;
    if (wanted > this.current) {
      next = Math.min(wanted, this.current + Math.floor(this.allowance));
      this.allowance -= next - this.current;
    }
    this.current = next;
    return next;
  }
}

export interface PublishPacerOptions {
  maxEvents: number;
  maxInFlight: number;
  /** Events per second with one second of burst; undefined = no cap. */
  rateCap: number | undefined;
  now: number;
  /** Sends one event; its rejection counts as a publish error. */
  publishOne: () => Promise<unknown>;
}

export class PublishPacer {
  published = 0;
  errors = 0;
  inFlight = 0;
  private tokens: number;
  private lastRefill: number;

  constructor(private readonly options: PublishPacerOptions) {
    this.tokens = options.rateCap ?? 0;
    this.lastRefill = options.now;
  }

  /** Publish until `due` events in total went out, as far as the limits allow now. */
  publishDue(due: number, now: number): void {
    const cap = this.options.rateCap;
    if (cap !== undefined) {
      this.tokens = Math.min(cap, this.tokens + ((now - this.lastRefill) / 1000) * cap);
      this.lastRefill = now;
    }
    const target = Math.min(due, this.options.maxEvents);
    while (this.published < target && this.inFlight < this.options.maxInFlight) {
      if (cap !== undefined) {
        if (this.tokens < 1) return;
        this.tokens -= 1;
      }
      this.published += 1;
      this.inFlight += 1;
      this.options
        .publishOne()
        .catch(() => {
          this.errors += 1;
        })
        .finally(() => {
          this.inFlight -= 1;
        });
    }
  }
}
