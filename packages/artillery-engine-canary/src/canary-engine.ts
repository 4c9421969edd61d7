/**
 * The Artillery engine: `engine: canary` scenarios whose virtual users are mechanic subscribers.
 *
 * Steps: `subscribe` (one lean subscriber per virtual user; waits for SUBSCRIBED), `publish`
 * (synthetic waivers through the core's publisher), `unsubscribe` (waits for the user's open events,
 * then leaves; implied at the end of a flow), plus Artillery's `think`, `loop` (with `count`) and `log`.
 */
import type { EventEmitter } from 'node:events';
import { loadCore } from './core.js';
import { EngineBooks } from './engine-books.js';
import { EngineConfigError, parsePaths, resolveEngineConfig } from './engine-config.js';

export interface ArtilleryContext {
  vars: Record<string, unknown>;
}

type StepCallback = (error: Error | null, context: ArtilleryContext) => void;
export type ArtilleryStep = (context: ArtilleryContext, callback: StepCallback) => void;

/** The part of Artillery's engine utilities (`helpers`) this engine uses. */
export interface ArtilleryHelpers {
  template(value: unknown, context: ArtilleryContext): unknown;
  createThink(spec: Record<string, unknown>, options?: Record<string, unknown>): ArtilleryStep;
  createLoopWithCount(
    count: unknown,
    steps: ArtilleryStep[],
    options: Record<string, unknown>,
  ): ArtilleryStep;
}

export interface ArtilleryScript {
  config: { target?: unknown; canary?: unknown };
}

export interface ScenarioSpec {
  name?: string;
  flow?: unknown[];
}

type Emitter = Pick<EventEmitter, 'emit'>;

const MAX_PUBLISH_COUNT = 1_000;

/** What each virtual user carries between steps. */
interface Session {
  subscriberId: string | undefined;
}

export class CanaryEngine {
  private readonly books: EngineBooks;
  private readonly helpers: ArtilleryHelpers;
  private readonly sessions = new WeakMap<ArtilleryContext, Session>();

  constructor(books: EngineBooks, helpers: ArtilleryHelpers) {
    this.books = books;
    this.helpers = helpers;
  }

  createScenario(spec: ScenarioSpec, ee: Emitter): ArtilleryStep {
    this.books.attach(ee);
    const steps = this.compileSteps(spec.flow ?? [], spec.name ?? 'scenario');
    return (context, callback) => {
      ee.emit('started');
      this.books.enter();
      const session: Session = { subscriberId: undefined };
      this.sessions.set(context, session);
      const finish = async (error: Error | null): Promise<void> => {
        try {
          if (session.subscriberId !== undefined) await this.books.unsubscribe(session.subscriberId);
        } finally {
          await this.books.leave();
        }
        if (error) ee.emit('error', errorCode(error));
        callback(error, context);
      };
      runSequence(steps, context).then(
        () => finish(null),
        (error: unknown) => finish(error instanceof Error ? error : new Error(String(error))),
      );
    };
  }

  private session(context: ArtilleryContext): Session {
    const session = this.sessions.get(context);
    if (!session) throw new Error('canary step ran outside a canary scenario');
    return session;
  }

  private compileSteps(flow: unknown[], where: string): ArtilleryStep[] {
    return flow.map((step, index) => this.compileStep(step, `${where}, step ${index + 1}`));
  }

  private compileStep(step: unknown, where: string): ArtilleryStep {
    if (typeof step !== 'object' || step === null || Array.isArray(step)) {
      throw new EngineConfigError(
        `${where} is ${JSON.stringify(step)}`,
        'write each step as a mapping, e.g. "- publish: {}"',
      );
    }
    const spec = step as Record<string, unknown>;
    if ('subscribe' in spec) {
      const options = (spec.subscribe ?? {}) as Record<string, unknown>;
      const paths =
        options.paths === undefined ? undefined : parsePaths(options.paths, `${where}: subscribe.paths`);
      return callbackStep(async (context) => {
        const session = this.session(context);
        if (session.subscriberId !== undefined) {
          throw new EngineConfigError(
            `${where}: this virtual user already subscribed`,
            'a virtual user is one mechanic; subscribe once per flow',
          );
        }
        session.subscriberId = await this.books.subscribe(paths);
      });
    }
    if ('publish' in spec) {
      const options = (spec.publish ?? {}) as Record<string, unknown>;
      return callbackStep(async (context) => {
        const rendered = this.helpers.template(options, context) as Record<string, unknown>;
        const count = wholeNumber(rendered.count ?? 1, `${where}: publish.count`, 1, MAX_PUBLISH_COUNT);
        const payloadBytes = wholeNumber(
          rendered.payloadBytes ?? 0,
          `${where}: publish.payloadBytes`,
          0,
          1_000_000,
        );
        // Sequential on purpose: publish order is what out-of-order detection compares against.
        for (let i = 0; i < count; i += 1) await this.books.publish(payloadBytes);
      });
    }
    if ('unsubscribe' in spec) {
      return callbackStep(async (context) => {
        const session = this.session(context);
        const id = session.subscriberId;
        session.subscriberId = undefined;
        if (id !== undefined) await this.books.unsubscribe(id);
      });
    }
    if ('think' in spec) return this.helpers.createThink(spec, {});
    if ('loop' in spec) {
      if (!Array.isArray(spec.loop)) {
        throw new EngineConfigError(
          `${where}: loop is not a list of steps`,
          'write "- loop: [ ... ]" with "count: N"',
        );
      }
      if (spec.count === undefined) {
        throw new EngineConfigError(
          `${where}: loop has no count`,
          'give "count: N"; an endless loop never lets the virtual user finish',
        );
      }
      return this.helpers.createLoopWithCount(spec.count, this.compileSteps(spec.loop, `${where} loop`), {});
    }
    if ('log' in spec) {
      return (context, callback) => {
        console.log(String(this.helpers.template(spec.log, context)));
        callback(null, context);
      };
    }
    throw new EngineConfigError(
      `${where}: ${JSON.stringify(Object.keys(spec))} is not a canary step`,
      'use subscribe, publish, unsubscribe, think, loop or log',
    );
  }
}

/** Artillery counts `errors.<code>`; a bad script gets one code, anything else its message. */
function errorCode(error: Error): string {
  return error instanceof EngineConfigError ? 'canary.config_invalid' : error.message;
}

function wholeNumber(value: unknown, where: string, min: number, max: number): number {
  const number = typeof value === 'string' ? Number(value) : value;
  if (typeof number !== 'number' || !Number.isInteger(number) || number < min || number > max) {
    throw new EngineConfigError(
      `${where} is ${JSON.stringify(value)}`,
      `give a whole number from ${min} to ${max}`,
    );
  }
  return number;
}

function callbackStep(body: (context: ArtilleryContext) => Promise<void>): ArtilleryStep {
  return (context, callback) => {
    body(context).then(
      () => callback(null, context),
      (error: unknown) => callback(error instanceof Error ? error : new Error(String(error)), context),
    );
  };
}

function runSequence(steps: ArtilleryStep[], context: ArtilleryContext): Promise<void> {
  return steps.reduce<Promise<void>>(
    (previous, step) =>
      previous.then(
        () =>
          new Promise<void>((resolve, reject) => {
            step(context, (error) => (error ? reject(error) : resolve()));
          }),
      ),
    Promise.resolve(),
  );
}

/** Builds an engine for one Artillery worker: checks `config.canary`, then loads the core. */
export async function createCanaryEngine(
  script: ArtilleryScript,
  helpers: ArtilleryHelpers,
): Promise<CanaryEngine> {
  const config = resolveEngineConfig(script.config);
  const core = await loadCore();
  return new CanaryEngine(new EngineBooks(core, config), helpers);
}
