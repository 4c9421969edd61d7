/* global module, console */
'use strict';
/**
 * Artillery loads engines with require(). The engine is an ES module (it runs the core's ESM build),
 * so this wrapper loads it with import() and hands each scenario over once it is ready. A bad
 * config.canary is printed once, with what to set, and fails every virtual user.
 */
class CanaryEngineLoader {
  constructor(script, ee, helpers) {
    this.ready = import('./dist/index.js')
      .catch((error) => {
        throw new Error(
          `the engine is not built (${error.message}); run "npm run build:artillery-engine" at the repository root`,
        );
      })
      .then((engine) => engine.createCanaryEngine(script, helpers));
    this.ready.catch((error) => console.error(`artillery-engine-canary: ${error.message}`));
  }

  createScenario(spec, ee) {
    const scenario = this.ready.then((engine) => {
      try {
        return engine.createScenario(spec, ee);
      } catch (error) {
        console.error(`artillery-engine-canary: ${error.message}`);
        throw error;
      }
    });
    scenario.catch(() => undefined);
    return (context, callback) => {
      scenario.then(
        (run) => run(context, callback),
        (error) => {
          ee.emit('started');
          ee.emit(
            'error',
            error.name === 'EngineConfigError' ? 'canary.config_invalid' : 'canary.engine_failed',
          );
          callback(error, context);
        },
      );
    };
  }
}

module.exports = CanaryEngineLoader;
