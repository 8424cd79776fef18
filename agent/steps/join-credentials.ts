import { ErrorCode, KubehaError } from '../../common/errors.ts';
import {
  type JoinCredentialsParams,
  JoinCredentialsParamsSchema,
} from '../../proto/step-params/join-credentials-params.ts';
import type { Host } from '../host/host.ts';
import { execRedacted } from '../kubeadm/exec-redacted.ts';
import { kubeadmCertDecryptsWith } from '../kubeadm/kubeadm-certs-secret.ts';
import {
  goDuration,
  kubeadmApiVersionFor,
  renderTokenCreateConfig,
  renderUploadCertsConfig,
} from '../kubeadm/kubeadm-config.ts';
import { kubeadmPaths } from '../kubeadm/kubeadm-paths.ts';
import { kubeadmPatterns } from '../kubeadm/kubeadm-patterns.ts';
import { kubectlJson } from '../kubeadm/kubectl.ts';
import { withSecretConfigFile } from '../kubeadm/secret-config-file.ts';
import { type PlannedChange, plannedStep, type StepContext } from '../step-execution/step.ts';
import { parseStepParams } from '../step-execution/step-params.ts';

const defaultTokenTtlSeconds = 3600;
/** Long enough for a control-plane join to fetch the certificates after the upload. */
const defaultMinRemainingSeconds = 1200;

function parseParams(raw: unknown): JoinCredentialsParams {
  const params = parseStepParams('join-credentials', JoinCredentialsParamsSchema, raw, (p) => {
    if (p.action === 'create-token' && !new RegExp(kubeadmPatterns.bootstrapToken).test(p.token ?? '')) {
      return ['token: create-token needs a whole bootstrap token'];
    }
    if (p.action === 'delete-token' && p.token === undefined) return ['token: delete-token needs a token or token id'];
    if (p.action === 'upload-certs' && p.certificateKey === undefined)
      return ['certificateKey: required for upload-certs'];
    return [];
  });
  return {
    ...params,
    ttlSeconds: params.ttlSeconds || defaultTokenTtlSeconds,
    minRemainingSeconds: params.minRemainingSeconds || defaultMinRemainingSeconds,
  };
}

interface SecretJson {
  metadata?: { ownerReferences?: { kind?: string; name?: string }[] };
  data?: Record<string, string>;
}

const fromBase64 = (value: string | undefined) => Buffer.from(value ?? '', 'base64').toString('utf8');

function tokenId(token: string): string {
  return token.slice(0, 6);
}

function getSecret(host: Host, name: string): Promise<SecretJson | undefined> {
  return kubectlJson<SecretJson>(host, ['-n', 'kube-system', 'get', 'secret', name, '--ignore-not-found']);
}

async function tokenExists(host: Host, token: string): Promise<boolean> {
  const secret = await getSecret(host, `bootstrap-token-${tokenId(token)}`);
  if (!secret) return false;
  const secretPart = token.split('.')[1];
  if (secretPart !== undefined && fromBase64(secret.data?.['token-secret']) !== secretPart) {
    throw new KubehaError(ErrorCode.conflict, `bootstrap token ${tokenId(token)} exists with another secret`);
  }
  return true;
}

/** Why the control-plane certificates must be uploaded again, or undefined when kubeadm-certs is current. */
async function uploadNeeded(
  host: Host,
  certificateKey: string,
  minRemainingSeconds: number,
): Promise<string | undefined> {
  const certs = await getSecret(host, 'kubeadm-certs');
  if (!certs) return 'kubeadm-certs does not exist';
  const sample = certs.data?.['ca.crt'];
  if (sample === undefined || !kubeadmCertDecryptsWith(sample, certificateKey)) {
    return 'kubeadm-certs is sealed with another certificate key';
  }
  // kubeadm ties the Secret's life to a bootstrap token that expires after two hours.
  const owner = certs.metadata?.ownerReferences?.find(
    (r) => r.kind === 'Secret' && r.name?.startsWith('bootstrap-token-'),
  );
  if (!owner?.name) return undefined;
  const ownerSecret = await getSecret(host, owner.name);
  if (!ownerSecret) return 'the token that keeps kubeadm-certs alive is gone';
  const expiresAt = Date.parse(fromBase64(ownerSecret.data?.expiration));
  if (Number.isNaN(expiresAt)) return undefined;
  const remainingSeconds = Math.floor((expiresAt - Date.now()) / 1000);
  return remainingSeconds < minRemainingSeconds
    ? `kubeadm-certs expires in ${Math.max(0, Math.floor(remainingSeconds / 60))} min`
    : undefined;
}

async function plan(ctx: StepContext<JoinCredentialsParams>): Promise<PlannedChange[]> {
  const { host, params } = ctx;
  if (!(await host.exists(kubeadmPaths.adminConf))) {
    throw new KubehaError(ErrorCode.stepFailed, `${kubeadmPaths.adminConf} does not exist: not a control plane`);
  }
  const kubeconfig = ['--kubeconfig', kubeadmPaths.adminConf];
  const apiVersion = kubeadmApiVersionFor(params.kubernetesVersion ?? '1.28.0');
  switch (params.action) {
    case 'create-token': {
      const token = params.token!;
      if (await tokenExists(host, token)) return [];
      const ttl = goDuration(params.ttlSeconds);
      return [
        {
          description: `kubeadm token create ${tokenId(token)}.<redacted> --ttl ${ttl}`,
          apply: async () => {
            const config = renderTokenCreateConfig({
              apiVersion,
              token,
              ttlSeconds: params.ttlSeconds,
              description: params.description,
            });
            await withSecretConfigFile(host, `token-create-${tokenId(token)}.yaml`, config, (path) =>
              execRedacted(host, ctx.log, 'kubeadm', ['token', 'create', '--config', path, ...kubeconfig]),
            );
          },
        },
      ];
    }
    case 'delete-token': {
      const id = tokenId(params.token!);
      if (!(await getSecret(host, `bootstrap-token-${id}`))) return [];
      return [
        {
          description: `kubeadm token delete ${id}`,
          apply: async () => {
            await execRedacted(host, ctx.log, 'kubeadm', ['token', 'delete', id, ...kubeconfig]);
          },
        },
      ];
    }
    case 'upload-certs': {
      const key = params.certificateKey!;
      const reason = await uploadNeeded(host, key, params.minRemainingSeconds);
      if (reason === undefined) return [];
      return [
        {
          description: `kubeadm init phase upload-certs --upload-certs --config <0600 file> (${reason})`,
          apply: async () => {
            await withSecretConfigFile(host, 'upload-certs.yaml', renderUploadCertsConfig(apiVersion, key), (path) =>
              execRedacted(host, ctx.log, 'kubeadm', [
                'init',
                'phase',
                'upload-certs',
                '--upload-certs',
                '--config',
                path,
                ...kubeconfig,
              ]),
            );
          },
        },
      ];
    }
  }
}

/**
 * Join credentials, made on a healthy control plane just in time: a bootstrap token with a TTL (create-token),
 * its removal after the join (delete-token), and the control-plane certificates re-uploaded under a given
 * certificate key (upload-certs), skipped while kubeadm-certs is sealed with that key and lives long enough.
 */
export const joinCredentialsStep = plannedStep<JoinCredentialsParams>({ kind: 'join-credentials', parseParams, plan });
