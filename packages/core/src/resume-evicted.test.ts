import type { ServerResponse } from 'node:http';
import { fetch as undiciFetch } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BreakwaterEvent } from './events.ts';
import { type RoutedServer, startRoutedServer } from './local-server.test-util.ts';
import { wrapFetch } from './wrap-fetch.ts';

/**
 * A resume is a call to its endpoint key: when `maxEndpoints` dropped the key while the caller read the
 * body (the first call had ended), the resume still meets what an operator did to the key since.
 */

const realFetch = undiciFetch;
const BODY = Buffer.from(Array.from({ length: 60_000 }, (_, i) => i % 251));
const CUT = 20_000;
const ETAG = '"v1"';

let server: RoutedServer;
beforeAll(async () => {
  server = await startRoutedServer();
});
afterAll(() => server.close());

describe('resumeDownloads after the key was dropped by maxEndpoints', () => {
  it('isolate(key) still refuses the Range request: nothing is sent, the body fails with its cut', async () => {
    let first: ServerResponse | undefined;
    const url = server.route('/files/big', (req, res, hit) => {
      if (hit === 1) {
        res.writeHead(200, { 'content-length': BODY.length, etag: ETAG, 'accept-ranges': 'bytes' });
        res.write(BODY.subarray(0, CUT));
        first = res;
        return;
      }
      const start = Number(/^bytes=(\d+)-$/.exec(req.headers.range ?? '')?.[1]);
      res.writeHead(206, { etag: ETAG, 'content-range': `bytes ${start}-${BODY.length - 1}/${BODY.length}` });
      res.end(BODY.subarray(start));
    });
    const other = server.route('/other', (_req, res) => res.end('other'));
    const events: BreakwaterEvent[] = [];
    const fetch = wrapFetch(realFetch, {
      maxEndpoints: 1,
      endpoints: [
        { name: 'files', match: '/files/*' },
        { name: 'other', match: '/other' },
      ],
      policy: { resumeDownloads: true },
      onEvent: (event) => events.push(event),
    });
    const files = `files ${server.origin}`;
    const response = await fetch(url);
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    let read = ((await reader.read()).value as Uint8Array).byteLength;
    // Another key is added: the files key, with no call in progress, is dropped.
    await (await fetch(other)).text();
    expect(fetch.breakers().map((b) => b.key)).toEqual([`other ${server.origin}`]);
    fetch.isolate(files);
    expect(fetch.breakers().find((b) => b.key === files)?.state).toBe('isolated');
    first?.socket?.destroy();
    const error = await (async () => {
      for (;;) {
        const chunk = await reader.read();
        if (chunk.done) return 'the body was read in full';
        read += chunk.value.byteLength;
      }
    })().catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'TypeError', message: 'terminated' });
    expect(read).toBeLessThanOrEqual(CUT);
    expect(server.hits.get('/files/big')).toBe(1);
    expect(events.filter((e) => e.type === 'reject')).toEqual([
      expect.objectContaining({ key: files, cause: 'isolated', resume: 1 }),
    ]);
  });
});
