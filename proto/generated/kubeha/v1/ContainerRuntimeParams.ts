// Original file: proto/kubeha/v1/agent.proto

import type { RegistryMirror as _kubeha_v1_RegistryMirror, RegistryMirror__Output as _kubeha_v1_RegistryMirror__Output } from '../../kubeha/v1/RegistryMirror.ts';

export interface ContainerRuntimeParams {
  'kubernetes_version'?: (string);
  'repo_base_url'?: (string);
  'mirrors'?: (_kubeha_v1_RegistryMirror)[];
  'sandbox_image'?: (string);
  'gpg_key_url'?: (string);
  'image_repository'?: (string);
  'allow_erasing'?: (boolean);
}

export interface ContainerRuntimeParams__Output {
  'kubernetes_version': (string);
  'repo_base_url': (string);
  'mirrors': (_kubeha_v1_RegistryMirror__Output)[];
  'sandbox_image': (string);
  'gpg_key_url': (string);
  'image_repository': (string);
  'allow_erasing': (boolean);
}
