/**
 * Attribute names and values shared by spans and metrics: the HTTP semantic conventions' (stable) and
 * breakwater's own, under `breakwater.`. Nothing here reads a header or a query value.
 */
import type { Attributes } from '@opentelemetry/api';
import type { RequestLike } from './hooks.ts';

/** The methods the HTTP semantic conventions know; any other is reported as `_OTHER`. */
const KNOWN_METHODS = new Set([
  'CONNECT',
  'DELETE',
  'GET',
  'HEAD',
  'OPTIONS',
  'PATCH',
  'POST',
  'PUT',
  'TRACE',
]);

/** The endpoint rule's name, the part of the key before the origin (`orders https://host` -> `orders`). */
export function ruleOf(key: string): string {
  const space = key.indexOf(' ');
  return space === -1 ? key : key.slice(0, space);
}

/** `http.request.method` (and `http.request.method_original` for a method semconv does not list). */
export function methodAttributes(method: string): Attributes {
  return KNOWN_METHODS.has(method)
    ? { 'http.request.method': method }
    : { 'http.request.method': '_OTHER', 'http.request.method_original': method };
}

/** `server.address` and `server.port` (the scheme's default port when the URL has none). */
export function serverAttributes(url: URL): Attributes {
  const port = url.port ? Number(url.port) : url.protocol === 'https:' ? 443 : 80;
  // A bracketed IPv6 host is reported without its brackets, as semconv's examples show it.
  return { 'server.address': url.hostname.replace(/^\[(.*)\]$/, '$1'), 'server.port': port };
}

/** What the duration histograms of one attempt or call share: method, server and the rule's name. */
export function requestAttributes(key: string, { method, url }: RequestLike): Attributes {
  return { ...methodAttributes(method), ...serverAttributes(url), 'breakwater.endpoint': ruleOf(key) };
}

/**
 * `http.response.status_code` and `error.type` of an outcome: the status as a string for a status of
 * 400 or more (semconv's rule for clients), else the error's kind or name.
 */
export function outcomeAttributes(status: number | undefined, errorType: string | undefined): Attributes {
  const attributes: Attributes = {};
  if (status !== undefined) attributes['http.response.status_code'] = status;
  if (status !== undefined && status >= 400) attributes['error.type'] = String(status);
  else if (errorType !== undefined) attributes['error.type'] = errorType;
  return attributes;
}
