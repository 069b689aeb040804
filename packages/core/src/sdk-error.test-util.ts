/** An SDK-style error: a status and plain-object headers, as many REST SDKs throw. */
export class SdkError extends Error {
  readonly statusCode: number;
  readonly headers: Record<string, string>;
  constructor(statusCode: number, headers: Record<string, string> = {}) {
    super(`SDK call failed with ${statusCode}`);
    this.statusCode = statusCode;
    this.headers = headers;
  }
}
