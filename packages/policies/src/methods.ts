/**
 * Which method names a configuration may use. Methods are case-sensitive on the wire, but breakwater
 * compares them case-insensitively (fetch upper-cases the common ones), so a typo such as `GTE` or a
 * lower-case custom method would silently never match. The rule:
 *
 * - a registered method (the IANA HTTP Method Registry, fetch's own among them) is accepted in any case;
 * - any other token is accepted when written in upper case (`PURGE`, `MY-METHOD`), the convention for
 *   custom methods, unless it is one edit away from a registered method (`GTE`, `POTS`, `DELET`),
 *   which is a typo far more often than a method;
 * - everything else is refused, with the registered method it most likely meant.
 */
import { describeValue } from './config-error.ts';
import { closest } from './did-you-mean.ts';
import { isToken } from './token.ts';

/** The IANA HTTP Method Registry (RFC 9110 and the WebDAV family, PATCH, QUERY, ...). */
const REGISTERED_METHODS = [
  'GET',
  'HEAD',
  'POST',
  'PUT',
  'DELETE',
  'CONNECT',
  'OPTIONS',
  'TRACE',
  'PATCH',
  'QUERY',
  'ACL',
  'BASELINE-CONTROL',
  'BIND',
  'CHECKIN',
  'CHECKOUT',
  'COPY',
  'LABEL',
  'LINK',
  'LOCK',
  'MERGE',
  'MKACTIVITY',
  'MKCALENDAR',
  'MKCOL',
  'MKREDIRECTREF',
  'MKWORKSPACE',
  'MOVE',
  'ORDERPATCH',
  'PRI',
  'PROPFIND',
  'PROPPATCH',
  'REBIND',
  'REPORT',
  'SEARCH',
  'UNBIND',
  'UNCHECKOUT',
  'UNLINK',
  'UNLOCK',
  'UPDATE',
  'UPDATEREDIRECTREF',
  'VERSION-CONTROL',
];
const REGISTERED = new Set(REGISTERED_METHODS);

/**
 * Why a method name (already known to be an RFC 9110 token) cannot be used, or `undefined` when it can.
 */
export function methodProblem(method: string): string | undefined {
  const upper = method.toUpperCase();
  if (REGISTERED.has(upper)) return undefined;
  const near = closest(upper, REGISTERED_METHODS, 1);
  if (near !== undefined) return `unknown method ${describeValue(method)} (did you mean '${near}'?)`;
  if (method !== upper) {
    return `unknown method ${describeValue(method)}: write a custom method in upper case ('${upper}'), as servers compare methods case-sensitively`;
  }
  return undefined;
}

/**
 * Why `method` cannot be a call's method, or undefined: not an RFC 9110 token (`'GET '`, `'get\\n'`),
 * a misspelt registered method (`'GTE'`), or a custom one not in upper case. For the adapters'
 * `method` options, which decide whether a call may be retried: a misspelt GET was taken as an
 * unknown method, and its network errors were not retried (audit s24).
 */
export function callMethodProblem(method: string): string | undefined {
  if (!isToken(method))
    return `${describeValue(method)} is not an HTTP method (an RFC 9110 token, such as 'GET')`;
  return methodProblem(method);
}
