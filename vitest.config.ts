import { defineConfig } from 'vitest/config';

// One project per package. Every project resolves workspace packages to their TypeScript sources
// through the "@breakwater/source" export condition, so tests never need a prior build. Vitest runs
// test files in Vite's SSR environment, which takes its conditions from `ssr.resolve`.
const conditions = ['@breakwater/source', 'node', 'import', 'module', 'default'];
const shared = { resolve: { conditions }, ssr: { resolve: { conditions, externalConditions: conditions } } };

export default defineConfig({
  test: {
    projects: [
      { ...shared, test: { name: 'policies', root: './packages/policies', include: ['src/**/*.test.ts'] } },
      { ...shared, test: { name: 'core', root: './packages/core', include: ['src/**/*.test.ts'] } },
      { ...shared, test: { name: 'redis', root: './packages/redis', include: ['src/**/*.test.ts'] } },
      { ...shared, test: { name: 'bench', root: './bench', include: ['src/**/*.test.ts'] } },
      { ...shared, test: { name: 'examples', root: './examples', include: ['*.test.ts'] } },
    ],
  },
});
