// The REST client: same-origin session cookie, JSON in and out, errors carrying the server's
// stable code and its exact message (shown as is, e.g. an SMTP server's words).

/** One offending field of a 422 (`errors: [{ field, code, message }]`). */
export interface FieldError {
  field: string;
  code: string;
  message: string;
}

export class ApiError extends Error {
  constructor(
    public status: number,
    public code: string,
    message: string,
    public fields: FieldError[] = [],
    /** The error's whole body, for answers that carry more (the assistant's `reason`). */
    public body: unknown = null,
  ) {
    super(message);
  }
}

/** The fields of an error body the client reads: `{ error, message }` or `{ errors: [...] }`. */
interface ErrorBody {
  error?: string;
  message?: string;
  errors?: unknown;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;

/** What a failed call threw (an ApiError, a network TypeError…), as a sentence to show; nothing
 * for a throw that is not an Error. */
export function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : '';
}

/** The field errors of a failed call (none when it was not a validation error). */
export function fieldErrorsOf(e: unknown): FieldError[] {
  return e instanceof ApiError ? e.fields : [];
}

/** The HTTP status of a failed call, when it reached the server. */
/** The stable error code the server gave (`user_deactivated`…), when it gave one. */
export function codeOf(e: unknown): string | undefined {
  return e instanceof ApiError ? e.code : undefined;
}

export function statusOf(e: unknown): number | undefined {
  return e instanceof ApiError ? e.status : undefined;
}

let enrollmentRequired: (() => void) | null = null;

/** Called when the server answers 403 `mfa_enrollment_required`: an account now requires
 * two-factor authentication of the signed-in user, who may only enrol. */
export function whenEnrollmentRequired(handler: () => void) {
  enrollmentRequired = handler;
}

/** Server milliseconds minus local ones, as the last answer's `Date` header told (whole
 * seconds: taken at the middle of its second); 0 until an answer had one. */
let skew = 0;

/** How far the server's clock is ahead of this one, in milliseconds (for times it gives, such
 * as an offer's expiry). */
export function serverSkewMs(): number {
  return skew;
}

/** The answer is the caller's to type (`T`): the views are in ./types. */
export async function api<T = unknown>(method: string, path: string, body?: unknown): Promise<T> {
  const init: RequestInit = { method, credentials: 'same-origin', headers: { accept: 'application/json' } };
  if (body instanceof FormData) {
    init.body = body;
  } else if (body !== undefined) {
    (init.headers as Record<string, string>)['content-type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  const response = await fetch(path, init);
  const date = Date.parse(response.headers.get('date') ?? '');
  if (Number.isFinite(date)) skew = date + 500 - Date.now();
  const text = await response.text();
  let data: unknown = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!response.ok) {
    const error: ErrorBody = isObject(data) ? data : {};
    const message =
      error.message ||
      (Array.isArray(error.errors)
        ? error.errors.map((e: unknown) => (isObject(e) ? e.message : undefined) ?? e).join('; ')
        : '') ||
      response.statusText;
    const fields = Array.isArray(error.errors)
      ? error.errors.flatMap((e: unknown): FieldError[] =>
          isObject(e) && typeof e.field === 'string' && typeof e.message === 'string'
            ? [{ field: e.field, code: typeof e.code === 'string' ? e.code : '', message: e.message }]
            : [],
        )
      : [];
    if (response.status === 403 && error.error === 'mfa_enrollment_required') enrollmentRequired?.();
    throw new ApiError(response.status, error.error || String(response.status), message, fields, data);
  }
  return data as T;
}

export const get = <T = unknown>(path: string) => api<T>('GET', path);
export const post = <T = unknown>(path: string, body?: unknown) => api<T>('POST', path, body ?? {});
export const patch = <T = unknown>(path: string, body: unknown) => api<T>('PATCH', path, body);
export const put = <T = unknown>(path: string, body: unknown) => api<T>('PUT', path, body);
export const del = <T = unknown>(path: string) => api<T>('DELETE', path);
