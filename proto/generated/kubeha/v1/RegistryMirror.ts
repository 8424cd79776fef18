// Original file: proto/kubeha/v1/agent.proto


export interface RegistryMirror {
  'registry'?: (string);
  'endpoints'?: (string)[];
}

export interface RegistryMirror__Output {
  'registry': (string);
  'endpoints': (string)[];
}
