// Original file: proto/kubeha/v1/agent.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { AgentMessage as _kubeha_v1_AgentMessage, AgentMessage__Output as _kubeha_v1_AgentMessage__Output } from '../../kubeha/v1/AgentMessage.ts';
import type { CoordinatorMessage as _kubeha_v1_CoordinatorMessage, CoordinatorMessage__Output as _kubeha_v1_CoordinatorMessage__Output } from '../../kubeha/v1/CoordinatorMessage.ts';
import type { EnrollRequest as _kubeha_v1_EnrollRequest, EnrollRequest__Output as _kubeha_v1_EnrollRequest__Output } from '../../kubeha/v1/EnrollRequest.ts';
import type { EnrollResponse as _kubeha_v1_EnrollResponse, EnrollResponse__Output as _kubeha_v1_EnrollResponse__Output } from '../../kubeha/v1/EnrollResponse.ts';

export interface AgentGatewayClient extends grpc.Client {
  Enroll(argument: _kubeha_v1_EnrollRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kubeha_v1_EnrollResponse__Output>): grpc.ClientUnaryCall;
  Enroll(argument: _kubeha_v1_EnrollRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kubeha_v1_EnrollResponse__Output>): grpc.ClientUnaryCall;
  Enroll(argument: _kubeha_v1_EnrollRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kubeha_v1_EnrollResponse__Output>): grpc.ClientUnaryCall;
  Enroll(argument: _kubeha_v1_EnrollRequest, callback: grpc.requestCallback<_kubeha_v1_EnrollResponse__Output>): grpc.ClientUnaryCall;
  enroll(argument: _kubeha_v1_EnrollRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kubeha_v1_EnrollResponse__Output>): grpc.ClientUnaryCall;
  enroll(argument: _kubeha_v1_EnrollRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kubeha_v1_EnrollResponse__Output>): grpc.ClientUnaryCall;
  enroll(argument: _kubeha_v1_EnrollRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kubeha_v1_EnrollResponse__Output>): grpc.ClientUnaryCall;
  enroll(argument: _kubeha_v1_EnrollRequest, callback: grpc.requestCallback<_kubeha_v1_EnrollResponse__Output>): grpc.ClientUnaryCall;
  
  Session(metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientDuplexStream<_kubeha_v1_AgentMessage, _kubeha_v1_CoordinatorMessage__Output>;
  Session(options?: grpc.CallOptions): grpc.ClientDuplexStream<_kubeha_v1_AgentMessage, _kubeha_v1_CoordinatorMessage__Output>;
  session(metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientDuplexStream<_kubeha_v1_AgentMessage, _kubeha_v1_CoordinatorMessage__Output>;
  session(options?: grpc.CallOptions): grpc.ClientDuplexStream<_kubeha_v1_AgentMessage, _kubeha_v1_CoordinatorMessage__Output>;
  
}

export interface AgentGatewayHandlers extends grpc.UntypedServiceImplementation {
  Enroll: grpc.handleUnaryCall<_kubeha_v1_EnrollRequest__Output, _kubeha_v1_EnrollResponse>;
  
  Session: grpc.handleBidiStreamingCall<_kubeha_v1_AgentMessage__Output, _kubeha_v1_CoordinatorMessage>;
  
}

export interface AgentGatewayDefinition extends grpc.ServiceDefinition {
  Enroll: MethodDefinition<_kubeha_v1_EnrollRequest, _kubeha_v1_EnrollResponse, _kubeha_v1_EnrollRequest__Output, _kubeha_v1_EnrollResponse__Output>
  Session: MethodDefinition<_kubeha_v1_AgentMessage, _kubeha_v1_CoordinatorMessage, _kubeha_v1_AgentMessage__Output, _kubeha_v1_CoordinatorMessage__Output>
}
