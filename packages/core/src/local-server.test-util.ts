import { createServer, type IncomingMessage, type RequestListener, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A real HTTP server on 127.0.0.1 running one request listener. */
export interface LoopbackServer {
  readonly origin: string;
  /** Drops open connections and stops listening. */
  close(): Promise<void>;
}

export async function listenOnLoopback(listener: RequestListener): Promise<LoopbackServer> {
  const server = createServer(listener);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Answers one request of a {@link RoutedServer}; `hit` counts the requests to its path, from 1. */
export type RouteHandler = (req: IncomingMessage, res: ServerResponse, hit: number) => void;

/** A loopback server whose tests write the answer of each path as code (unrouted paths get 404). */
export interface RoutedServer extends LoopbackServer {
  /** Requests received per path since its route was registered (or the last reset). */
  readonly hits: ReadonlyMap<string, number>;
  /** Registers `handler` for `path` and returns the absolute URL of `path`. */
  route(path: string, handler: RouteHandler): string;
  /** Forgets every route and count. */
  reset(): void;
}

export async function startRoutedServer(): Promise<RoutedServer> {
  const handlers = new Map<string, RouteHandler>();
  const hits = new Map<string, number>();
  const server = await listenOnLoopback((req, res) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    const hit = (hits.get(path) ?? 0) + 1;
    hits.set(path, hit);
    const handler = handlers.get(path);
    if (handler) handler(req, res, hit);
    else res.writeHead(404).end();
  });
  return {
    ...server,
    hits,
    route(path, handler) {
      handlers.set(path, handler);
      hits.delete(path);
      return `${server.origin}${path}`;
    },
    reset() {
      handlers.clear();
      hits.clear();
    },
  };
}

/** Answers one request of a {@link TimedServer}. */
export type TimedRoute = (req: IncomingMessage, res: ServerResponse) => void;

/** A loopback server that keeps every request and the time each path was called at. */
export interface TimedServer extends LoopbackServer {
  /** performance.now() of each request, by path. */
  readonly hits: ReadonlyMap<string, number[]>;
  readonly requests: readonly IncomingMessage[];
  /** Registers (or replaces) the answer of `path`; unrouted paths get a plain-text 404. */
  route(path: string, handler: TimedRoute): void;
}

export async function startTimedServer(routes: Record<string, TimedRoute> = {}): Promise<TimedServer> {
  const handlers = new Map(Object.entries(routes));
  const hits = new Map<string, number[]>();
  const requests: IncomingMessage[] = [];
  const server = await listenOnLoopback((req, res) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    hits.set(path, [...(hits.get(path) ?? []), performance.now()]);
    requests.push(req);
    const handler = handlers.get(path);
    if (handler) handler(req, res);
    else res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
  });
  return {
    ...server,
    hits,
    requests,
    route(path, handler) {
      handlers.set(path, handler);
    },
  };
}

/** One scripted answer of a {@link LocalServer}. `reset: true` destroys the connection instead. */
export interface ScriptedAnswer {
  status?: number;
  headers?: Record<string, string>;
  body?: string;
  reset?: boolean;
}

export interface ReceivedRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
}

/** A real HTTP server on 127.0.0.1 that answers from a script per path (the last entry repeats). */
export interface LocalServer {
  readonly origin: string;
  readonly received: ReceivedRequest[];
  /** Replaces the script of `path`. */
  script(path: string, ...answers: ScriptedAnswer[]): void;
  /** Requests received for `path`. */
  count(path: string): number;
  close(): Promise<void>;
}

export async function startLocalServer(): Promise<LocalServer> {
  const scripts = new Map<string, ScriptedAnswer[]>();
  const received: ReceivedRequest[] = [];
  const server = await listenOnLoopback((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const path = new URL(req.url ?? '/', 'http://localhost').pathname;
      received.push({
        method: req.method ?? '',
        path,
        headers: req.headers,
        body: Buffer.concat(chunks).toString(),
      });
      const script = scripts.get(path) ?? [{ status: 404, body: 'no script' }];
      const n = received.filter((r) => r.path === path).length;
      const answer = script[Math.min(n - 1, script.length - 1)] ?? { status: 500 };
      if (answer.reset) {
        req.socket.destroy();
        return;
      }
      res.writeHead(answer.status ?? 200, answer.headers ?? { 'content-type': 'application/json' });
      res.end(answer.body ?? '{}');
    });
  });
  return {
    origin: server.origin,
    received,
    script(path, ...answers) {
      scripts.set(path, answers);
    },
    count: (path) => received.filter((r) => r.path === path).length,
    close: () => server.close(),
  };
}
