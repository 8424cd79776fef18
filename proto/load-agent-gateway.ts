import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import type { ProtoGrpcType } from './generated/agent.ts';

/** Must match the flags of `npm run proto:gen`, or the generated types lie about the runtime shapes. */
export const protoLoaderOptions: protoLoader.Options = {
  keepCase: true,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
};

export const agentProtoPath = fileURLToPath(new URL('./kubeha/v1/agent.proto', import.meta.url));

let loaded: ProtoGrpcType | undefined;

/** Loads kubeha.v1 once per process. `protoPath` lets a bundle point at the .proto shipped beside it. */
export function loadAgentGateway(protoPath: string = agentProtoPath): ProtoGrpcType {
  if (!loaded) {
    const definition = protoLoader.loadSync(protoPath, protoLoaderOptions);
    loaded = grpc.loadPackageDefinition(definition) as unknown as ProtoGrpcType;
  }
  return loaded;
}
