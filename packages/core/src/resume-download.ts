/**
 * Resumable downloads (`resumeDownloads`): a GET whose body fails mid-stream is asked again for the
 * bytes the caller has not read yet (`Range: bytes=N-`, `If-Match: <etag>`), and the caller's body
 * stream goes on with the 206's body. The rules are undici's RetryHandler's, stated here from the HTTP
 * specification (RFC 9110 sections 8.8.3, 13.1.1, 14): only a strong ETag proves that the bytes after N
 * belong to the same representation, and the 206 must say it starts at N, of the same total length,
 * under the same ETag. An encoded body is never resumed: fetch hands the caller decoded bytes, whose
 * offsets are not the wire's that a Range counts.
 */
import { recognizeError } from '@breakwater/policies';
import { discardBody } from './body-reads.ts';

/** What a resumable body needs from the pipeline. */
export interface ResumeDeps {
  /**
   * Sends the call again with the given `Range` and `If-Match` headers, as a new call through the
   * endpoint's pipeline (gate, breaker, attempt timeout, within the first call's deadline). Resolves
   * with the response, whatever its status; rejects when the pipeline refused or the attempt failed,
   * or `stop` aborted (the caller cancelled the body: the resume's waits end and its request is aborted).
   * `resume`: the resume's number, from 1, for the attempt events it reports.
   */
  readonly refetch: (range: string, ifMatch: string, stop: AbortSignal, resume: number) => Promise<Response>;
  /** Resumes allowed for the body. */
  readonly maxResumes: number;
  readonly callerSignal: AbortSignal | undefined;
  /** Told of each resume, before it is sent: the offset asked for and the resume's number, from 1. */
  readonly onResume?: (offset: number, resume: number) => void;
}

/** The strong ETag of a response that allows resuming its body, or undefined when it does not. */
function resumeValidator(response: Response): string | undefined {
  // A body that is no web stream (node-fetch's Node Readable) is handed back as it is, not resumed.
  if (response.status !== 200 || typeof response.body?.getReader !== 'function') return undefined;
  const { headers } = response;
  const etag = headers.get('etag')?.trim();
  // A weak validator (W/"...") says "equivalent", not "byte for byte the same": no byte range from it.
  if (!etag?.startsWith('"')) return undefined;
  const ranges = headers.get('accept-ranges') ?? '';
  if (!ranges.split(',').some((unit) => unit.trim().toLowerCase() === 'bytes')) return undefined;
  const encoding = headers.get('content-encoding')?.trim().toLowerCase();
  if (encoding && encoding !== 'identity') return undefined;
  return etag;
}

/**
 * The response with a body that resumes after a network failure mid-stream, or the response itself
 * when it does not allow resuming (see {@link resumeValidator}). The new Response keeps the status,
 * headers (the first one's own object: fetch's are immutable), `url`, `redirected` and `type` of the
 * first one, and so do its clones.
 */
export function resumable(response: Response, deps: ResumeDeps): Response {
  const etag = resumeValidator(response);
  if (etag === undefined || deps.maxResumes < 1) return response;
  const stream = resumingStream(response, etag, deps);
  const { status, statusText, headers } = response;
  return sameOrigin(responseLike(response, stream, { status, statusText, headers }), response);
}

/**
 * A Response of `original`'s own class (npm undici's is not the global one, and the wrapped fetch is
 * typed to hand back the class its fetch does), else the global one.
 */
function responseLike(original: Response, body: ReadableStream<Uint8Array>, init: ResponseInit): Response {
  const Own = original.constructor as typeof Response | undefined;
  if (Own !== Response && typeof Own === 'function' && typeof Own.prototype?.arrayBuffer === 'function') {
    try {
      return new Own(body, init);
    } catch {
      // A class that does not take a stream: the global one does.
    }
  }
  return new Response(body, init);
}

/**
 * Gives `copy` the fields a constructed Response cannot take (it would say `url: ''`, `type: 'default'`),
 * and the original's headers: a constructed Response's can be changed, fetch's cannot.
 */
function sameOrigin(copy: Response, original: Response): Response {
  const clone = copy.clone.bind(copy);
  return Object.defineProperties(copy, {
    headers: { value: original.headers },
    url: { value: original.url },
    redirected: { value: original.redirected },
    type: { value: original.type },
    clone: { value: () => sameOrigin(clone(), original) },
  });
}

function resumingStream(response: Response, etag: string, deps: ResumeDeps): ReadableStream<Uint8Array> {
  let reader = (response.body as ReadableStream<Uint8Array>).getReader();
  const length = response.headers.get('content-length');
  let total = length !== null && /^\d+$/.test(length) ? Number(length) : undefined;
  let offset = 0;
  let resumes = 0;
  // Aborted when the caller cancels the body: ends a resume on its way (its waits, its request).
  const stop = new AbortController();

  /**
   * Reads on from the next body, or throws the original error when the body cannot be resumed. The
   * reader is swapped in the turn the cancel was last looked at: a cancel after it cancels the new body.
   */
  const resumeAfter = async (error: unknown): Promise<void> => {
    if (deps.callerSignal?.aborted || stop.signal.aborted || recognizeError(error).kind !== 'network') {
      throw error;
    }
    if (resumes >= deps.maxResumes || (total !== undefined && offset >= total)) throw error;
    resumes += 1;
    deps.onResume?.(offset, resumes);
    let next: Response;
    try {
      next = await deps.refetch(`bytes=${offset}-`, etag, stop.signal, resumes);
    } catch {
      deps.callerSignal?.throwIfAborted();
      throw error;
    }
    const rangeTotal = continuesAt(next, offset, etag);
    // A caller that cancelled the body while the resume was on its way reads nothing more.
    if (
      stop.signal.aborted ||
      rangeTotal === undefined ||
      (total !== undefined && rangeTotal !== total) ||
      next.body === null
    ) {
      discardBody(next);
      throw error;
    }
    total = rangeTotal;
    reader = next.body.getReader();
  };

  return new ReadableStream<Uint8Array>(
    {
      pull: async (controller) => {
        for (;;) {
          let chunk: ReadableStreamReadResult<Uint8Array>;
          try {
            chunk = await reader.read();
          } catch (error) {
            await resumeAfter(error);
            continue;
          }
          if (chunk.done) {
            controller.close();
            return;
          }
          offset += chunk.value.byteLength;
          controller.enqueue(chunk.value);
          return;
        }
      },
      // Resolves as fetch's body's cancel does: the reader may be the body that broke, in error, whose
      // cancel would reject with that error although the caller's stream is not in error.
      cancel: (reason) => {
        stop.abort(reason);
        return reader.cancel(reason).catch(() => {});
      },
    },
    { highWaterMark: 0 },
  );
}

/**
 * The total length a 206 declares when it continues the body at `offset` under the same `etag`;
 * undefined for any other answer (a 200 that ignored the Range, a 412, another start or ETag).
 */
function continuesAt(response: Response, offset: number, etag: string): number | undefined {
  if (response.status !== 206 || response.headers.get('etag')?.trim() !== etag) return undefined;
  const range = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(response.headers.get('content-range')?.trim() ?? '');
  if (!range || Number(range[1]) !== offset) return undefined;
  const total = Number(range[3]);
  return Number(range[2]) === total - 1 ? total : undefined;
}
