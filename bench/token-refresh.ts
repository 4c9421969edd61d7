/**
 * Token-refresh storm benchmark: N lean subscribers, each with its own synthetic mechanic signed
 * in through the local target's Auth with short-lived tokens, held for a while. Do the renewals
 * spread out, or do thousands of sessions that signed in together refresh in the same second?
 *
 *   node --import tsx bench/token-refresh.ts [--subscribers 500] [--token-ttl 30] [--minutes 5]
 *
 * Each session renews `margin` before expiry and up to `jitter` earlier at random (both capped at a
 * quarter of the lifetime: with 30 s tokens, 7.5 s each). Reported: refresh-token grants sent per
 * second (mean, max, and max ÷ mean over the whole hold and after its first minute), answers per
 * second, refresh failures, auth-caused subscription errors, and broadcast deliveries (one
 * broadcast every 2 s must reach everyone). The target runs in this process, so a saturated machine
 * delays timers and answers alike: run it on a quiet one.
 * Target: refreshes per second stay within 2× the mean. Results: docs/benchmarks.md, "Token refresh".
 */
import { AuthApi, MechanicPool } from '../src/auth/index.js';
import { Secret } from '../src/config/index.js';
import { createLeanSubscriber, type Subscriber } from '../src/realtime/index.js';
import { systemClock } from '../src/shared/index.js';
import { startTarget } from '../src/local-target/index.js';
import { positiveOption } from './bench-common.js';

const option = (name: string, fallback: number): number => positiveOption(process.argv, name, fallback);
const count = option('subscribers', 500);
const ttl = option('token-ttl', 30);
const minutes = option('minutes', 5);

const target = await startTarget({
  jwtMode: 'asymmetric',
  accessTokenTtlSeconds: ttl,
  limits: { maxConcurrentConnections: count + 50, maxJoinsPerSecond: 10_000, maxMessagesPerSecond: 10_000 },
  // Supabase Auth allows 30 sign-ins and 150 refreshes per client address per 5 minutes by default;
  // one canary holding hundreds of short-lived sessions needs those raised (Dashboard → Auth → Rate
  // limits), as here.
  auth: { rateLimits: { signInsPerFiveMinutes: 100_000, refreshesPerFiveMinutes: 100_000 } },
});
/** When each refresh-token grant was sent (what Auth sees arrive), and when its answer came back. */
const refreshes: number[] = [];
const answered: number[] = [];
const countingFetch: typeof fetch = (input, init) => {
  if (String(input).includes('grant_type=refresh_token')) refreshes.push(Date.now());
  return fetch(input, init);
};
let authErrors = 0;
let delivered = 0;
let subscribed = 0;
const pool = new MechanicPool({
  env: 'bench',
  auth: new AuthApi({
    supabaseUrl: target.url,
    apiKey: target.publishableKey,
    fetch: countingFetch,
  }),
});
const subscribers: Subscriber[] = [];
const started = Date.now();
process.stderr.write(`creating and signing in ${count} mechanics…\n`);
for (let i = 0; i < count; i++) {
  const mechanic = await target.createMechanic({ name: `bench-${i}` });
  const session = await pool.add({
    kind: 'password',
    email: new Secret(mechanic.email, 'bench'),
    password: new Secret(mechanic.password, 'bench'),
  });
  session.onRefresh(() => answered.push(Date.now()));
  const subscriber = createLeanSubscriber({
    id: `bench-${i}`,
    supabaseUrl: target.url,
    anonKey: target.publishableKey,
    tokens: session,
    schema: 'public',
    table: 'session_assignments',
    changesChannel: 'bench-changes',
    broadcastChannel: target.broadcastChannel,
    broadcastEvent: 'tick',
    paths: ['broadcast'],
    clock: systemClock,
    handlers: {
      onStatus: (change) => {
        if (change.status === 'SUBSCRIBED') subscribed += 1;
        else if (change.reason === 'auth') authErrors += 1;
      },
      onDelivery: () => {
        delivered += 1;
      },
    },
  });
  subscriber.start();
  subscribers.push(subscriber);
}
process.stderr.write(
  `${count} signed in and subscribing after ${((Date.now() - started) / 1000).toFixed(1)} s\n`,
);

const holdStart = Date.now();
const holdMs = minutes * 60_000;
let broadcasts = 0;
let expected = 0;
while (Date.now() - holdStart < holdMs) {
  await new Promise((resolve) => setTimeout(resolve, 2_000));
  const sent = target.gateway.broadcast(target.broadcastChannel, 'tick', { n: broadcasts });
  broadcasts += 1;
  expected += sent;
}
await new Promise((resolve) => setTimeout(resolve, 2_000));
const holdEnd = Date.now();
const refreshFailures = pool.sessions.reduce((sum, session) => sum + session.status().refreshFailures, 0);

function perSecond(
  from: number,
  to: number,
  times: readonly number[] = refreshes,
): { mean: number; max: number } {
  const seconds = Math.floor((to - from) / 1000);
  const buckets = new Array<number>(seconds).fill(0);
  for (const at of times) {
    const index = Math.floor((at - from) / 1000);
    if (index >= 0 && index < seconds) buckets[index]! += 1;
  }
  const total = buckets.reduce((a, b) => a + b, 0);
  return { mean: total / seconds, max: Math.max(...buckets) };
}
const whole = perSecond(holdStart, holdEnd);
const settled = perSecond(holdStart + 60_000, holdEnd);
console.log(`token refresh: ${count} lean subscribers, ${ttl} s tokens, ${minutes} min hold`);
console.log('| window | refreshes/s mean | max in one second | max ÷ mean |');
console.log('| --- | --- | --- | --- |');
console.log(
  `| whole hold | ${whole.mean.toFixed(1)} | ${whole.max} | ${(whole.max / whole.mean).toFixed(2)} |`,
);
console.log(
  `| after minute 1 | ${settled.mean.toFixed(1)} | ${settled.max} | ${(settled.max / settled.mean).toFixed(2)} |`,
);
const answers = perSecond(holdStart + 60_000, holdEnd, answered);
console.log(
  `| answers received, after minute 1 | ${answers.mean.toFixed(1)} | ${answers.max} | ${(answers.max / answers.mean).toFixed(2)} |`,
);
console.log(
  `refresh failures: ${refreshFailures}; auth subscription errors: ${authErrors}; SUBSCRIBED transitions: ${subscribed}`,
);
console.log(`broadcast deliveries: ${delivered} of ${expected} sent to sockets (${broadcasts} broadcasts)`);
await Promise.all(subscribers.map((s) => s.stop()));
pool.stop();
await target.stop();
