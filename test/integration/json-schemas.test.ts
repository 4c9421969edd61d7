/**
 * The JSON Schemas in schemas/ (generated from the zod schemas by `canary generate`) and the
 * `# yaml-language-server: $schema=…` line every shipped YAML file opens with, so editors
 * autocomplete and check them with the rules the loader enforces.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { JSON_SCHEMA_FILES, jsonSchemaFor, renderJsonSchema } from '../../src/cli/json-schemas.js';

const root = path.resolve(import.meta.dirname, '../..');

function shippedYamlFiles(): string[] {
  const files = ['canary.yaml', 'deploy/kubernetes/config/canary.yaml'];
  for (const dir of ['environments', 'probes', 'scenarios', 'slos']) {
    for (const name of fs.readdirSync(path.join(root, dir)).sort()) {
      if (name.endsWith('.yaml')) files.push(`${dir}/${name}`);
    }
  }
  return files;
}

interface JsonSchema {
  properties?: Record<string, JsonSchema & { const?: unknown }>;
  required?: string[];
  additionalProperties?: boolean;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
}

/** The object schemas a document may match (a discriminated union has several). */
function objectShapes(schema: JsonSchema): JsonSchema[] {
  const alternatives = schema.anyOf ?? schema.oneOf;
  return alternatives ? alternatives.flatMap(objectShapes) : [schema];
}

describe('the JSON Schemas of the config kinds', () => {
  it('are committed as the zod schemas render them', () => {
    for (const file of JSON_SCHEMA_FILES) {
      expect(fs.readFileSync(path.join(root, file.path), 'utf8'), `${file.path}: run npm run generate`).toBe(
        renderJsonSchema(file),
      );
    }
  });

  it.each(shippedYamlFiles())('are referenced from %s, which they describe key by key', (file) => {
    const kind = jsonSchemaFor(file);
    expect(kind, `${file} has no schema kind`).toBeDefined();
    const text = fs.readFileSync(path.join(root, file), 'utf8');
    const first = text.split('\n')[0] ?? '';
    const reference = /^# yaml-language-server: \$schema=(\S+)$/.exec(first)?.[1];
    expect(reference, `${file} must open with # yaml-language-server: $schema=…`).toBeDefined();
    expect(path.resolve(path.dirname(path.join(root, file)), reference as string)).toBe(
      path.join(root, kind?.path ?? ''),
    );

    const schema = JSON.parse(fs.readFileSync(path.join(root, kind?.path ?? ''), 'utf8')) as JsonSchema;
    const doc = parse(text) as Record<string, unknown>;
    const fits = objectShapes(schema).some((shape) => {
      const keys = Object.keys(shape.properties ?? {});
      const versionConst = shape.properties?.version?.const;
      return (
        shape.additionalProperties === false &&
        Object.keys(doc).every((key) => keys.includes(key)) &&
        (shape.required ?? []).every((key) => key in doc) &&
        (versionConst === undefined || versionConst === doc.version)
      );
    });
    expect(fits, `${file} does not fit ${kind?.path}`).toBe(true);
  });

  it('reject unknown keys and echo the duration grammar, as the loader does', () => {
    const probe = JSON.parse(
      fs.readFileSync(path.join(root, 'schemas/probe.schema.json'), 'utf8'),
    ) as JsonSchema;
    expect(probe.additionalProperties).toBe(false);
    expect(JSON.stringify(probe.properties?.deadline)).toContain('1h30m, 28d or 1w');
  });
});
