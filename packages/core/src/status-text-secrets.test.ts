import { inspect } from 'node:util';
import { fetch as undiciFetch } from 'undici';
import { expect, it } from 'vitest';
import { HttpError } from './http-error.ts';
import { listenOnLoopback } from './local-server.test-util.ts';
import { wrapFetch } from './wrap-fetch.ts';

const TOKEN = 'eyJhbGciOiJIUzI1NiJ9.S3CR3T-status-text';

it("takes the request's credential out of a reason phrase that echoes it, in every printed form", async () => {
  const server = await listenOnLoopback((_req, res) => {
    // Some servers put what they refused in the status line itself.
    res.writeHead(401, `Bad token ${TOKEN}`, { 'content-type': 'text/plain' });
    res.end('refused');
  });
  try {
    const wrapped = wrapFetch(undiciFetch, { throwHttpErrors: true });
    const error = await wrapped(`${server.origin}/v1/me`, {
      headers: { authorization: `Bearer ${TOKEN}` },
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HttpError);
    const http = error as HttpError;
    expect(http.statusText).toBe('Bad token REDACTED');
    expect(http.message).toContain('HTTP 401 Bad token REDACTED');
    for (const printed of [
      http.message,
      http.statusText,
      JSON.stringify(http),
      inspect(http, { depth: 9 }),
    ]) {
      expect(printed).not.toContain('S3CR3T');
    }
  } finally {
    await server.close();
  }
});

it('keeps a reason phrase that echoes nothing as the server sent it', async () => {
  const server = await listenOnLoopback((_req, res) => {
    res.writeHead(403, 'Quota of tenant contoso used up');
    res.end();
  });
  try {
    const wrapped = wrapFetch(undiciFetch, { throwHttpErrors: true });
    const error = (await wrapped(`${server.origin}/v1/me`, {
      headers: { authorization: `Bearer ${TOKEN}` },
    }).catch((e: unknown) => e)) as HttpError;
    expect(error.statusText).toBe('Quota of tenant contoso used up');
  } finally {
    await server.close();
  }
});
