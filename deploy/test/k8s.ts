// deploy/k8s as the tests see it: every document of every manifest, and the pods they run.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { arr, obj, readYaml, readYamlDocuments, root } from './support';

export const K8S_DIR = 'deploy/k8s';

export interface Manifest {
  file: string;
  apiVersion: string;
  kind: string;
  name: string;
  raw: Record<string, unknown>;
}

/** The manifest files (kustomization.yaml excluded). */
export function manifestFiles(): string[] {
  return readdirSync(join(root, K8S_DIR))
    .filter((f) => /\.ya?ml$/.test(f) && f !== 'kustomization.yaml')
    .sort();
}

/** Every object of every manifest file. */
export function manifests(): Manifest[] {
  return manifestFiles().flatMap((file) =>
    readYamlDocuments(`${K8S_DIR}/${file}`)
      .filter((doc) => doc !== null)
      .map((doc) => {
        const raw = obj(doc);
        return {
          file,
          apiVersion: String(raw.apiVersion),
          kind: String(raw.kind),
          name: String(obj(raw.metadata).name),
          raw,
        };
      }),
  );
}

export function kustomization(): Record<string, unknown> {
  return obj(readYaml(`${K8S_DIR}/kustomization.yaml`));
}

/** The pod template of a Deployment or Job. */
export function podTemplate(m: Manifest): { labels: Record<string, unknown>; spec: Record<string, unknown> } {
  const template = obj(obj(m.raw.spec).template);
  return { labels: obj(obj(template.metadata).labels), spec: obj(template.spec) };
}

export function containers(m: Manifest): Record<string, unknown>[] {
  return arr(podTemplate(m).spec.containers).map(obj);
}

/** Whether a label selector (`matchLabels` or a Service's plain map) selects these labels. */
export function selects(selector: Record<string, unknown>, labels: Record<string, unknown>): boolean {
  const entries = Object.entries(selector);
  return entries.length > 0 && entries.every(([k, v]) => labels[k] === v);
}

/** Whether a probe or Service port (name or number) is one the container exposes. */
export function exposes(container: Record<string, unknown>, port: unknown): boolean {
  return arr(container.ports)
    .map(obj)
    .some((p) => p.name === port || p.containerPort === port);
}

/** The env var names a container gets, through `env` and `envFrom` ConfigMaps/Secrets of these manifests. */
export function envNames(container: Record<string, unknown>, all: Manifest[]): Set<string> {
  const names = new Set(arr(container.env).map((e) => String(obj(e).name)));
  for (const from of arr(container.envFrom).map(obj)) {
    const ref = obj(from.configMapRef ?? from.secretRef);
    const source = all.find((m) => ['ConfigMap', 'Secret'].includes(m.kind) && m.name === ref.name);
    for (const key of Object.keys({ ...obj(source?.raw.data), ...obj(source?.raw.stringData) }))
      names.add(key);
  }
  return names;
}
