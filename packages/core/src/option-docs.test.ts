import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import ts from 'typescript5';
import { describe, expect, it } from 'vitest';

/**
 * The options users pass to core's entry points are documented where they are declared, since the API
 * reference is generated from there: each must say what it does and its default (`Default ...` or
 * `@default`), or that it is required. Found by name in any module, so moving one keeps it checked.
 */

const OPTION_TYPES = [
  'WrapFetchOptions',
  'BreakwaterKyOptions',
  'PRetryPolicyOptions',
  'RetryThroughBreakerOptions',
  'EndpointBreakersOptions',
  'BreakwaterPolicyOptions',
  'WrapFetchWithPoliciesOptions',
];

const SRC = fileURLToPath(new URL('./', import.meta.url));
const declarations = new Map<string, ts.InterfaceDeclaration>();
for (const name of readdirSync(SRC)) {
  if (!name.endsWith('.ts') || name.includes('.test')) continue;
  const file = ts.createSourceFile(name, readFileSync(`${SRC}${name}`, 'utf8'), ts.ScriptTarget.Latest, true);
  for (const node of file.statements)
    if (ts.isInterfaceDeclaration(node)) declarations.set(node.name.text, node);
}

describe("core's option types carry a description and a default", () => {
  for (const name of OPTION_TYPES) {
    it(name, () => {
      const declaration = declarations.get(name);
      expect(declaration, `no interface ${name} in packages/core/src`).toBeDefined();
      const members = declaration?.members.filter(ts.isPropertySignature) ?? [];
      expect(members.length).toBeGreaterThan(0);
      for (const member of members) {
        const doc = ts
          .getJSDocCommentsAndTags(member)
          .map((node) => node.getText())
          .join('\n');
        const field = `${name}.${member.name.getText()}`;
        expect(doc, `${field} has no doc comment`).not.toBe('');
        expect(doc, `${field} states neither its default nor that it is required`).toMatch(
          /\bdefault\b|\brequired\b/i,
        );
      }
    });
  }
});
