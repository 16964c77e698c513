// docker-compose.yml as the tests see it: services with their environment, merge keys expanded.
import { arr, obj, readYaml } from './support';

export interface ComposeService {
  name: string;
  raw: Record<string, unknown>;
  /** `environment` as a map (list form `KEY=value` too); values as written, `${…}` not interpolated. */
  env: Map<string, string>;
  dependsOn: Map<string, string>;
}

function environment(value: unknown): Map<string, string> {
  if (Array.isArray(value)) {
    return new Map(
      value.map((entry) => {
        const [key, ...rest] = String(entry).split('=');
        return [key!, rest.join('=')] as [string, string];
      }),
    );
  }
  return new Map(Object.entries(obj(value)).map(([k, v]) => [k, v === null ? '' : String(v as string)]));
}

function dependsOn(value: unknown): Map<string, string> {
  if (Array.isArray(value)) return new Map(value.map((name) => [String(name), 'service_started']));
  return new Map(
    Object.entries(obj(value)).map(([name, v]) => {
      const condition = obj(v).condition;
      return [name, typeof condition === 'string' ? condition : 'service_started'];
    }),
  );
}

/** The services of docker-compose.yml by name. */
export function composeServices(): Map<string, ComposeService> {
  const services = obj(obj(readYaml('docker-compose.yml')).services);
  return new Map(
    Object.entries(services).map(([name, value]) => {
      const raw = obj(value);
      return [name, { name, raw, env: environment(raw.environment), dependsOn: dependsOn(raw.depends_on) }];
    }),
  );
}

/** The Dockerfile a service builds, e.g. `deploy/gateway/Dockerfile`. */
export function dockerfileOf(service: ComposeService): string | undefined {
  const build = obj(service.raw.build);
  return typeof build.dockerfile === 'string' ? build.dockerfile : undefined;
}

/** The profiles a service belongs to (none = started by a plain `docker compose up`). */
export function profilesOf(service: ComposeService): string[] {
  return arr(service.raw.profiles).map(String);
}
