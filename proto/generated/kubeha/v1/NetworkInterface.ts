// Original file: proto/kubeha/v1/agent.proto


export interface NetworkInterface {
  'name'?: (string);
  'mac'?: (string);
  'addresses'?: (string)[];
  'virtual'?: (boolean);
}

export interface NetworkInterface__Output {
  'name': (string);
  'mac': (string);
  'addresses': (string)[];
  'virtual': (boolean);
}
