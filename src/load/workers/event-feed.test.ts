import { describe, expect, it } from 'vitest';
import { EventLedger, type OutcomeRecord } from '../../probe/index.js';
import { FeedFollower, wallAnchoredNow, type FeedMessage } from './event-feed.js';
import { followFeed, serveFeed } from './feed-http.js';

describe('the event feed', () => {
  it('registers announced events in a follower’s ledger on its own monotonic clock', () => {
    const ledger = new EventLedger({ env: 'local', probe: 'p', lateAfterMs: 1000, deadlineMs: 5000 });
    ledger.addSubscriber('s1', { paths: ['broadcast'] });
    ledger.setStatus('s1', 'broadcast', 'SUBSCRIBED');
    const outcomes: OutcomeRecord[] = [];
    ledger.onOutcome((outcome) => outcomes.push(outcome));
    const follower = new FeedFollower();
    // Announced before the ledger exists (a follower still starting): kept and applied on attach.
    follower.receive({ type: 'published', eventId: 'e1', publishedAtWallMs: wallAnchoredNow() - 30 });
    follower.attach(ledger);
    follower.receive({ type: 'assigned', eventId: 'e1', assignmentId: 'a1' });
    ledger.recordDelivery({
      subscriberId: 's1',
      path: 'broadcast',
      keys: { assignmentId: 'a1' },
      receivedAt: performance.now(),
    });
    ledger.tick(Number.POSITIVE_INFINITY);
    expect(follower.events).toBe(1);
    expect(outcomes).toHaveLength(1);
    expect(outcomes[0]?.outcome).toBe('delivered');
    expect(outcomes[0]?.latencyMs).toBeGreaterThanOrEqual(29);
    expect(outcomes[0]?.latencyMs).toBeLessThan(1000);
  });

  it('withdraws an event whose publish failed, and ends when the publisher says so', async () => {
    const ledger = new EventLedger({ env: 'local', probe: 'p', lateAfterMs: 1000, deadlineMs: 5000 });
    ledger.addSubscriber('s1', { paths: ['broadcast'] });
    ledger.setStatus('s1', 'broadcast', 'SUBSCRIBED');
    const follower = new FeedFollower();
    follower.attach(ledger);
    follower.receive({ type: 'published', eventId: 'e1', publishedAtWallMs: wallAnchoredNow() });
    expect(ledger.totalsFor('broadcast').due).toBe(1);
    follower.receive({ type: 'failed', eventId: 'e1' });
    expect(ledger.totalsFor('broadcast').due).toBe(0);
    follower.receive({ type: 'end' });
    await follower.ended;
    expect(follower.isEnded).toBe(true);
  });

  it('serves every message over HTTP, earlier ones included, until the end', async () => {
    const feed = await serveFeed({ host: '127.0.0.1', port: 0 });
    try {
      const sent: FeedMessage[] = [
        { type: 'published', eventId: 'e1', publishedAtWallMs: 1 },
        { type: 'assigned', eventId: 'e1', assignmentId: 'a1' },
        { type: 'published', eventId: 'e2', publishedAtWallMs: 2 },
        { type: 'end' },
      ];
      feed.emit(sent[0]!);
      feed.emit(sent[1]!);
      const received: FeedMessage[] = [];
      const following = followFeed(feed.url, (message) => received.push(message), { giveUpAfterMs: 10_000 });
      expect(await feed.waitForFollowers(1, 10_000)).toBe(true);
      feed.emit(sent[2]!);
      feed.emit(sent[3]!);
      expect(await following).toBe(4);
      expect(received).toEqual(sent);
    } finally {
      await feed.close();
    }
  });
});
