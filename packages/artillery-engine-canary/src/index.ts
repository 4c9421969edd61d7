/**
 * artillery-engine-canary: runs Realtime Canary's own subscribers, publisher and event ledger inside
 * Artillery, so `artillery run` (and Artillery's distributed runners) measure delivery exactly as
 * `canary load` does. index.cjs is what Artillery requires; it loads this module with import().
 */
export {
  CanaryEngine,
  createCanaryEngine,
  type ArtilleryHelpers,
  type ArtilleryScript,
  type ArtilleryStep,
} from './canary-engine.js';
export { EngineBooks, METRIC } from './engine-books.js';
export { EngineConfigError, resolveEngineConfig, type EngineConfig } from './engine-config.js';
export { CORE_DIST_VARIABLE, loadCore } from './core.js';
