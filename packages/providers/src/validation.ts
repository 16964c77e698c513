import type { ValidationRequest } from './provider';

/** A group's validation endpoint, split and classified. */
export interface ValidationTarget {
  path: string;
  query: string;
  /** A model-list endpoint: it answers GET only, so it is validated without a body. */
  list: boolean;
}

/** Splits the configured endpoint (`fallback` when empty) into path and query; `isList` tells a model list. */
export function validationTarget(
  endpoint: string,
  fallback: string,
  isList: (path: string) => boolean,
): ValidationTarget {
  const raw = endpoint.trim() || fallback;
  const q = raw.indexOf('?');
  const path = q < 0 ? raw : raw.slice(0, q);
  const query = q < 0 ? '' : raw.slice(q + 1);
  const withSlash = path.startsWith('/') ? path : `/${path}`;
  return { path: withSlash, query, list: isList(withSlash) };
}

/** A GET of a model list carrying only the credential header. */
export function listValidation(target: ValidationTarget, headers: Record<string, string>): ValidationRequest {
  return { method: 'GET', path: target.path, query: target.query, headers, body: null };
}
