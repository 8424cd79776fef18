import { expect } from 'vitest';
import { ApiError } from '../../coordinator/cli/api-client.ts';

/** The API's refusal of a request: the test fails when the request succeeds or fails otherwise. */
export async function refusal(request: Promise<unknown>): Promise<ApiError> {
  const error = await request.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ApiError);
  return error as ApiError;
}
