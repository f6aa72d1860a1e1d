import { GetParameterCommand, type SSMClient } from '@aws-sdk/client-ssm';
import { z } from 'zod';
import { stackOutputKeys, type Environment, type StackOutputKey } from '../../../../environments';

export type StackOutputs = Record<StackOutputKey, string>;

const outputsSchema = z.object(
  Object.fromEntries(stackOutputKeys.map((k) => [k, z.string().min(1)])) as Record<
    StackOutputKey,
    z.ZodString
  >,
);

/**
 * The environment stack's outputs, from the SSM parameter the stack itself writes
 * (`names.outputsParameter`): the one place actions learn ids the stack created, so nothing is
 * copied by hand into GitHub variables.
 */
export async function readStackOutputs(ssm: SSMClient, env: Environment): Promise<StackOutputs> {
  const name = env.names.outputsParameter;
  let value: string | undefined;
  try {
    value = (await ssm.send(new GetParameterCommand({ Name: name }))).Parameter?.Value;
  } catch (e) {
    if ((e as Error).name === 'ParameterNotFound') {
      throw new Error(
        `SSM parameter ${name} not found in account ${env.account}: deploy the ${env.names.stack} stack first (it writes its outputs there)`,
        { cause: e },
      );
    }
    throw e;
  }
  let json: unknown;
  try {
    json = JSON.parse(value ?? '');
  } catch {
    throw new Error(`SSM parameter ${name} is not JSON; redeploy the ${env.names.stack} stack`);
  }
  const parsed = outputsSchema.safeParse(json);
  if (!parsed.success) {
    const missing = parsed.error.issues.map((i) => i.path.join('.')).join(', ');
    throw new Error(
      `SSM parameter ${name} lacks stack outputs (${missing}); redeploy the ${env.names.stack} stack`,
    );
  }
  return parsed.data;
}
