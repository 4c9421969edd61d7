/**
 * The load-shard Kubernetes manifests in deploy/, validated offline against the Kubernetes OpenAPI schemas
 * (kubernetes-models, and the Prometheus Operator's CRD schemas for the PodMonitor), plus the
 * wiring between them that no schema sees: shard count, pod DNS name of the feed, ports, and
 * the config and scenario the shards load.
 */
import fs from 'node:fs';
import path from 'node:path';
import * as monitoringV1 from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1';
import * as batchV1 from 'kubernetes-models/batch/v1';
import * as coreV1 from 'kubernetes-models/v1';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { loadCanaryConfig } from '../../src/config/index.js';
import { loadScenarioFile, parseShard } from '../../src/load/index.js';
import { repoRoot } from './load-support.js';

const deployDir = path.join(repoRoot, 'deploy');

interface Manifest {
  file: string;
  apiVersion: string;
  kind: string;
  metadata?: { name?: string };
  [key: string]: unknown;
}

type Validating = new (data: Record<string, unknown>) => { validate(): void };
const MODELS: Record<string, Record<string, unknown>> = {
  v1: coreV1,
  'batch/v1': batchV1,
  'monitoring.coreos.com/v1': monitoringV1,
};

function modelFor(apiVersion: string, kind: string): Validating | undefined {
  const model = MODELS[apiVersion]?.[kind];
  return typeof model === 'function' ? (model as Validating) : undefined;
}

function yamlFiles(dir: string): string[] {
  return (
    fs
      .readdirSync(dir, { withFileTypes: true, recursive: true })
      .filter((entry) => entry.isFile() && /\.ya?ml$/.test(entry.name))
      // The always-on canary has its own kustomization and test (canary-manifests.test.ts).
      .filter((entry) => !entry.parentPath.startsWith(path.join(deployDir, 'kubernetes', 'canary')))
      .map((entry) => path.join(entry.parentPath, entry.name))
  );
}

function manifests(): Manifest[] {
  const out: Manifest[] = [];
  for (const file of yamlFiles(deployDir)) {
    for (const document of parseAllDocuments(fs.readFileSync(file, 'utf8'))) {
      expect(document.errors, file).toEqual([]);
      const value = document.toJS() as Record<string, unknown> | null;
      if (value && typeof value.apiVersion === 'string' && typeof value.kind === 'string') {
        out.push({ ...value, file: path.relative(repoRoot, file) } as Manifest);
      }
    }
  }
  return out;
}

function validationError(Model: Validating, data: Record<string, unknown>): unknown {
  try {
    new Model(data).validate();
    return undefined;
  } catch (error) {
    return error;
  }
}

describe('Kubernetes manifests', () => {
  const all = manifests();
  const kubernetesObjects = all.filter((m) => m.apiVersion !== 'kustomize.config.k8s.io/v1beta1');
  const job = all.find((m) => m.kind === 'Job') as unknown as {
    metadata: { name: string };
    spec: {
      completionMode: string;
      completions: number;
      parallelism: number;
      template: {
        spec: {
          subdomain: string;
          containers: {
            args: string[];
            ports: { name: string; containerPort: number }[];
            env: { name: string; valueFrom?: { fieldRef?: { fieldPath: string } } }[];
          }[];
        };
      };
    };
  };
  const service = all.find((m) => m.kind === 'Service') as unknown as {
    metadata: { name: string };
    spec: {
      clusterIP: string;
      selector: Record<string, string>;
      ports: { targetPort: string; port: number }[];
    };
  };

  it('validates every Kubernetes object in deploy/ against its schema', () => {
    expect(kubernetesObjects.map((m) => m.kind).sort()).toEqual([
      'ConfigMap',
      'Job',
      'PodMonitor',
      'Service',
    ]);
    for (const manifest of kubernetesObjects) {
      const Model = modelFor(manifest.apiVersion, manifest.kind);
      expect(Model, `${manifest.file}: no schema for ${manifest.apiVersion} ${manifest.kind}`).toBeDefined();
      const { file: _file, ...data } = manifest;
      expect(validationError(Model!, data), manifest.file).toBeUndefined();
    }
  });

  it('rejects a Job the schema forbids, so the validation above is real', () => {
    const { file: _file, ...data } = all.find((m) => m.kind === 'Job')!;
    const broken = structuredClone(data) as unknown as { spec: Record<string, unknown> };
    broken.spec.completions = 'three';
    expect(validationError(batchV1.Job as unknown as Validating, broken)).toBeInstanceOf(Error);
    const nameless = structuredClone(data) as unknown as {
      spec: { template: { spec: Record<string, unknown> } };
    };
    nameless.spec.template.spec.containers = [{ name: 'canary' }, { image: 'x' }];
    expect(validationError(batchV1.Job as unknown as Validating, nameless)).toBeInstanceOf(Error);
  });

  it('runs an Indexed Job whose pods are the shards 0..N-1 of one load', () => {
    expect(job.spec.completionMode).toBe('Indexed');
    expect(job.spec.parallelism).toBe(job.spec.completions);
    const container = job.spec.template.spec.containers[0]!;
    const args = container.args;
    const shardArg = args[args.indexOf('--shard') + 1]!;
    expect(shardArg).toMatch(/^\$\(JOB_COMPLETION_INDEX\)\/\d+$/);
    for (let index = 0; index < job.spec.completions; index++) {
      expect(parseShard(shardArg.replace('$(JOB_COMPLETION_INDEX)', String(index)))).toEqual({
        index,
        count: job.spec.completions,
      });
    }
    expect(container.env.find((e) => e.name === 'JOB_COMPLETION_INDEX')?.valueFrom?.fieldRef?.fieldPath).toBe(
      "metadata.annotations['batch.kubernetes.io/job-completion-index']",
    );
  });

  it('points every shard at pod 0’s feed through the headless Service', () => {
    const container = job.spec.template.spec.containers[0]!;
    const args = container.args;
    const feed = new URL(args[args.indexOf('--shard-feed') + 1]!);
    expect(feed.hostname).toBe(`${job.metadata.name}-0.${job.spec.template.spec.subdomain}`);
    const port = (name: string): number | undefined =>
      container.ports.find((p) => p.name === name)?.containerPort;
    expect(Number(feed.port)).toBe(port('feed'));
    expect(Number(args[args.indexOf('--feed-port') + 1])).toBe(port('feed'));
    expect(Number(args[args.indexOf('--metrics-port') + 1])).toBe(port('metrics'));
    expect(service.metadata.name).toBe(job.spec.template.spec.subdomain);
    expect(service.spec.clusterIP).toBe('None');
    expect(service.spec.selector).toEqual({ 'job-name': job.metadata.name });
    expect(service.spec.ports.map((p) => p.targetPort).sort()).toEqual(['feed', 'metrics']);
  });

  it('loads the shipped config and a shardable scenario, and every file is part of a kustomization', () => {
    const args = job.spec.template.spec.containers[0]!.args;
    const scenario = loadScenarioFile(path.join(repoRoot, args[1]!));
    expect(scenario.executor).not.toBe('connection-limit');
    const config = loadCanaryConfig(path.join(deployDir, 'kubernetes/config/canary.yaml'));
    expect(config.environments.map((e) => e.name)).toContain(args[args.indexOf('--env') + 1]);

    const referenced = new Set<string>();
    for (const kustomization of all.filter((m) => m.kind === 'Kustomization')) {
      const dir = path.dirname(path.join(repoRoot, kustomization.file));
      referenced.add(path.join(repoRoot, kustomization.file));
      for (const resource of (kustomization.resources as string[] | undefined) ?? []) {
        const file = path.join(dir, resource);
        expect(fs.existsSync(file), `${kustomization.file}: ${resource}`).toBe(true);
        referenced.add(file);
      }
      const generators = (kustomization.configMapGenerator as { files?: string[] }[] | undefined) ?? [];
      for (const entry of generators.flatMap((g) => g.files ?? [])) {
        const file = path.join(dir, entry.split('=').pop()!);
        expect(fs.existsSync(file), `${kustomization.file}: ${entry}`).toBe(true);
        referenced.add(file);
      }
    }
    expect(yamlFiles(deployDir).filter((file) => !referenced.has(file))).toEqual([]);
  });
});
