/**
 * The always-on canary on Kubernetes (deploy/kubernetes/canary/): each overlay rendered with
 * `kubectl kustomize`, every object validated against the Kubernetes and Prometheus Operator
 * schemas, and the wiring no schema sees — non-root and read-only, probes on /healthz and /readyz,
 * every secret variable the config names set from the Secret, the rules and dashboards the same as
 * prometheus/rules/ and dashboards/, the scrape jobs keeping the canary's labels.
 */
import fs from 'node:fs';
import path from 'node:path';
import * as monitoringV1 from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1';
import * as appsV1 from 'kubernetes-models/apps/v1';
import * as coreV1 from 'kubernetes-models/v1';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadCanaryConfig } from '../../src/config/index.js';
import { kustomize, skipWithoutKubectl, type KubernetesObject } from '../helpers/kubectl.js';
import { repoRoot, tempDir } from './load-support.js';

const canaryDir = path.join(repoRoot, 'deploy', 'kubernetes', 'canary');
const OVERLAYS = ['one-environment', 'several-environments'];

type Validating = new (data: Record<string, unknown>) => { validate(): void };
const MODELS: Record<string, Record<string, unknown>> = {
  v1: coreV1,
  'apps/v1': appsV1,
  'monitoring.coreos.com/v1': monitoringV1,
};

function validationError(object: KubernetesObject): unknown {
  const Model = MODELS[object.apiVersion]?.[object.kind];
  if (typeof Model !== 'function') return new Error(`no schema for ${object.apiVersion} ${object.kind}`);
  try {
    new (Model as Validating)(object).validate();
    return undefined;
  } catch (error) {
    return error;
  }
}

interface Container {
  name: string;
  image: string;
  command?: string[];
  args: string[];
  env: { name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string } } }[];
  ports: { name: string; containerPort: number }[];
  readinessProbe: { httpGet: { path: string; port: string } };
  livenessProbe: { httpGet: { path: string; port: string } };
  startupProbe?: { httpGet: { path: string; port: string } };
  resources: { requests: { cpu: string; memory: string }; limits: { memory: string } };
  securityContext: { readOnlyRootFilesystem: boolean; allowPrivilegeEscalation: boolean };
  volumeMounts: { name: string; mountPath: string }[];
}

interface Deployment {
  spec: {
    replicas: number;
    selector: { matchLabels: Record<string, string> };
    template: {
      metadata: { labels: Record<string, string> };
      spec: { securityContext: { runAsNonRoot: boolean; runAsUser: number }; containers: Container[] };
    };
  };
}

function one(objects: KubernetesObject[], kind: string, name?: string): KubernetesObject {
  const found = objects.filter((o) => o.kind === kind && (name === undefined || o.metadata.name === name));
  expect(
    found.map((o) => o.metadata.name),
    `${kind} ${name ?? ''}`,
  ).toHaveLength(1);
  return found[0]!;
}

/** Every environment-variable name a config names: values of *Env keys (strings, lists, maps). */
function secretVariables(value: unknown, out: Set<string> = new Set()): Set<string> {
  if (Array.isArray(value)) for (const item of value) secretVariables(item, out);
  else if (value !== null && typeof value === 'object') {
    for (const [key, inner] of Object.entries(value)) {
      if (key.endsWith('Env')) {
        const names = typeof inner === 'string' ? [inner] : Object.values(inner as object).flat();
        for (const name of names) if (typeof name === 'string') out.add(name);
      } else secretVariables(inner, out);
    }
  }
  return out;
}

/** The canary.yaml of the ConfigMap the Deployment mounts at /config. */
function mountedConfig(objects: KubernetesObject[]): string {
  const pod = (one(objects, 'Deployment') as unknown as Deployment).spec.template.spec as unknown as {
    volumes: { name: string; configMap?: { name: string } }[];
    containers: Container[];
  };
  const mount = pod.containers[0]!.volumeMounts.find((m) => m.mountPath === '/config');
  const volume = pod.volumes.find((v) => v.name === mount?.name);
  const configMap = one(objects, 'ConfigMap', volume?.configMap?.name) as unknown as {
    data: Record<string, string>;
  };
  const text = configMap.data['canary.yaml'];
  expect(text, 'canary.yaml in the mounted ConfigMap').toBeDefined();
  return text!;
}

function committed(dir: string, suffix: string): { name: string; content: string }[] {
  return fs
    .readdirSync(path.join(repoRoot, dir))
    .filter((name) => name.endsWith(suffix))
    .sort()
    .map((name) => ({ name, content: fs.readFileSync(path.join(repoRoot, dir, name), 'utf8') }));
}

describe.skipIf(skipWithoutKubectl)('the always-on canary on Kubernetes', () => {
  for (const overlay of OVERLAYS) {
    describe(`overlay ${overlay}`, () => {
      const objects = kustomize(path.join(canaryDir, 'overlays', overlay));

      it('renders only objects that pass the Kubernetes and Prometheus Operator schemas', () => {
        expect([...new Set(objects.map((o) => o.kind))].sort()).toEqual([
          'ConfigMap',
          'Deployment',
          'PrometheusRule',
          'Service',
          'ServiceMonitor',
        ]);
        for (const object of objects) {
          expect(validationError(object), `${object.kind} ${object.metadata.name}`).toBeUndefined();
          expect(object.metadata.namespace, object.metadata.name).toBe('realtime-canary');
        }
      });

      it('rejects a Deployment the schema forbids, so the validation above is real', () => {
        const broken = structuredClone(one(objects, 'Deployment')) as unknown as KubernetesObject & {
          spec: Record<string, unknown>;
        };
        broken.spec.replicas = 'one';
        expect(validationError(broken)).toBeInstanceOf(Error);
      });

      it('runs one non-root replica of the canary binary on a read-only root filesystem, probed on /healthz and /readyz', () => {
        const deployment = one(objects, 'Deployment') as unknown as Deployment;
        expect(deployment.spec.replicas).toBe(1);
        const pod = deployment.spec.template.spec;
        expect(pod.securityContext.runAsNonRoot).toBe(true);
        expect(pod.securityContext.runAsUser).toBeGreaterThan(0);
        const [container] = pod.containers;
        expect(pod.containers).toHaveLength(1);
        expect(container!.securityContext).toMatchObject({
          readOnlyRootFilesystem: true,
          allowPrivilegeEscalation: false,
        });
        expect(container!.volumeMounts.map((m) => m.mountPath)).toContain('/tmp');
        // The image's entrypoint is the binary; no npm in between to swallow SIGTERM.
        expect(container!.command).toBeUndefined();
        expect(container!.args[0]).toBe('run');
        expect(container!.args.join(' ')).not.toMatch(/\bnpm\b/);
        expect(container!.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'metrics' });
        expect(container!.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'metrics' });
        expect(container!.ports).toEqual([{ name: 'metrics', containerPort: 9464 }]);
        expect(container!.resources.requests.cpu).toBeTruthy();
        expect(container!.resources.limits.memory).toBeTruthy();
      });

      it('gives the container every secret variable its config names, each from the canary-secrets Secret', () => {
        const deployment = one(objects, 'Deployment') as unknown as Deployment;
        const container = deployment.spec.template.spec.containers[0]!;
        const configText = mountedConfig(objects);
        const dir = tempDir('k8s-config');
        try {
          fs.writeFileSync(path.join(dir, 'canary.yaml'), configText);
          const config = loadCanaryConfig(path.join(dir, 'canary.yaml'));
          expect(config.environments.every((env) => env.remote !== undefined)).toBe(true);
          expect(config.environments.length).toBe(overlay === 'one-environment' ? 1 : 2);
        } finally {
          fs.rmSync(dir, { recursive: true, force: true });
        }
        const needed = [...secretVariables(parse(configText))].sort();
        expect(needed.length).toBeGreaterThan(0);
        const fromSecret = container.env
          .filter(
            (e) =>
              e.valueFrom?.secretKeyRef?.name === 'canary-secrets' && e.valueFrom.secretKeyRef.key === e.name,
          )
          .map((e) => e.name)
          .sort();
        expect(fromSecret).toEqual(needed);
      });

      it('scrapes the Service the pods are behind, keeping the canary labels, with or without the operator', () => {
        const deployment = one(objects, 'Deployment') as unknown as Deployment;
        const service = one(objects, 'Service') as unknown as KubernetesObject & {
          spec: { selector: Record<string, string>; ports: { name: string; targetPort: string }[] };
        };
        expect(deployment.spec.template.metadata.labels).toMatchObject(service.spec.selector);
        expect(deployment.spec.template.metadata.labels).toMatchObject(deployment.spec.selector.matchLabels);
        expect(service.spec.ports).toMatchObject([{ name: 'metrics', targetPort: 'metrics' }]);
        const monitor = one(objects, 'ServiceMonitor') as unknown as {
          spec: { selector: { matchLabels: Record<string, string> }; endpoints: Record<string, unknown>[] };
        };
        expect(service.metadata.labels).toMatchObject(monitor.spec.selector.matchLabels);
        expect(monitor.spec.endpoints).toMatchObject([
          { port: 'metrics', path: '/metrics', honorLabels: true },
        ]);
        const scrape = one(objects, 'ConfigMap', 'canary-scrape-config') as unknown as {
          data: Record<string, string>;
        };
        const job = (parse(scrape.data['canary.yml']!) as { scrape_configs: Record<string, unknown>[] })
          .scrape_configs[0]!;
        expect(job.honor_labels).toBe(true);
      });

      it('carries the same alert rules as prometheus/rules/ and the same dashboards, labelled for the Grafana sidecar', () => {
        const rule = one(objects, 'PrometheusRule') as unknown as { spec: { groups: unknown[] } };
        const groups = committed('prometheus/rules', '.yaml').flatMap(
          (file) => (parse(file.content) as { groups: unknown[] }).groups,
        );
        const byName = (list: unknown[]) =>
          [...(list as { name: string }[])].sort((a, b) => a.name.localeCompare(b.name));
        expect(byName(rule.spec.groups)).toEqual(byName(groups));
        const dashboards = objects.filter((o) => o.metadata.labels?.grafana_dashboard === '1') as unknown as {
          data: Record<string, string>;
        }[];
        const shipped = Object.fromEntries(committed('dashboards', '.json').map((f) => [f.name, f.content]));
        expect(Object.assign({}, ...dashboards.map((d) => d.data))).toEqual(shipped);
      });
    });
  }
});
