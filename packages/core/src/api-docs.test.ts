import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import ts from 'typescript5';
import { expect, it } from 'vitest';

/**
 * `pnpm run docs` must work on a fresh clone, before any build: TypeDoc compiles each package with the
 * tsconfig and compiler options of typedoc.json, and a sibling package resolved through its `dist/`
 * types does not exist yet (TS2307). This reads typedoc.json as TypeDoc does and asks TypeScript 5 (the
 * compiler TypeDoc runs on) where core's import of `@breakwater/policies` leads.
 */

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

interface TypedocConfig {
  readonly packageOptions: { readonly tsconfig: string; readonly compilerOptions?: Record<string, unknown> };
}

function docsCompilerOptions(pkg: string): ts.CompilerOptions {
  const config = JSON.parse(readFileSync(`${ROOT}typedoc.json`, 'utf8')) as TypedocConfig;
  const tsconfig = `${ROOT}packages/${pkg}/${config.packageOptions.tsconfig}`;
  const parsed = ts.getParsedCommandLineOfConfigFile(tsconfig, undefined, {
    ...ts.sys,
    onUnRecoverableConfigFileDiagnostic: (diagnostic) => {
      throw new Error(ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n'));
    },
  });
  if (parsed === undefined) throw new Error(`cannot read ${tsconfig}`);
  const overrides = ts.convertCompilerOptionsFromJson(config.packageOptions.compilerOptions ?? {}, ROOT);
  expect(overrides.errors).toEqual([]);
  return { ...parsed.options, ...overrides.options };
}

it('TypeDoc resolves @breakwater/policies to its sources, so the API docs build without a prior build', () => {
  const importer = `${ROOT}packages/core/src/wrap-fetch.ts`;
  const { resolvedModule } = ts.resolveModuleName(
    '@breakwater/policies',
    importer,
    docsCompilerOptions('core'),
    ts.sys,
  );
  expect(resolvedModule?.resolvedFileName).toBe(`${ROOT}packages/policies/src/index.ts`);
});
