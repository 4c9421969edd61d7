/**
 * The catalogue as the dashboard builders see it: every key of src/metrics' catalogue with names
 * typed as plain strings, so a test can build from a copy with a metric renamed.
 */
import type { MetricKey, MetricSpec } from '../metrics/index.js';

export type MetricCatalog = Readonly<Record<MetricKey, MetricSpec>>;
