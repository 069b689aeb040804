import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type LoopbackServer, listenOnLoopback } from './local-server.test-util.ts';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** README.md's quick start as written: the ```ts block between the quickstart markers. */
export function readmeQuickStart(): string {
  const readme = readFileSync(`${ROOT}README.md`, 'utf8');
  const block = /<!-- quickstart:start -->\s*```ts\n([\s\S]*?)```\s*<!-- quickstart:end -->/.exec(readme);
  if (!block?.[1]) throw new Error('README.md has no quick start block between the quickstart markers');
  return block[1];
}

/** The 404 the quick start's call gets: fixtures/partner-center/404-partner-not-found.json. */
export const QUICK_START_FIXTURE = JSON.parse(
  readFileSync(`${ROOT}fixtures/partner-center/404-partner-not-found.json`, 'utf8'),
) as {
  status: number;
  headers: Record<string, string>;
  body: unknown;
};

/** One call a {@link PartnerCenterStub} received. */
export interface QuickStartCall {
  path: string;
  authorization: string | undefined;
  requestId: string | undefined;
}

/** A loopback stand-in for Partner Center's host that answers every call with QUICK_START_FIXTURE. */
export interface PartnerCenterStub extends LoopbackServer {
  readonly seen: QuickStartCall[];
}

export async function startPartnerCenterStub(): Promise<PartnerCenterStub> {
  const seen: QuickStartCall[] = [];
  const server = await listenOnLoopback((req, res) => {
    seen.push({
      path: req.url ?? '',
      authorization: req.headers.authorization,
      requestId: req.headers['ms-requestid'] as string | undefined,
    });
    res
      .writeHead(QUICK_START_FIXTURE.status, QUICK_START_FIXTURE.headers)
      .end(JSON.stringify(QUICK_START_FIXTURE.body));
  });
  return { ...server, seen };
}
