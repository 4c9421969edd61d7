/**
 * JSON Schemas for editors, generated from the zod schemas that validate each config kind, so
 * autocomplete and inline errors in an editor follow the same rules the loader enforces. Shipped
 * YAML files point at them with a `# yaml-language-server: $schema=…` first line. Written by
 * `canary generate` into schemas/ and drift-checked by `canary generate --check`.
 *
 * Refinements that span keys (lateAfter < deadline, a threshold that must be a histogram bucket)
 * are not expressible here; the loader still reports them, naming the file and key.
 */
import { z } from 'zod';
import {
  canaryFileSchema,
  CONFIG_VERSION,
  environmentSchema,
  probeFileSchema,
  probeSchema,
} from '../config/index.js';
import { scenarioSchema, SCENARIO_VERSION } from '../load/index.js';
import { SLO_SPEC_VERSION, sloSpecSchema } from '../slo/index.js';

export interface JsonSchemaFile {
  /** e.g. schemas/probe.schema.json */
  readonly path: string;
  /** Which shipped YAML files are of this kind (repository-relative globs: folder + suffix). */
  readonly appliesTo: readonly string[];
  readonly schema: z.ZodType;
  readonly title: string;
  readonly version: string;
}

/** The config file with its environments and inline probes typed, as an editor should see it. */
const canaryEditorSchema = canaryFileSchema.extend({
  environments: z.array(environmentSchema).default([]),
  probes: z.array(z.union([z.strictObject({ file: z.string().min(1) }), probeSchema])).default([]),
});

export const JSON_SCHEMA_FILES: readonly JsonSchemaFile[] = [
  {
    path: 'schemas/canary.schema.json',
    appliesTo: ['canary.yaml', 'environments/', 'deploy/kubernetes/config/'],
    schema: canaryEditorSchema,
    title: 'Realtime Canary config (canary.yaml, environments/*.yaml)',
    version: CONFIG_VERSION,
  },
  {
    path: 'schemas/probe.schema.json',
    appliesTo: ['probes/'],
    schema: probeFileSchema,
    title: 'Realtime Canary probe (probes/*.yaml)',
    version: CONFIG_VERSION,
  },
  {
    path: 'schemas/scenario.schema.json',
    appliesTo: ['scenarios/'],
    schema: scenarioSchema,
    title: 'Realtime Canary load scenario (scenarios/*.yaml)',
    version: SCENARIO_VERSION,
  },
  {
    path: 'schemas/slo.schema.json',
    appliesTo: ['slos/'],
    schema: sloSpecSchema,
    title: 'Realtime Canary SLOs (slos/*.yaml)',
    version: SLO_SPEC_VERSION,
  },
];

export function renderJsonSchema(file: JsonSchemaFile): string {
  const generated = z.toJSONSchema(file.schema, { io: 'input', unrepresentable: 'any', target: 'draft-7' });
  const schema = {
    ...generated,
    $comment: `Generated from the zod schemas by \`canary generate\` — do not edit (${file.version}).`,
    title: file.title,
  };
  return `${JSON.stringify(schema, null, 2)}\n`;
}

/** The schema a YAML file of the repository should reference, or undefined for other files. */
export function jsonSchemaFor(relativePath: string): JsonSchemaFile | undefined {
  return JSON_SCHEMA_FILES.find((file) =>
    file.appliesTo.some((prefix) =>
      prefix.endsWith('/') ? relativePath.startsWith(prefix) : relativePath === prefix,
    ),
  );
}
