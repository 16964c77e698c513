// deploy/k8s: schema-valid objects (kubernetes-models) that also fit together: probes on exposed ports, Services
// and budgets selecting real pods, the HPA on the gateway, secrets only as placeholders.
import { describe, expect, it } from 'vitest';
import {
  containers,
  envNames,
  exposes,
  K8S_DIR,
  kustomization,
  type Manifest,
  manifestFiles,
  manifests,
  podTemplate,
  selects,
} from './k8s';
import { arr, obj, run } from './support';

const all = manifests();
const ofKind = (kind: string) => all.filter((m) => m.kind === kind);
const workloads = () => [...ofKind('Deployment'), ...ofKind('Job')];

/** The Deployment running an image (`keyway/gateway`), by the image name before the tag. */
function deploymentOf(image: string): Manifest {
  const found = ofKind('Deployment').find((d) =>
    containers(d).some((c) => String(c.image).split(':')[0] === image),
  );
  if (!found) throw new Error(`no Deployment runs ${image}`);
  return found;
}

type Model = { validate(): void };
type ModelModule = Record<string, new (data: unknown) => Model>;

describe('deploy/k8s', () => {
  it('holds only valid Kubernetes objects', async () => {
    expect(all.length).toBeGreaterThan(10);
    for (const m of all) {
      // apps/v1 → kubernetes-models/apps/v1/Deployment; v1 → kubernetes-models/v1/Service
      const mod = (await import(`kubernetes-models/${m.apiVersion}/${m.kind}`)) as ModelModule;
      const Kind = mod[m.kind];
      expect(Kind, `${m.file}: ${m.apiVersion} ${m.kind}`).toBeDefined();
      expect(m.name, `${m.file}: ${m.kind} has a name`).toMatch(/^[a-z0-9-]+$/);
      expect(() => new Kind!(m.raw).validate(), `${m.file}: ${m.kind} ${m.name}`).not.toThrow();
    }
  });

  it('lists every manifest in kustomization.yaml, in the keyway namespace, with every image settable', () => {
    const k = kustomization();
    expect(arr(k.resources).map(String).sort()).toEqual(manifestFiles());
    expect(ofKind('Namespace').map((n) => n.name)).toEqual([k.namespace]);
    const settable = new Set(arr(k.images).map((i) => String(obj(i).name)));
    for (const w of workloads())
      for (const c of containers(w))
        expect(settable, String(c.image)).toContain(String(c.image).split(':')[0]);
  });

  it('probes readiness on /ready and liveness on /health, on a port the container exposes', () => {
    expect(ofKind('Deployment').length).toBe(3);
    for (const d of ofKind('Deployment')) {
      for (const c of containers(d)) {
        for (const [probe, path] of [
          ['readinessProbe', '/ready'],
          ['livenessProbe', '/health'],
        ] as const) {
          const get = obj(obj(c[probe]).httpGet);
          expect(get.path, `${d.name} ${probe}`).toBe(path);
          expect(exposes(c, get.port), `${d.name} ${probe} port ${String(get.port)}`).toBe(true);
        }
        const port = arr(c.env)
          .map(obj)
          .find((e) => e.name === 'PORT')?.value;
        expect(exposes(c, Number(port)), `${d.name} listens (PORT) where it exposes`).toBe(true);
      }
    }
  });

  it('runs every pod as non-root with a read-only root filesystem and a writable /tmp', () => {
    for (const w of workloads()) {
      const { spec } = podTemplate(w);
      const pod = obj(spec.securityContext);
      expect(pod.runAsNonRoot, w.name).toBe(true);
      expect(Number(pod.runAsUser), `${w.name}: numeric non-root uid`).toBeGreaterThan(0);
      for (const c of containers(w)) {
        const sc = obj(c.securityContext);
        expect(sc.allowPrivilegeEscalation, w.name).toBe(false);
        expect(sc.readOnlyRootFilesystem, w.name).toBe(true);
        expect(arr(obj(sc.capabilities).drop), w.name).toContain('ALL');
        const tmp = arr(c.volumeMounts)
          .map(obj)
          .find((v) => v.mountPath === '/tmp');
        const volume = arr(spec.volumes)
          .map(obj)
          .find((v) => v.name === tmp?.name);
        expect(volume?.emptyDir, `${w.name} mounts an emptyDir on /tmp`).toBeDefined();
      }
    }
  });

  it('requests CPU and memory and limits memory for every container', () => {
    for (const w of workloads()) {
      for (const c of containers(w)) {
        const resources = obj(c.resources);
        expect(obj(resources.requests).cpu, w.name).toBeDefined();
        expect(obj(resources.requests).memory, w.name).toBeDefined();
        expect(obj(resources.limits).memory, w.name).toBeDefined();
      }
    }
  });

  it("routes each Service to a Deployment's pods, on a port they expose", () => {
    for (const s of ofKind('Service')) {
      const selector = obj(obj(s.raw.spec).selector);
      const targets = ofKind('Deployment').filter((d) => selects(selector, podTemplate(d).labels));
      expect(targets.length, `Service ${s.name} selects a Deployment`).toBe(1);
      for (const p of arr(obj(s.raw.spec).ports).map(obj))
        expect(
          containers(targets[0]!).some((c) => exposes(c, p.targetPort)),
          `${s.name} ${String(p.targetPort)}`,
        ).toBe(true);
    }
    for (const j of ofKind('Job'))
      for (const s of ofKind('Service'))
        expect(
          selects(obj(obj(s.raw.spec).selector), podTemplate(j).labels),
          `${s.name} skips ${j.name}`,
        ).toBe(false);
  });

  it('autoscales the gateway Deployment on CPU, from at least two replicas', () => {
    const gateway = deploymentOf('keyway/gateway');
    const [hpa, ...more] = ofKind('HorizontalPodAutoscaler');
    expect(more).toEqual([]);
    const spec = obj(hpa?.raw.spec);
    expect(spec.scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name: gateway.name });
    expect(Number(spec.minReplicas)).toBeGreaterThanOrEqual(2);
    expect(arr(spec.metrics).map((m) => obj(obj(m).resource).name)).toContain('cpu');
    // A fixed replica count would be reset by every `kubectl apply`, fighting the HPA.
    expect(obj(gateway.raw.spec).replicas).toBeUndefined();
    for (const c of containers(gateway)) expect(obj(obj(c.resources).requests).cpu).toBeDefined();
  });

  it('keeps disruption budgets on pods that exist', () => {
    expect(ofKind('PodDisruptionBudget').length).toBeGreaterThan(0);
    for (const pdb of ofKind('PodDisruptionBudget')) {
      const selector = obj(obj(obj(pdb.raw.spec).selector).matchLabels);
      expect(
        ofKind('Deployment').some((d) => selects(selector, podTemplate(d).labels)),
        pdb.name,
      ).toBe(true);
    }
  });

  it('sends /proxy/, /v1 and /v1beta to the gateway and the rest to the control plane through the Ingress', () => {
    const backends = new Map<string, Record<string, unknown>>();
    for (const ingress of ofKind('Ingress'))
      for (const rule of arr(obj(ingress.raw.spec).rules))
        for (const p of arr(obj(obj(rule).http).paths).map(obj))
          backends.set(String(p.path), obj(obj(p.backend).service));
    const serviceFor = (image: string) =>
      ofKind('Service').find((s) =>
        selects(obj(obj(s.raw.spec).selector), podTemplate(deploymentOf(image)).labels),
      );
    for (const path of ['/proxy/', '/v1', '/v1beta'])
      expect(backends.get(path)?.name, path).toBe(serviceFor('keyway/gateway')?.name);
    expect(backends.get('/')?.name).toBe(serviceFor('keyway/control-plane')?.name);
    for (const b of backends.values()) {
      const service = ofKind('Service').find((s) => s.name === b.name);
      const ports = arr(obj(service?.raw.spec).ports).map((p) => obj(p).name);
      expect(ports, String(b.name)).toContain(obj(b.port).name);
    }
  });

  it('holds no real secret: every Secret value is empty or a REPLACE_ME placeholder', () => {
    expect(ofKind('Secret').length).toBeGreaterThan(0);
    for (const s of ofKind('Secret')) {
      const values = [
        ...Object.entries(obj(s.raw.stringData)).map(([k, v]) => [k, String(v)]),
        ...Object.entries(obj(s.raw.data)).map(([k, v]) => [k, Buffer.from(String(v), 'base64').toString()]),
      ];
      // The message names the key only: a real secret must not end up in a CI log.
      for (const [key, v] of values)
        expect(v === '' || v!.includes('REPLACE_ME'), `${s.name}.${key}`).toBe(true);
    }
  });

  it('references only Secret keys and ConfigMaps that exist', () => {
    for (const w of workloads()) {
      for (const c of containers(w)) {
        for (const e of arr(c.env).map(obj)) {
          const ref = obj(obj(e.valueFrom).secretKeyRef);
          if (!ref.name || ref.optional === true) continue;
          const secret = ofKind('Secret').find((s) => s.name === ref.name);
          expect(
            Object.keys({ ...obj(secret?.raw.stringData), ...obj(secret?.raw.data) }),
            `${w.name}`,
          ).toContain(ref.key);
        }
        for (const from of arr(c.envFrom).map(obj)) {
          const name = obj(from.configMapRef).name;
          if (name)
            expect(
              ofKind('ConfigMap').map((m) => m.name),
              w.name,
            ).toContain(name);
        }
      }
    }
  });

  it('gives each app the settings it needs, and migrates with the control-plane image', () => {
    const needs: Record<string, string[]> = {
      'keyway/gateway': ['REDIS_URL', 'NATS_URL', 'ENCRYPTION_KEY'],
      'keyway/control-plane': ['DATABASE_URL', 'REDIS_URL', 'NATS_URL', 'AUTH_KEY', 'ENCRYPTION_KEY'],
      'keyway/worker': ['DATABASE_URL', 'REDIS_URL', 'NATS_URL', 'ENCRYPTION_KEY'],
    };
    for (const [image, vars] of Object.entries(needs)) {
      const names = envNames(containers(deploymentOf(image))[0]!, all);
      for (const v of vars) expect(names, `${image} ${v}`).toContain(v);
    }
    const [job] = ofKind('Job');
    const migrate = containers(job!)[0]!;
    expect(String(migrate.image).split(':')[0]).toBe('keyway/control-plane');
    expect(migrate.command).toEqual(['node', 'dist/migrate.js']);
    expect(envNames(migrate, all)).toContain('DATABASE_URL');
    expect(podTemplate(job!).spec.restartPolicy).toBe('Never');
  });
});

// kubectl is optional (not in Debian): when present, kustomize must render the whole set.
const kubectl = run('kubectl', ['version', '--client']).status === 0;
if (!kubectl) console.warn(`\n(kubectl not installed: not rendering ${K8S_DIR} with kustomize)\n`);

describe.skipIf(!kubectl)('kubectl kustomize deploy/k8s', () => {
  it('renders every object with the images set to the registry', () => {
    const result = run('kubectl', ['kustomize', K8S_DIR]);
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(result.stdout.split(/^---$/m).length).toBe(all.length);
    expect(result.stdout).not.toMatch(/image: keyway\//);
  });
});
