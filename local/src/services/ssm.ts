import { jsonOperations } from '../core/json-body';
import { AwsError } from '../core/respond';
import type { Router } from '../core/router';
import type { TwinContext } from '../twin';

const TARGET = 'AmazonSSM';
const CONTENT_TYPE = 'application/x-amz-json-1.1';
const TYPES = ['String', 'StringList', 'SecureString'];
const HISTORY_LIMIT = 100;
const NAME = /^(?:\/[a-zA-Z0-9_.-]+)+$|^[a-zA-Z0-9_.-]+$/;

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

  const op = jsonOperations<SsmInput>(router, TARGET, CONTENT_TYPE);

  op('PutParameter', (input) => {
    const name = String(input.Name ?? '');
    if (!NAME.test(name) || name.length > 1011) {
      throw new AwsError(
        'ValidationException',
        `Parameter name '${name}' is invalid: use letters, digits, '_', '.', '-' and '/' for hierarchy (a hierarchical name starts with '/')`,
      );
    }
    if (typeof input.Value !== 'string' || !input.Value.length)
      throw new AwsError('ValidationException', `Parameter ${name}: Value must be a non-empty string`);
    const existing = state.parameters[name];
    if (existing && !input.Overwrite) {
      throw new AwsError(
        'ParameterAlreadyExists',
        `The parameter ${name} already exists. To overwrite this value, set the overwrite option in the request to true.`,
      );
    }
    const type = input.Type ?? existing?.Type ?? 'String';
    if (!TYPES.includes(type))
      throw new AwsError('ValidationException', `Type must be one of ${TYPES.join(', ')}, got '${type}'`);
    const p: Parameter = {
      Name: name,
      Type: type,
      Value: input.Value,
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
    return { Version: p.Version, Tier: 'Standard' };
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
    if (!Number.isInteger(max) || max < 1 || max > 50)
      throw new AwsError('ValidationException', 'MaxResults must be between 1 and 50');
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
