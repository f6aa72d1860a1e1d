/** Geographic prefixes of cross-region inference profile ids (`us.anthropic…`). */
const profilePrefix = /^(us|eu|apac|jp|au|ca|us-gov|global)\./;

/**
 * ARNs InvokeModel is checked against for a model id: an inference profile is authorised on the profile
 * and on the foundation model in every region it may route to; a plain model id only in the region.
 */
export function modelArns(modelId: string, account: string, region: string): string[] {
  const m = profilePrefix.exec(modelId);
  if (!m) return [`arn:aws:bedrock:${region}::foundation-model/${modelId}`];
  return [
    `arn:aws:bedrock:${region}:${account}:inference-profile/${modelId}`,
    `arn:aws:bedrock:*::foundation-model/${modelId.slice(m[0].length)}`,
  ];
}
