import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import ts from 'typescript5';
import { describe, expect, it } from 'vitest';
import { DEFAULT_POLICY } from './defaults.ts';

/**
 * The API reference is generated from these doc comments, so what users read about an option is what
 * is written here: every field of the types users write must say what it does and, unless it is
 * required, its default, and a default written as a value must be the one `DEFAULT_POLICY` applies.
 */

const SOURCE = fileURLToPath(new URL('./types.ts', import.meta.url));
const file = ts.createSourceFile(SOURCE, readFileSync(SOURCE, 'utf8'), ts.ScriptTarget.Latest, true);

/** The interfaces users write, and where each one's fields sit in `DEFAULT_POLICY`. */
const USER_WRITTEN: Record<string, readonly string[] | null> = {
  PolicyInput: [],
  Policy: [],
  RetryPolicy: ['retry'],
  BackoffPolicy: ['retry', 'backoff'],
  BreakerPolicy: ['breaker'],
  TimeoutPolicy: ['timeout'],
  ThrottlePolicy: ['throttle'],
  RetryBudgetPolicy: ['retryBudget'],
  HedgingPolicy: ['hedging'],
  BulkheadPolicy: null,
  EndpointRule: null,
  EndpointsConfig: null,
};

interface FieldDoc {
  readonly name: string;
  readonly description: string;
  readonly defaultTag: string | undefined;
}

function fieldsOf(name: string): FieldDoc[] {
  const declaration = file.statements.find(
    (node): node is ts.InterfaceDeclaration => ts.isInterfaceDeclaration(node) && node.name.text === name,
  );
  if (declaration === undefined) throw new Error(`types.ts has no interface ${name}`);
  return declaration.members.filter(ts.isPropertySignature).map((member) => {
    const docs = ts.getJSDocCommentsAndTags(member).filter(ts.isJSDoc);
    const description = docs.map((doc) => ts.getTextOfJSDocComment(doc.comment) ?? '').join(' ');
    const tag = docs.flatMap((doc) => doc.tags ?? []).find((t) => t.tagName.text === 'default');
    return {
      name: member.name.getText(file),
      description: description.trim(),
      defaultTag: tag === undefined ? undefined : (ts.getTextOfJSDocComment(tag.comment) ?? '').trim(),
    };
  });
}

/** A literal `@default` as a value: `30_000`, `'decorrelated-jitter'`, `[408, 429]`, `null`. */
function literal(text: string): unknown {
  return JSON.parse(text.replaceAll(/(\d)_(\d)/g, '$1$2').replaceAll("'", '"'));
}

function isObject(value: unknown): boolean {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function at(path: readonly string[]): unknown {
  return path.reduce<unknown>((value, key) => (value as Record<string, unknown>)[key], DEFAULT_POLICY);
}

describe('every option users write carries its description and default', () => {
  for (const [name, path] of Object.entries(USER_WRITTEN)) {
    it(`${name}: each field has a description, and a @default unless it is required`, () => {
      const fields = fieldsOf(name);
      expect(fields.length).toBeGreaterThan(0);
      for (const field of fields) {
        expect(field.description, `${name}.${field.name} has no description`).not.toBe('');
        if (field.defaultTag === undefined) {
          // A nested policy object (RetryPolicy.backoff) documents its defaults field by field.
          const nested = path !== null && isObject(at([...path, field.name]));
          const required = /\bRequired\b/.test(field.description);
          expect(nested || required, `${name}.${field.name}: no @default, and not said to be required`).toBe(
            true,
          );
        } else if (path !== null && !field.defaultTag.startsWith('DEFAULT_POLICY')) {
          expect(literal(field.defaultTag), `${name}.${field.name}'s @default`).toEqual(
            at([...path, field.name]),
          );
        }
      }
    });
  }

  it("PolicyInput's object fields point at the defaults they merge over", () => {
    for (const field of fieldsOf('PolicyInput')) {
      if (isObject(at([field.name]))) {
        expect(field.defaultTag).toBe(`DEFAULT_POLICY.${field.name}`);
      }
    }
  });
});
