import { ErrorCode } from '../../common/errors.ts';
import type { FetchLike } from './https-with-ca.ts';

export interface ApiErrorBody {
  error: { code: string; message: string; details?: unknown };
}

export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly details: unknown;

  constructor(status: number, body: ApiErrorBody | undefined, fallback: string) {
    super(body?.error?.message ?? fallback);
    this.name = 'ApiError';
    this.status = status;
    this.code = body?.error?.code ?? ErrorCode.httpError;
    this.details = body?.error?.details;
  }
}

/** A small client of the coordinator's REST API. */
export class ApiClient {
  readonly baseUrl: string;
  private readonly token: string;
  private readonly fetch: FetchLike;

  /** `fetchImpl` carries the trust: the coordinator's CA for an https:// server (fetchTrustingCa). */
  constructor(baseUrl: string, token: string, fetchImpl: FetchLike = (url, init) => fetch(url, init)) {
    this.baseUrl = baseUrl.replace(/\/+$/, '');
    this.token = token;
    this.fetch = fetchImpl;
  }

  async request<T>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<T> {
    let response: Response;
    try {
      response = await this.fetch(`${this.baseUrl}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${this.token}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          ...headers,
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    } catch (cause) {
      throw new Error(
        `cannot reach the coordinator at ${this.baseUrl}: ${(cause as Error).cause ?? (cause as Error).message}`,
      );
    }
    if (response.status === 204) return undefined as T;
    const text = await response.text();
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = undefined;
    }
    if (!response.ok) throw new ApiError(response.status, parsed as ApiErrorBody, `HTTP ${response.status}`);
    return parsed as T;
  }

  /** A file download: the response with its body unread (an error status is thrown as ApiError). */
  async download(path: string, signal?: AbortSignal): Promise<Response> {
    let response: Response;
    try {
      response = await this.fetch(`${this.baseUrl}${path}`, {
        headers: { authorization: `Bearer ${this.token}`, accept: 'application/octet-stream' },
        ...(signal ? { signal } : {}),
      });
    } catch (cause) {
      throw new Error(
        `cannot reach the coordinator at ${this.baseUrl}: ${(cause as Error).cause ?? (cause as Error).message}`,
      );
    }
    if (!response.ok) throw await errorOf(response);
    return response;
  }

  /** A raw streaming request (Server-Sent Events). */
  async stream(path: string, headers: Record<string, string> = {}, signal?: AbortSignal): Promise<Response> {
    const response = await this.fetch(`${this.baseUrl}${path}`, {
      headers: { authorization: `Bearer ${this.token}`, accept: 'text/event-stream', ...headers },
      ...(signal ? { signal } : {}),
    });
    if (!response.ok) throw await errorOf(response);
    return response;
  }
}

/** An error reply as ApiError, with the coordinator's JSON error body when it sent one. */
async function errorOf(response: Response): Promise<ApiError> {
  const text = await response.text();
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  return new ApiError(response.status, parsed as ApiErrorBody, `HTTP ${response.status}`);
}
