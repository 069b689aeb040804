/**
 * Response bodies in Partner Center's shapes (the same shapes as fixtures/partner-center/, inlined so
 * the server needs no file I/O on its hot path).
 */

/** Status, headers and body text of one canned answer. */
export interface Payload {
  readonly contentType: string;
  readonly body: string;
  readonly headers?: Readonly<Record<string, string>>;
}

const json = (value: unknown): string => JSON.stringify(value);

const errors: Readonly<Record<number, Payload>> = {
  400: {
    contentType: 'application/json',
    body: json({
      code: 60012,
      description: 'License quota exceeded for the requested product.',
      data: ["LicenseQuotaExceededException : Not enough licenses available for product 'contoso-sku'."],
      source: 'PartnerApiServiceControllers',
    }),
  },
  401: {
    contentType: 'application/json',
    headers: { 'www-authenticate': 'OAuth realm=urn:cpsvc:cpid:4c2f5e1a-8b7d-4e3f-9c6a-1d2e3f4a5b6c' },
    body: json({
      code: '800001',
      description: 'The access token is missing, expired or invalid.',
      data: [],
      source: 'PartnerFD',
    }),
  },
  404: {
    contentType: 'application/json; charset=utf-8',
    body: json({
      code: 3000,
      description: 'Partner Organization with partner_id 9999999 could not be found',
      data: [],
      source: 'PartnerFD',
    }),
  },
  409: {
    contentType: 'application/json',
    body: json({
      code: '800060',
      description: 'Your order is in progress. Please wait a few minutes and check the order status.',
      data: [],
      source: 'PartnerFD',
    }),
  },
  500: {
    contentType: 'application/json',
    body: json({
      code: '800003',
      description: 'An unexpected error occurred while processing the request.',
      data: [],
      source: 'PartnerFD',
    }),
  },
  502: { contentType: 'text/plain', body: 'Bad Gateway' },
  503: { contentType: 'text/plain', body: 'Service Unavailable' },
  504: { contentType: 'text/plain', body: 'Gateway Timeout' },
};

/** A successful collection response for `route`. */
export function successPayload(route: string): Payload {
  return {
    contentType: 'application/json; charset=utf-8',
    body: json({
      totalCount: 1,
      items: [
        { id: '2c6a1b7e-4f1d-4d8e-9e3b-7a5c2d1f0e9a', companyProfile: { companyName: 'Contoso' }, route },
      ],
      attributes: { objectType: 'Collection' },
    }),
  };
}

/** The gateway's 429, telling the client to wait `retryAfterS` seconds. */
export function throttledPayload(retryAfterS: number): Payload {
  return {
    contentType: 'application/json',
    headers: { 'retry-after': String(retryAfterS) },
    body: json({ statusCode: 429, message: `Rate limit is exceeded. Try again in ${retryAfterS} seconds.` }),
  };
}

/** The error body for `status` (a generic Partner Center error for statuses without a canned one). */
export function errorPayload(status: number): Payload {
  return (
    errors[status] ?? {
      contentType: 'application/json',
      body: json({ code: String(status), description: `HTTP ${status}`, data: [], source: 'PartnerFD' }),
    }
  );
}
