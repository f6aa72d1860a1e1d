import { z } from 'zod';
import { checkInput, list, oneOf, range, text, validationError } from '../core/constraints';
import { jsonOperations } from '../core/json-body';
import { AwsError } from '../core/respond';
import type { Router } from '../core/router';
import type { TwinContext } from '../twin';

const TARGET = 'AmazonSSM';
const CONTENT_TYPE = 'application/x-amz-json-1.1';
const HISTORY_LIMIT = 100;
const NAME = /^(?:\/[a-zA-Z0-9_.-]+)+$|^[a-zA-Z0-9_.-]+$/;
/** Parameter-name and value limits of the user guide's "Requirements and constraints for parameter names" and tiers pages. */
const NAME_MAX_LENGTH = 1011;
const HIERARCHY_LEVELS = 15;
const VALUE_MAX_LENGTH = { Standard: 4096, Advanced: 8192 };

/**
 * Input constraints of the operations the project calls, from AWS's model (aws/api-models-aws
 * ssm/service/2014-11-06/ssm-2014-11-06.json): a violation is SSM's ValidationException with the
 * "N validation error(s) detected" message.
 */
const name = text(1, 2048);
const inputs: Record<string, z.ZodType> = {
  PutParameter: z
    .object({
      Name: name,
      Value: z.string(),
      Description: text(0, 1024).optional(),
      Type: oneOf(['String', 'StringList', 'SecureString']).optional(),
      Tier: oneOf(['Standard', 'Advanced', 'Intelligent-Tiering']).optional(),
      DataType: text(0, 128).optional(),
    })
    .passthrough(),
  GetParameter: z.object({ Name: name }).passthrough(),
  DeleteParameter: z.object({ Name: name }).passthrough(),
  GetParameters: z.object({ Names: list(name, 1, 10) }).passthrough(),
  GetParameterHistory: z.object({ Name: name, MaxResults: range(1, 50).optional() }).passthrough(),
};
const invalidInput = validationError('ValidationException');

interface Parameter {
  Name: string;
  Type: string;
  Value: string;
  Version: number;
  LastModifiedDate: number;
  DataType: string;
  Description?: string;
}

interface SsmInput {
  Name?: string;
  Names?: string[];
  Value?: string;
  Type?: string;
  Overwrite?: boolean;
  Tier?: string;
  MaxResults?: number;
  NextToken?: string;
  Description?: string;
  DataType?: string;
}

/** SSM Parameter Store (awsJson1_1): the pipeline records each environment's deployed image here. */
export function registerSsm(router: Router, ctx: TwinContext) {
  const state = ctx.state.get('ssm', () => ({
    parameters: {} as Record<string, Parameter>,
    history: {} as Record<string, Parameter[]>,
  }));
  state.history ??= {};
  const arn = (name: string) =>
    `arn:aws:ssm:${ctx.region}:${ctx.accountId}:parameter/${name.replace(/^\//, '')}`;
  const describe = (p: Parameter) => ({
    Name: p.Name,
    Type: p.Type,
    Value: p.Value,
    Version: p.Version,
    LastModifiedDate: p.LastModifiedDate,
    ARN: arn(p.Name),
    DataType: p.DataType,
  });

  const register = jsonOperations<SsmInput>(router, TARGET, CONTENT_TYPE);
  /** Every operation first checks its input against the SSM model's constraints. */
  const op = (operation: string, fn: (input: SsmInput) => unknown) => {
    const schema = inputs[operation];
    if (!schema)
      throw new Error(`SSM ${operation} has no input constraints: add its model's to ssm.ts's inputs`);
    register(operation, (input) => fn(checkInput(schema, input, invalidInput) as SsmInput));
  };

  op('PutParameter', (input) => {
    const name = String(input.Name);
    if (!NAME.test(name) || /^\/?(aws|ssm)/i.test(name)) {
      throw new AwsError(
        'ValidationException',
        'Parameter name: can\'t be prefixed with "aws" or "ssm" (case-insensitive). If formed as a path, it can consist of sub-paths divided by slash symbol; each sub-path can be formed as a mix of letters, numbers and the following 3 symbols .-_',
      );
    }
    if (name.length > NAME_MAX_LENGTH)
      throw new AwsError(
        'ValidationException',
        `Parameter name ${name.slice(0, 40)}… is ${name.length} characters; a parameter name can have at most ${NAME_MAX_LENGTH} characters`,
      );
    if (name.split('/').filter(Boolean).length > HIERARCHY_LEVELS)
      throw new AwsError(
        'HierarchyLevelLimitExceededException',
        `A hierarchy can have a maximum of ${HIERARCHY_LEVELS} levels; ${name} has ${name.split('/').filter(Boolean).length}`,
      );
    if (!input.Value!.length)
      throw new AwsError('ValidationException', `Parameter ${name}: Value must be a non-empty string`);
    const tier =
      input.Tier === 'Advanced' ||
      (input.Tier === 'Intelligent-Tiering' && input.Value!.length > VALUE_MAX_LENGTH.Standard)
        ? 'Advanced'
        : 'Standard';
    if (input.Value!.length > VALUE_MAX_LENGTH[tier])
      throw new AwsError(
        'ValidationException',
        tier === 'Standard'
          ? `Standard tier parameters support a maximum parameter value of ${VALUE_MAX_LENGTH.Standard} characters. To create a larger parameter value, upgrade the parameter to use the advanced-parameter tier. For more information, see https://docs.aws.amazon.com/systems-manager/latest/userguide/parameter-store-advanced-parameters.html`
          : `Advanced tier parameters support a maximum parameter value of ${VALUE_MAX_LENGTH.Advanced} characters.`,
      );
    const existing = state.parameters[name];
    if (existing && !input.Overwrite) {
      throw new AwsError(
        'ParameterAlreadyExists',
        `The parameter ${name} already exists. To overwrite this value, set the overwrite option in the request to true.`,
      );
    }
    const type = input.Type ?? existing?.Type ?? 'String';
    const p: Parameter = {
      Name: name,
      Type: type,
      Value: input.Value!,
      Version: (existing?.Version ?? 0) + 1,
      LastModifiedDate: Date.now() / 1000,
      DataType: input.DataType ?? 'text',
      ...((input.Description ?? existing?.Description) && {
        Description: input.Description ?? existing?.Description,
      }),
    };
    state.parameters[name] = p;
    // Parameter Store keeps the last 100 versions of a parameter.
    state.history[name] = [...(state.history[name] ?? []), p].slice(-HISTORY_LIMIT);
    return { Version: p.Version, Tier: tier };
  });

  op('GetParameter', (input) => {
    const p = state.parameters[String(input.Name ?? '')];
    if (!p) throw new AwsError('ParameterNotFound', `Parameter ${input.Name} not found.`);
    return { Parameter: describe(p) };
  });

  op('GetParameters', (input) => {
    const names = (input.Names ?? []) as string[];
    return {
      Parameters: names.flatMap((n) => (state.parameters[n] ? [describe(state.parameters[n])] : [])),
      InvalidParameters: names.filter((n) => !state.parameters[n]),
    };
  });

  op('GetParameterHistory', (input) => {
    const name = String(input.Name ?? '');
    const history = state.history[name];
    if (!history) throw new AwsError('ParameterNotFound', `Parameter ${name} not found.`);
    const max = input.MaxResults ?? 50;
    const start = input.NextToken ? Number(input.NextToken) : 0;
    if (!Number.isInteger(start) || start < 0 || start > history.length)
      throw new AwsError('InvalidNextToken', 'The specified token is not valid.');
    const page = history.slice(start, start + max);
    return {
      Parameters: page.map(({ Name, Type, Value, Version, LastModifiedDate, DataType, Description }) => ({
        Name,
        Type,
        Value,
        Version,
        LastModifiedDate,
        DataType,
        ...(Description && { Description }),
      })),
      ...(start + max < history.length && { NextToken: String(start + max) }),
    };
  });

  op('DeleteParameter', (input) => {
    const name = String(input.Name ?? '');
    if (!state.parameters[name]) throw new AwsError('ParameterNotFound', `Parameter ${name} not found.`);
    delete state.parameters[name];
    delete state.history[name];
    return {};
  });

  return {
    /** The current value of a parameter, if set. */
    get: (name: string): string | undefined => state.parameters[name]?.Value,
  };
}

export type SsmApi = ReturnType<typeof registerSsm>;
