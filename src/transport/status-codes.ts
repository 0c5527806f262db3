/** The one table between FederationError codes and gRPC status codes, read one way by the server and the other by the client. */
import { Code } from '@connectrpc/connect';
import type { FederationErrorCode } from './service.js';

/** The gRPC status code of each FederationError code; the client reads it backwards. */
export const CONNECT_CODES: Readonly<Record<FederationErrorCode, Code>> = {
  unauthenticated: Code.Unauthenticated,
  permission_denied: Code.PermissionDenied,
  failed_precondition: Code.FailedPrecondition,
  already_exists: Code.AlreadyExists,
  invalid_argument: Code.InvalidArgument,
  resource_exhausted: Code.ResourceExhausted,
  not_found: Code.NotFound,
  unavailable: Code.Unavailable,
  internal: Code.Internal,
};
