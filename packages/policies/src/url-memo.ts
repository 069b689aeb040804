/**
 * Whether a URL's text may be remembered past its call (the one-entry memos of the last URL parsed,
 * resolved or redacted): not when it has a query, a fragment or userinfo, which may hold a token, nor
 * a `data:` payload: a module-wide memo would keep it reachable, in a heap dump, for the process's life.
 * `includes`, not a RegExp: a RegExp keeps its last input reachable too (`RegExp.input`).
 */
export function memoizableUrl(text: string): boolean {
  return !text.includes('?') && !text.includes('#') && !text.includes('@') && !text.startsWith('data:');
}
