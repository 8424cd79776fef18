// agnhost netexec's /dial answers (test/images/agnhost/netexec/netexec.go, dialHandler: a JSON map of "responses" and
// "errors", each present only when not empty), and kubectl's stderr when the apiserver's pod proxy cannot reach a pod
// (k8s.io/apimachinery/pkg/util/proxy/transport.go: a 503 "error trying to reach service: ...").

/** A peer that answered /hostname. */
export const dialAnswered = (hostname: string) => `{"responses":["${hostname}"]}`;

/** The peer's node rejected the forwarded packet (firewalld's reject: ICMP admin-prohibited). */
export const dialRejected =
  '{"errors":["Get \\"http://10.244.3.4:8080/hostname\\": dial tcp 10.244.3.4:8080: connect: no route to host"]}';

/** Nothing came back within netexec's 5 s client timeout (a DROP on the way). */
export const dialTimedOut =
  '{"errors":["Get \\"http://10.244.3.4:8080/hostname\\": context deadline exceeded (Client.Timeout exceeded while awaiting headers)"]}';

/** `kubectl get --raw .../proxy/dial?...` when the apiserver cannot reach the source pod. */
export const proxyUnreachableStderr =
  'Error from server (ServiceUnavailable): error trying to reach service: dial tcp 10.244.3.4:8080: connect: no route to host\n';
