import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Agent, type Dispatcher, getGlobalDispatcher, setGlobalDispatcher } from 'undici';
import { afterAll, beforeAll, describe, expect, it, type MockInstance, vi } from 'vitest';
import { type LoopbackServer, listenOnLoopback } from './local-server.test-util.ts';
import { type PartnerCenterStub, readmeQuickStart, startPartnerCenterStub } from './quick-start.test-util.ts';

/**
 * Runs README.md's quick start as it is written. The snippet calls Partner Center's real host; the
 * test points globalThis.fetch at a local server instead (only the origin is rewritten), so no traffic
 * leaves loopback and the snippet keeps reading like real code.
 */

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

let stub: PartnerCenterStub;

beforeAll(async () => {
  stub = await startPartnerCenterStub();
});

afterAll(() => stub.close());

it("README's quick start runs: wraps fetch, applies the rule, catches HttpError, reads breakers()", async () => {
  const realFetch = globalThis.fetch;
  const toLoopback = (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    if (url.origin !== 'https://api.partnercenter.microsoft.com')
      throw new Error(`unexpected origin ${url.origin}`);
    return realFetch(`${stub.origin}${url.pathname}${url.search}`, init);
  };
  const log = vi.spyOn(console, 'log').mockImplementation(() => {});
  const error = vi.spyOn(console, 'error').mockImplementation(() => {});
  const dir = `${ROOT}packages/core/src/.readme-snippet`;
  mkdirSync(dir, { recursive: true });
  const file = `${dir}/quickstart.ts`;
  writeFileSync(file, readmeQuickStart());
  vi.stubGlobal('fetch', toLoopback);
  try {
    await import(/* @vite-ignore */ file);
  } finally {
    vi.unstubAllGlobals();
    rmSync(dir, { recursive: true, force: true });
  }

  expect(stub.seen).toHaveLength(1);
  expect(stub.seen[0]?.path).toBe('/v1/customers/42');
  expect(stub.seen[0]?.authorization).toBe('Bearer <token>');
  expect(stub.seen[0]?.requestId).toMatch(/^[0-9a-f-]{36}$/);
  expect(error).toHaveBeenCalledWith(
    'failed',
    404,
    '3000',
    'Partner Organization with partner_id 9999999 could not be found',
    '7f3b1a52-2c1d-4c55-9a39-0b6c1f0f8e21',
    1,
  );
  expect(log).toHaveBeenCalledWith(
    'breaker',
    'customers https://api.partnercenter.microsoft.com',
    'closed',
    0,
    null,
  );
  log.mockRestore();
  error.mockRestore();
});

/*
 * Every other code block of README.md. A `ts` block is a program: it is type-checked with the
 * workspace's compiler and run as written, its calls to the README's API origins sent to a loopback
 * server by the global dispatcher (undici's, which Node's fetch, ky and undici's fetch all use), so
 * keys, hosts and printed output are those of the real origins. A call to any other origin fails the
 * block. Blocks with more to prove have their own expectations. `sh` (commands) and `text` (output,
 * headers) blocks are not run; any other or missing language fails, so a block cannot skip the test
 * by accident.
 */

interface Block {
  readonly lang: string;
  readonly code: string;
  readonly line: number;
  readonly heading: string;
  /** 1 for the first block under its heading, 2 for the second... */
  readonly index: number;
}

const RUN = 'ts';
const NOT_RUN = new Set(['sh', 'text']);
const API_ORIGINS = ['https://api.partnercenter.microsoft.com', 'https://api.example.com'];
const SNIPPETS = `${ROOT}packages/core/src/.readme-snippet/blocks`;

function readmeBlocks(): Block[] {
  const lines = readFileSync(`${ROOT}README.md`, 'utf8').split('\n');
  const blocks: Block[] = [];
  let heading = '';
  const perHeading = new Map<string, number>();
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? '';
    if (/^#{1,6} /.test(line)) heading = line.replace(/^#+ /, '');
    const fence = /^```(.*)$/.exec(line);
    if (!fence) continue;
    const start = i;
    const code: string[] = [];
    for (i++; i < lines.length && lines[i] !== '```'; i++) code.push(lines[i] ?? '');
    const index = (perHeading.get(heading) ?? 0) + 1;
    perHeading.set(heading, index);
    blocks.push({
      lang: fence[1]?.trim() ?? '',
      code: `${code.join('\n')}\n`,
      line: start + 1,
      heading,
      index,
    });
  }
  return blocks;
}

const BLOCKS = readmeBlocks();
const TS_BLOCKS = BLOCKS.filter((block) => block.lang === RUN);

function fileOf(block: Block): string {
  return `${SNIPPETS}/line-${String(block.line).padStart(4, '0')}.ts`;
}

/** A dispatcher that sends the README's API origins to `loopback` and refuses every other origin. */
function toLoopback(loopback: string): Dispatcher {
  return new Agent().compose((dispatch) => (options, handler) => {
    const origin = String(options.origin);
    if (!API_ORIGINS.includes(origin)) throw new Error(`a README block called ${origin}`);
    return dispatch({ ...options, origin: loopback }, handler);
  });
}

interface Seen {
  readonly method: string;
  readonly path: string;
  readonly headers: IncomingMessage['headers'];
}

/** What the README's calls get: a small Partner-Center-like API. */
function answer(method: string, path: string): { status: number; body?: unknown } {
  if (path === '/v1/status') return { status: 500, body: { code: 500, description: 'down' } };
  if (path === '/v1/customers/missing')
    return { status: 404, body: { code: 3000, description: 'no such customer' } };
  if (method === 'POST' && path === '/v1/payments') return { status: 201, body: { id: 'p-1' } };
  if (method === 'POST' && /^\/v1\/customers\/[^/]+\/orders$/.test(path))
    return { status: 201, body: { id: 'o-1' } };
  if (method === 'GET' && /^\/v1\/customers\/[^/]+$/.test(path))
    return { status: 200, body: { id: path.split('/')[3], companyProfile: { companyName: 'Contoso' } } };
  if (method === 'GET' && path === '/v1/customers')
    return { status: 200, body: { totalCount: 0, items: [] } };
  if (method === 'GET' && path.startsWith('/v1/reports/')) return { status: 200, body: { rows: [] } };
  return { status: 404, body: { code: 3000, description: 'not found' } };
}

interface Run {
  readonly seen: readonly Seen[];
  readonly exports: Record<string, unknown>;
  readonly log: MockInstance<(...args: unknown[]) => void>;
  readonly warn: MockInstance<(...args: unknown[]) => void>;
}

/** Further expectations of some blocks, by heading and position under it. */
const EXPECT: Record<string, (run: Run) => void | Promise<void>> = {
  'Quick start 1': ({ seen }) => expect(seen.map((r) => r.path)).toEqual(['/v1/customers/42']),
  'Per-endpoint rules 1': ({ log }) =>
    expect(log).toHaveBeenCalledWith(200, ['reports https://api.partnercenter.microsoft.com']),
  'Reading breaker state 1': ({ seen, warn, log }) => {
    // Five 500s open the breaker; the sixth call is refused without a request.
    expect(seen.filter((r) => r.path === '/v1/status')).toHaveLength(5);
    expect(warn).toHaveBeenCalledWith(
      expect.stringMatching(/^default https:\/\/api\.example\.com is down until /),
    );
    expect(log).toHaveBeenCalledWith(expect.stringMatching(/^refused, retry in \d+ ms$/));
  },
  'Throttle gate and retry budget 1': ({ log }) =>
    expect(log).toHaveBeenCalledWith('orders https://api.partnercenter.microsoft.com x-tenant-id=contoso'),
  'ky 1': ({ seen, log }) => {
    expect(seen[0]?.headers.authorization).toBe('Bearer <token>');
    expect(log).toHaveBeenCalledWith('Contoso');
  },
  'p-retry (calls that are not fetch) 1': ({ seen }) =>
    expect(seen.map((r) => `${r.method} ${r.path}`)).toEqual(['GET /v1/customers/42', 'GET /v1/customers']),
  'cockatiel 1': ({ seen }) => expect(seen.map((r) => r.path)).toEqual(['/v1/customers', '/v1/customers']),
  'What does the Partner Center preset do to my headers and POSTs? 1': ({ seen, log }) => {
    expect(seen).toEqual([]);
    const uuid = expect.stringMatching(
      /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    );
    expect(log.mock.calls).toEqual([
      ['https://api.partnercenter.microsoft.com/v1/customers/42/orders', uuid, uuid],
      ['https://api.example.com/v1/orders', null, null],
    ]);
  },
  'How do I mock it in tests? 1': ({ seen }) => expect(seen).toEqual([]),
  'Using it with ky, undici, Next.js route handlers and edge runtimes 1': ({ seen, log }) => {
    expect(seen.map((r) => r.path)).toEqual(['/v1/customers/42']);
    expect(log).toHaveBeenCalledWith(200, expect.objectContaining({ id: '42' }));
  },
  'Using it with ky, undici, Next.js route handlers and edge runtimes 2': async ({ exports, seen }) => {
    const GET = exports.GET as (
      request: Request,
      context: { params: Promise<{ id: string }> },
    ) => Promise<Response>;
    const route = (id: string) =>
      GET(new Request(`http://localhost/api/customers/${id}`), { params: Promise.resolve({ id }) });
    const found = await route('42');
    expect(found.status).toBe(200);
    expect(await found.json()).toMatchObject({ id: '42' });
    const missing = await route('missing');
    expect(missing.status).toBe(502);
    // The MS-RequestId the preset generated, to look the failed call up in Partner Center's logs.
    expect(await missing.json()).toEqual({ code: '3000', requestId: seen[1]?.headers['ms-requestid'] });
    expect(seen[1]?.headers['ms-requestid']).toMatch(/^[0-9a-f-]{36}$/);
  },
  'One breaker per origin? How do I split it? 1': ({ log }) =>
    expect(log.mock.calls).toEqual([
      ['reports https://api.partnercenter.microsoft.com'],
      ['customers https://api.partnercenter.microsoft.com'],
      ['default https://api.partnercenter.microsoft.com'],
    ]),
  'Why is my POST not retried? 1': ({ seen, log }) => {
    expect(seen.map((r) => [r.method, r.path, r.headers['idempotency-key']])).toEqual([
      ['POST', '/v1/payments', 'payment-2026-0042'],
    ]);
    expect(log).toHaveBeenCalledWith(201);
  },
};

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces as hyphens. */
function anchorOf(heading: string): string {
  return heading
    .toLowerCase()
    .replaceAll(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '')
    .replaceAll(' ', '-');
}

it("the README's contents list every section, and its links and the README's own anchors resolve", () => {
  const readme = readFileSync(`${ROOT}README.md`, 'utf8');
  const headings = [...readme.matchAll(/^(#{2,3}) (.+)$/gm)];
  const anchors = new Set(headings.map((h) => anchorOf(h[2] ?? '')));
  for (const [, target] of readme.matchAll(/\]\(#([^)]+)\)/g))
    expect(anchors, `#${target}`).toContain(target);
  const contents = /^## Contents\n([\s\S]*?)\n## /m.exec(readme)?.[1] ?? '';
  // Subsections too: the FAQ's questions are what a newcomer scans for.
  for (const [, level, text = ''] of headings) {
    if (text === 'Contents') continue;
    expect(contents, `${level} ${text} is missing from the contents`).toContain(`(#${anchorOf(text)})`);
  }
});

describe("README's code blocks", () => {
  let server: LoopbackServer;
  let loopback: string;
  let seen: Seen[] = [];

  beforeAll(async () => {
    server = await listenOnLoopback((req, res) => {
      const path = new URL(req.url ?? '/', 'http://localhost').pathname;
      seen.push({ method: req.method ?? '', path, headers: req.headers });
      req.resume();
      const { status, body } = answer(req.method ?? '', path);
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    });
    loopback = server.origin;
    rmSync(SNIPPETS, { recursive: true, force: true });
    mkdirSync(SNIPPETS, { recursive: true });
    for (const block of TS_BLOCKS) writeFileSync(fileOf(block), block.code);
  });

  afterAll(async () => {
    rmSync(`${ROOT}packages/core/src/.readme-snippet`, { recursive: true, force: true });
    await server.close();
  });

  it('every block is marked: ts (run) or sh / text (not run)', () => {
    expect(TS_BLOCKS.length).toBeGreaterThan(5);
    for (const block of BLOCKS) {
      expect(
        block.lang === RUN || NOT_RUN.has(block.lang),
        `README.md:${block.line} (${block.heading}): a \`\`\`${block.lang} block; mark it ts (run by this test), sh or text`,
      ).toBe(true);
    }
  });

  it('every ts block type-checks as written', { timeout: 60_000 }, async () => {
    writeFileSync(
      `${SNIPPETS}/tsconfig.json`,
      JSON.stringify({
        extends: '../../../tsconfig.json',
        // The blocks import the packages' sources, so the workspace is their root.
        compilerOptions: { rootDir: '../../../../..', noEmit: true },
        include: ['*.ts'],
      }),
    );
    const tsc = `${ROOT}node_modules/.bin/tsc`;
    const result = await promisify(execFile)(tsc, [
      '-p',
      `${SNIPPETS}/tsconfig.json`,
      '--pretty',
      'false',
    ]).then(
      () => '',
      (error: { stdout?: string }) => error.stdout ?? String(error),
    );
    // Name README lines rather than the temporary files.
    const located = result.replaceAll(
      /\S*line-0*(\d+)\.ts\((\d+),(\d+)\)/g,
      (_, at: string, row: string, col: string) => {
        return `README.md:${Number(at) + Number(row)}:${col}`;
      },
    );
    expect(located).toBe('');
  });

  it('names only README blocks that exist in its extra assertions (a renamed heading would skip them)', () => {
    const names = new Set(TS_BLOCKS.map((block) => `${block.heading} ${block.index}`));
    expect(Object.keys(EXPECT).filter((name) => !names.has(name))).toEqual([]);
  });

  for (const block of TS_BLOCKS) {
    const name = `${block.heading} ${block.index}`;
    it(`runs: ${name} (README.md:${block.line})`, { timeout: 20_000 }, async () => {
      const previous = getGlobalDispatcher();
      setGlobalDispatcher(toLoopback(loopback));
      const log = vi.spyOn(console, 'log').mockImplementation(() => {});
      const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
      const error = vi.spyOn(console, 'error').mockImplementation(() => {});
      seen = [];
      try {
        const exports = (await import(/* @vite-ignore */ fileOf(block))) as Record<string, unknown>;
        await EXPECT[name]?.({ seen, exports, log, warn });
      } finally {
        setGlobalDispatcher(previous);
        log.mockRestore();
        warn.mockRestore();
        error.mockRestore();
      }
    });
  }
});
