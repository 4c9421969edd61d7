/**
 * Debian's `kubectl` for rendering kustomizations (`kubectl kustomize`, offline: no cluster needed).
 * When the binary is missing the suite skips locally but fails in CI: use
 * `describe.skipIf(skipWithoutKubectl)`, and kustomize() throws a clear error otherwise.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { parseAllDocuments } from 'yaml';

export const KUBECTL_BINARY = process.env.KUBECTL_BIN ?? '/usr/bin/kubectl';

export const kubectlAvailable = fs.existsSync(KUBECTL_BINARY);

/** Skip only on a developer machine; in CI a missing kubectl is a failure. */
export const skipWithoutKubectl = !kubectlAvailable && process.env.CI !== 'true';

export interface KubernetesObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [key: string]: unknown;
}

/** The objects `kubectl kustomize <dir>` renders. */
export function kustomize(dir: string): KubernetesObject[] {
  if (!kubectlAvailable) {
    throw new Error(
      `kubectl not found at ${KUBECTL_BINARY}: install it (apt-get install kubectl) or set KUBECTL_BIN`,
    );
  }
  const result = spawnSync(KUBECTL_BINARY, ['kustomize', dir], { encoding: 'utf8', timeout: 60_000 });
  if (result.status !== 0) throw new Error(`kubectl kustomize ${dir} failed: ${result.stderr}`);
  return parseAllDocuments(result.stdout)
    .map((document) => document.toJS() as KubernetesObject | null)
    .filter((object): object is KubernetesObject => object !== null);
}
