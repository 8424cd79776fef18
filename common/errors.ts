/** Stable error codes: clients and tests key on these, never on message text. */
export const ErrorCode = {
  configInvalid: 'KUBEHA_CONFIG_INVALID',
  specInvalid: 'KUBEHA_SPEC_INVALID',
  paramsInvalid: 'KUBEHA_PARAMS_INVALID',
  tokenInvalid: 'KUBEHA_TOKEN_INVALID',
  tokenExpired: 'KUBEHA_TOKEN_EXPIRED',
  tokenUsedUp: 'KUBEHA_TOKEN_USED_UP',
  caHashMismatch: 'KUBEHA_CA_HASH_MISMATCH',
  csrInvalid: 'KUBEHA_CSR_INVALID',
  notFound: 'KUBEHA_NOT_FOUND',
  conflict: 'KUBEHA_CONFLICT',
  unauthorized: 'KUBEHA_UNAUTHORIZED',
  badRequest: 'KUBEHA_BAD_REQUEST',
  commandFailed: 'KUBEHA_COMMAND_FAILED',
  stepFailed: 'KUBEHA_STEP_FAILED',
  /** The step refuses what it was asked, for a reason another attempt cannot change (a node not in the cluster). */
  stepRefused: 'KUBEHA_STEP_REFUSED',
  /** No result within the step's timeout. */
  stepTimeout: 'KUBEHA_STEP_TIMEOUT',
  /** The step's agent lost its session for longer than the grace period. */
  agentDisconnected: 'KUBEHA_AGENT_DISCONNECTED',
  unavailable: 'KUBEHA_UNAVAILABLE',
  internal: 'KUBEHA_INTERNAL',
  /** The CLI got an HTTP error without the API's error body (a proxy, a wrong --server). */
  httpError: 'KUBEHA_HTTP_ERROR',
  /** The coordinator's database is newer than the program, or could not be upgraded. */
  storeVersion: 'KUBEHA_STORE_VERSION',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

const errorCodes: ReadonlySet<string> = new Set(Object.values(ErrorCode));

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && errorCodes.has(value);
}

export class KubehaError extends Error {
  readonly code: ErrorCode;
  readonly details: unknown;

  constructor(code: ErrorCode, message: string, options: { details?: unknown; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'KubehaError';
    this.code = code;
    this.details = options.details;
  }
}

export function isKubehaError(value: unknown, code?: ErrorCode): value is KubehaError {
  return value instanceof KubehaError && (code === undefined || value.code === code);
}

/** Codes that say a retry cannot help: the same input meets the same refusal. */
const nonRetryableCodes: ReadonlySet<string> = new Set([
  ErrorCode.paramsInvalid,
  ErrorCode.specInvalid,
  ErrorCode.stepRefused,
]);

export function isNonRetryableCode(code: string): boolean {
  return nonRetryableCodes.has(code);
}
