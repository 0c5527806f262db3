/**
 * The standard gRPC health service (grpc.health.v1), so load balancers and
 * probes can ask whether the server is serving: SERVING for the whole
 * server ("") and the federation service until the server starts closing.
 */
import { Code, ConnectError, type ConnectRouter } from '@connectrpc/connect';
import { FederationService as FederationServiceDesc } from './gen/fedplora/v1/federation_pb.js';
import { Health, HealthCheckResponse_ServingStatus as ServingStatus } from './gen/grpc/health/v1/health_pb.js';

/** Names the health service answers SERVING for: the whole server ("") and the federation service. */
const HEALTHY_SERVICES: ReadonlySet<string> = new Set(['', FederationServiceDesc.typeName]);

export function healthRoutes(shutdown: AbortSignal) {
  const statusOf = (name: string): ServingStatus => {
    if (!HEALTHY_SERVICES.has(name)) return ServingStatus.SERVICE_UNKNOWN;
    return shutdown.aborted ? ServingStatus.NOT_SERVING : ServingStatus.SERVING;
  };
  return (router: ConnectRouter) => {
    router.service(Health, {
      check(req) {
        const status = statusOf(req.service);
        if (status === ServingStatus.SERVICE_UNKNOWN) {
          throw new ConnectError(`no service named "${req.service}" here; ask for "" or "${FederationServiceDesc.typeName}"`, Code.NotFound);
        }
        return { status };
      },
      // The health protocol keeps Watch open and sends every change; ours changes only when the server closes.
      async *watch(req, ctx) {
        yield { status: statusOf(req.service) };
        if (!ctx.signal.aborted) await new Promise((resolve) => ctx.signal.addEventListener('abort', resolve, { once: true }));
        if (shutdown.aborted) yield { status: statusOf(req.service) };
      },
    });
  };
}
