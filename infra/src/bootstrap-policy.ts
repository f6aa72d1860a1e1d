import type { Topology } from './topology';
export const executionPolicyFile = 'infra/bootstrap/execution-policy.json';
export function bootstrapRoleArns(account: string, region: string): string[] {
  return ['deploy', 'file-publishing', 'image-publishing', 'lookup'].map(
    (r) => `arn:aws:iam::${account}:role/cdk-hnb659fds-${r}-role-${account}-${region}`,
  );
}
export function executionPolicy(_t: Topology): { document: { Statement: { Sid?: string; Action: string | string[]; Resource: string | string[] }[] }; coveredTypes: string[] } {
  throw new Error('not implemented');
}
