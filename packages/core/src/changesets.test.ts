import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * Every pending changeset opens with the frontmatter Changesets reads (`---`, one `'package': bump`
 * line per package, `---`), naming a published package of this workspace. A formatter once turned
 * the package lines into a Markdown heading, which `@changesets/parse` refuses: the release would
 * have failed on them (session 25).
 */

const DIR = fileURLToPath(new URL('../../../.changeset/', import.meta.url));
const PACKAGES = new Set(['@breakwater/core', '@breakwater/policies', '@breakwater/redis']);
const FRONTMATTER = /^---\n((?:'[^'\n]+': (?:major|minor|patch)\n)+)---\n\n\S/;

const changesets = readdirSync(DIR).filter((name) => name.endsWith('.md') && name !== 'README.md');

describe('pending changesets', () => {
  it('are read from the Changesets folder (none pending after a release is fine)', () => {
    expect(readdirSync(DIR)).toContain('config.json');
  });

  for (const name of changesets) {
    it(`${name} opens with Changesets' frontmatter, naming published packages`, () => {
      const text = readFileSync(`${DIR}${name}`, 'utf8');
      const found = FRONTMATTER.exec(text);
      expect(found, `${name} must open with ---, 'package': bump lines, ---, a blank line`).not.toBeNull();
      const names = (found?.[1] ?? '')
        .trim()
        .split('\n')
        .map((line) => line.slice(1, line.indexOf("'", 1)));
      for (const pkg of names) expect(PACKAGES.has(pkg), `${name} names ${pkg}`).toBe(true);
    });
  }
});
