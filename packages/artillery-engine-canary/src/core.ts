/**
 * The core's runtime — the installed realtime-canary package (a peer dependency), or inside the
 * repository its build output (`npm run build` at the root; this package builds with
 * `npm run build:artillery-engine`) — so the engine runs the very subscribers, publisher and event
 * ledger `canary run` and `canary load` use. Types come from the core's sources: an engine that
 * drifts from the core fails the typecheck.
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type * as ProbeArea from '../../../src/probe/index.js';
import type * as RealtimeArea from '../../../src/realtime/index.js';
import type * as SharedArea from '../../../src/shared/index.js';

export interface Core {
  probe: typeof ProbeArea;
  realtime: typeof RealtimeArea;
  shared: typeof SharedArea;
}

/** Points the engine at another build of the core (a directory holding probe/, realtime/, shared/). */
export const CORE_DIST_VARIABLE = 'CANARY_CORE_DIST';

function coreBase(): URL {
  const override = process.env[CORE_DIST_VARIABLE];
  if (override) return pathToFileURL(path.resolve(override) + path.sep);
  try {
    // Installed beside realtime-canary: its dist/.
    const manifest = createRequire(import.meta.url).resolve('realtime-canary/package.json');
    return pathToFileURL(path.join(path.dirname(manifest), 'dist') + path.sep);
  } catch {
    // In the repository: packages/artillery-engine-canary/dist/ → the repository's dist/.
    return new URL('../../../dist/', import.meta.url);
  }
}

let loading: Promise<Core> | undefined;

export function loadCore(): Promise<Core> {
  loading ??= (async () => {
    const base = coreBase();
    try {
      const [probe, realtime, shared] = await Promise.all([
        import(new URL('probe/index.js', base).href) as Promise<typeof ProbeArea>,
        import(new URL('realtime/index.js', base).href) as Promise<typeof RealtimeArea>,
        import(new URL('shared/index.js', base).href) as Promise<typeof SharedArea>,
      ]);
      return { probe, realtime, shared };
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      throw new Error(
        `could not load Realtime Canary's build from ${base.pathname} (${reason}); ` +
          `install realtime-canary beside this engine (npm install realtime-canary artillery-engine-canary), ` +
          `run "npm run build" at the repository root, or set ${CORE_DIST_VARIABLE} to a built dist/ directory`,
        { cause: error },
      );
    }
  })();
  return loading;
}
