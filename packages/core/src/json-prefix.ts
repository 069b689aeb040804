/**
 * What can still be read from a JSON error body cut short: at the read's bound (64 KiB by default), on
 * abort, or by a connection that dropped. `JSON.parse` refuses the whole body then, and the fields the
 * server sent first (`code`, `isRetryable`, an OData `error.code`) were lost with the list of details
 * that pushed the body past the bound.
 *
 * Written by hand: the partial-JSON parsers on npm complete what was cut (half a string, half a number,
 * half an array), which would hand the caller a value the server never sent; here only members followed
 * by their comma, so sent whole, are kept.
 */

/** Cuts tried, from the last: a body broken further back is not worth a parse per comma. */
const TRIES = 8;

/**
 * The members of the JSON object `text` starts with that arrived whole, with the objects still open
 * closed: `{"code":"X","details":[{"a":1},{"b` gives `{ code: 'X' }`, and
 * `{"error":{"code":"X","message":"m","details":[` gives `{ error: { code: 'X', message: 'm' } }`. An
 * object is cut after a member followed by its comma; an array is kept only whole. The whole object
 * when `text` holds one (trailing garbage left out); undefined when it does not start with an object or
 * no member arrived whole.
 */
export function wholeMembers(text: string): Record<string, unknown> | undefined {
  if (!text.startsWith('{')) return undefined;
  // Containers open (true: an object), and the places a member ended: a comma with only objects open.
  const open: boolean[] = [];
  let arrays = 0;
  const cuts: { readonly at: number; readonly objects: number }[] = [];
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      i = stringEnd(text, i);
      if (i === -1) break;
    } else if (c === '{' || c === '[') {
      open.push(c === '{');
      if (c === '[') arrays += 1;
    } else if (c === '}' || c === ']') {
      if (open.pop() === false) arrays -= 1;
      if (open.length === 0) {
        const whole = members(text.slice(0, i + 1));
        if (whole) return whole;
        break;
      }
    } else if (c === ',' && arrays === 0) {
      cuts.push({ at: i, objects: open.length });
    }
  }
  for (const { at, objects } of cuts.slice(-TRIES).reverse()) {
    const parsed = members(text.slice(0, at) + '}'.repeat(objects));
    if (parsed) return parsed;
  }
  return undefined;
}

/** `text` parsed, when it is a JSON object with at least one member. */
function members(text: string): Record<string, unknown> | undefined {
  try {
    const parsed: unknown = JSON.parse(text);
    return typeof parsed === 'object' &&
      parsed !== null &&
      !Array.isArray(parsed) &&
      Object.keys(parsed).length > 0
      ? (parsed as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

/** Index of the closing quote of the string that starts at `start`, or -1 when the string is cut. */
function stringEnd(text: string, start: number): number {
  for (let i = start + 1; i < text.length; i++) {
    const c = text[i];
    if (c === '\\') i += 1;
    else if (c === '"') return i;
  }
  return -1;
}
