import { createHash } from 'node:crypto';
import { z } from 'zod';

/**
 * The local image format (packed by the build-image action's local builder, read by the twin): a real OCI image manifest whose config says which platform it is for and
 * whose single layer is the agent bundle itself (one ESM file), so the twin can run it with `node`
 * instead of a container engine. Digests are real sha256 digests, so ECR semantics (retag keeps the
 * digest, deploy by digest) hold exactly.
 */
export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const OCI_CONFIG = 'application/vnd.oci.image.config.v1+json';
/** The layer: the bundle bytes as-is, not a tarball. */
export const AGENT_BUNDLE_LAYER = 'application/vnd.agentcore-gitops.agent.bundle.v1+javascript';
export const BUNDLE_FILE_ANNOTATION = 'org.opencontainers.image.title';

export const sha256 = (bytes: Buffer | string) =>
  `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

export interface Blob {
  digest: string;
  mediaType: string;
  bytes: Buffer;
}

export interface PackedImage {
  /** The manifest text exactly as pushed; its sha256 is the image digest. */
  manifest: string;
  digest: string;
  config: Blob;
  layer: Blob;
}

export interface PackOptions {
  architecture?: string;
  os?: string;
  /** File name the bundle is materialised as (default `server.mjs`). */
  fileName?: string;
  /** Labels recorded in the config (e.g. the git sha). */
  labels?: Record<string, string>;
}

/** Pack an agent bundle into the local image format. */
export function packImage(bundle: Buffer, options: PackOptions = {}): PackedImage {
  const fileName = options.fileName ?? 'server.mjs';
  const layer: Blob = { digest: sha256(bundle), mediaType: AGENT_BUNDLE_LAYER, bytes: bundle };
  const configJson = {
    architecture: options.architecture ?? 'arm64',
    os: options.os ?? 'linux',
    config: {
      Entrypoint: ['node', `/app/${fileName}`],
      ExposedPorts: { '8080/tcp': {} },
      Labels: options.labels ?? {},
    },
    rootfs: { type: 'layers', diff_ids: [layer.digest] },
  };
  const configBytes = Buffer.from(JSON.stringify(configJson));
  const config: Blob = { digest: sha256(configBytes), mediaType: OCI_CONFIG, bytes: configBytes };
  const manifest = JSON.stringify({
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: { mediaType: OCI_CONFIG, digest: config.digest, size: configBytes.length },
    layers: [
      {
        mediaType: AGENT_BUNDLE_LAYER,
        digest: layer.digest,
        size: bundle.length,
        annotations: { [BUNDLE_FILE_ANNOTATION]: fileName },
      },
    ],
  });
  return { manifest, digest: sha256(manifest), config, layer };
}

const descriptor = z.object({
  mediaType: z.string(),
  digest: z.string().regex(/^sha256:[a-f0-9]{64}$/, 'a digest is sha256:<64 hex digits>'),
  size: z.number().int().nonnegative(),
  annotations: z.record(z.string(), z.string()).optional(),
});

export const manifestSchema = z.object({
  schemaVersion: z.literal(2),
  mediaType: z.string().optional(),
  config: descriptor,
  layers: z.array(descriptor),
});
export type ImageManifest = z.infer<typeof manifestSchema>;

export const imageConfigSchema = z.looseObject({
  architecture: z.string(),
  os: z.string(),
});

/** Parse a manifest; throws with what is wrong. */
export function parseManifest(text: string): ImageManifest {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new Error('the image manifest is not valid JSON');
  }
  const parsed = manifestSchema.safeParse(json);
  if (!parsed.success)
    throw new Error(
      `the image manifest is not an image manifest (schemaVersion 2 with config and layers): ${z.prettifyError(parsed.error)}`,
    );
  return parsed.data;
}
