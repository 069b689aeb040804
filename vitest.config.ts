import { defineConfig } from 'vitest/config';

// One project per package; every project resolves workspace packages to their TypeScript sources
// through the "@breakwater/source" export condition, so tests never need a prior build.
const shared = { resolve: { conditions: ['@breakwater/source'] } } as const;

export default defineConfig({
  test: {
    projects: [
      { ...shared, test: { name: 'policies', root: './packages/policies', include: ['src/**/*.test.ts'] } },
      { ...shared, test: { name: 'core', root: './packages/core', include: ['src/**/*.test.ts'] } },
      { ...shared, test: { name: 'bench', root: './bench', include: ['src/**/*.test.ts'] } },
    ],
  },
});
