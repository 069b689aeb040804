/**
 * One RFC 9110 `tchar`: what method names, header names and auth schemes are made of. The one
 * definition of the token grammar in breakwater; core's request checks and `WWW-Authenticate` parser
 * read it from here.
 */
export const TOKEN_CHAR = /[!#$%&'*+\-.^_`|~0-9A-Za-z]/;

const TOKEN = new RegExp(`^${TOKEN_CHAR.source}+$`);

/** True for an RFC 9110 token (a valid method or header name). */
export function isToken(value: string): boolean {
  return TOKEN.test(value);
}
