import Type from 'typebox';
import type { ErrorCode } from '../../common/errors.ts';

export const ErrorReply = Type.Object(
  {
    error: Type.Object({
      code: Type.String(),
      message: Type.String(),
      details: Type.Optional(Type.Unknown()),
    }),
  },
  { $id: 'ErrorReply' },
);

export function errorBody(code: ErrorCode, message: string, details?: unknown) {
  return { error: { code, message, ...(details === undefined ? {} : { details }) } };
}

/** The 4xx replies every authenticated route may give, for its schema. */
export const clientErrorReplies = {
  400: ErrorReply,
  401: ErrorReply,
  404: ErrorReply,
};
