// TypeDoc 0.28 drives the TypeScript compiler through its JavaScript API, which TypeScript 7 (the
// native port the workspace builds with) no longer ships. The workspace therefore also installs
// TypeScript 5.9 under the alias `typescript5`, and this module hook hands it to TypeDoc alone:
// `node --import ./docs/typedoc-typescript5.mjs node_modules/typedoc/bin/typedoc`.
import { createRequire, registerHooks } from 'node:module';
import { pathToFileURL } from 'node:url';

const require = createRequire(import.meta.url);
const typescript5 = pathToFileURL(require.resolve('typescript5')).href;

registerHooks({
  resolve(specifier, context, nextResolve) {
    if (specifier === 'typescript' && context.parentURL?.includes('/typedoc')) {
      return { url: typescript5, format: 'commonjs', shortCircuit: true };
    }
    return nextResolve(specifier, context);
  },
});
