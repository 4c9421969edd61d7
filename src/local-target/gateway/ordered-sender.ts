/**
 * Writes frames to one socket after an injected delay without reordering them: each frame is due
 * no earlier than the one queued before it, and one timer serves the whole queue. Frames with no
 * delay and nothing queued go straight out.
 */
import type { Clock } from '../../shared/index.js';

/**
 * Bytes encoded once and written to many sockets (ws would otherwise convert a string per send).
 * `binary` picks the websocket opcode: kind-4 broadcasts are binary, everything else is text.
 */
export interface SharedFrame {
  bytes: Buffer;
  binary: boolean;
}

export type OutboundFrame = string | SharedFrame;

export function sharedText(text: string): SharedFrame {
  return { bytes: Buffer.from(text, 'utf8'), binary: false };
}

interface Pending {
  dueAt: number;
  frame: OutboundFrame;
}

export class OrderedSender {
  private queue: Pending[] = [];
  private head = 0;
  private lastDueAt = 0;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly clock: Clock,
    private readonly write: (frame: OutboundFrame) => void,
  ) {}

  get pending(): number {
    return this.queue.length - this.head;
  }

  send(frame: OutboundFrame, delayMs: number): void {
    const now = this.clock.now();
    if (delayMs <= 0 && this.pending === 0) {
      this.write(frame);
      return;
    }
    const dueAt = Math.max(now + Math.max(0, delayMs), this.lastDueAt);
    this.lastDueAt = dueAt;
    this.queue.push({ dueAt, frame });
    if (this.timer === null) this.arm(now);
  }

  /** Forget everything queued (the socket is gone). */
  clear(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.queue = [];
    this.head = 0;
  }

  private arm(now: number): void {
    const next = this.queue[this.head];
    if (next === undefined) return;
    this.timer = setTimeout(() => this.flush(), Math.max(0, Math.ceil(next.dueAt - now)));
  }

  private flush(): void {
    this.timer = null;
    const now = this.clock.now();
    // A timer that fires a fraction of a millisecond early simply re-arms: a delay is never shortened.
    while (this.head < this.queue.length && this.queue[this.head]!.dueAt <= now) {
      const { frame } = this.queue[this.head]!;
      this.head += 1;
      this.write(frame);
    }
    if (this.head === this.queue.length) {
      this.queue = [];
      this.head = 0;
      return;
    }
    if (this.head > 1024) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    this.arm(now);
  }
}
