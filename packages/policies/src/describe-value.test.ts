/**
 * How a refused value is shown in a ConfigError: enough to find it, never a secret's part (audit s24,
 * review s24 X).
 */
import { describe, expect, it } from 'vitest';
import { describeValue } from './config-error.ts';

describe('describeValue', () => {
  it.each<[string, string]>([
    // A name or a word is shown whole.
    ['fast', "'fast'"],
    [':1bad', "':1bad'"],
    // A URL with userinfo: nothing past its scheme (a password, a token as the user name: review s24 Y).
    ['https://user:hunter2@api.example.com/', "'https://...'"],
    ['redis://:hunter2pass@cache:6379', "'redis://...'"],
    ['https://ghp_0123456789abcdefABCDEF@github.com/x', "'https://...'"],
    // Else up to where its port, query or a space starts, its scheme kept.
    ['https://h:99999', "'https://h...'"],
    ['https://api example.com/v1', "'https://api...'"],
    ['api.example.io/?key=S3CR3T', "'api.example.io/...'"],
    // A header line up to its name.
    ['Authorization: Bearer eyJhbGciOi', "'Authorization...'"],
    // A long run with no separator is most likely a token: its first 8 characters only.
    ['ghp_0123456789abcdefghijklmnopqrstuvwxyz', "'ghp_0123...'"],
  ])('%j is shown as %s', (value, shown) => {
    expect(describeValue(value)).toBe(shown);
  });
});
