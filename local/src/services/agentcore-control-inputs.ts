import { z } from 'zod';
import { AwsError } from '../core/respond';
import {
  checkInput,
  maxLength,
  minLength,
  oneOf,
  pattern,
  range,
  validationError,
  violationText,
} from '../core/constraints';

/**
 * Input constraints of the AgentCore control-plane operations this project calls, one zod schema
 * per operation, transcribed from AWS's service model (bedrock-agentcore-control 2023-06-05, as in
 * aws-sdk-js-v3 codegen/sdk-codegen/aws-models) and the API reference pages that render it. A
 * violation answers as the service does: ValidationException with reason FieldValidationFailed, a
 * fieldList, and Coral's "N validation error(s) detected: Value '…' at '…' failed to satisfy
 * constraint: …" message.
 */

/** ClientToken: length 33–256, pattern `[a-zA-Z0-9](-*[a-zA-Z0-9]){0,256}`. */
export const clientToken = pattern('[a-zA-Z0-9](-*[a-zA-Z0-9]){0,256}')
  .min(33, minLength(33))
  .max(256, maxLength(256));
const agentRuntimeId = pattern('[a-zA-Z][a-zA-Z0-9_]{0,99}-[a-zA-Z0-9]{10}');
const agentRuntimeName = pattern('[a-zA-Z][a-zA-Z0-9_]{0,47}');
const endpointName = pattern('[a-zA-Z][a-zA-Z0-9_]{0,47}');
const agentRuntimeVersion = pattern('([1-9][0-9]{0,4})').min(1, minLength(1)).max(5, maxLength(5));
const endpointDescription = z.string().min(1, minLength(1)).max(256, maxLength(256));

const runtimeConfig = {
  agentRuntimeArtifact: z.object({}).passthrough(),
  roleArn: z.string().min(1, minLength(1)).max(2048, maxLength(2048)),
  networkConfiguration: z.object({ networkMode: oneOf(['PUBLIC', 'VPC']) }).passthrough(),
  protocolConfiguration: z
    .object({ serverProtocol: oneOf(['MCP', 'HTTP', 'A2A', 'AGUI']) })
    .passthrough()
    .optional(),
  lifecycleConfiguration: z
    .object({
      idleRuntimeSessionTimeout: range(60, 28800).optional(),
      maxLifetime: range(60, 28800).optional(),
    })
    .passthrough()
    .optional(),
  clientToken: clientToken.optional(),
};

export const inputs = {
  CreateAgentRuntime: z.object({ agentRuntimeName, ...runtimeConfig }).passthrough(),
  UpdateAgentRuntime: z.object({ agentRuntimeId, ...runtimeConfig }).passthrough(),
  GetAgentRuntime: z.object({ agentRuntimeId, agentRuntimeVersion: agentRuntimeVersion.optional() }),
  DeleteAgentRuntime: z.object({
    agentRuntimeId,
    agentRuntimeVersion: agentRuntimeVersion.optional(),
    clientToken: clientToken.optional(),
  }),
  ListAgentRuntimeVersions: z.object({ agentRuntimeId }),
  CreateAgentRuntimeEndpoint: z
    .object({
      agentRuntimeId,
      name: endpointName,
      agentRuntimeVersion: agentRuntimeVersion.optional(),
      description: endpointDescription.optional(),
      clientToken: clientToken.optional(),
    })
    .passthrough(),
  AgentRuntimeEndpoint: z.object({ agentRuntimeId, endpointName }),
  UpdateAgentRuntimeEndpoint: z
    .object({
      agentRuntimeId,
      endpointName,
      agentRuntimeVersion: agentRuntimeVersion.optional(),
      description: endpointDescription.optional(),
      clientToken: clientToken.optional(),
    })
    .passthrough(),
  DeleteAgentRuntimeEndpoint: z.object({ agentRuntimeId, endpointName, clientToken: clientToken.optional() }),
};

/** Data plane (bedrock-agentcore 2024-02-28): the session id header of InvokeAgentRuntime is 33–256 characters. */
export const dataPlaneInputs = {
  InvokeAgentRuntime: z.object({
    runtimeSessionId: z.string().min(33, minLength(33)).max(256, maxLength(256)),
  }),
};

const fieldValidationFailed = validationError('ValidationException', (violations) => ({
  reason: 'FieldValidationFailed',
  fieldList: violations.map((v) => ({ name: v.path, message: violationText(v) })),
}));

/** The input if it satisfies the operation's model; else the ValidationException AWS answers with. */
export const validateInput = <T extends z.ZodType>(schema: T, input: unknown): z.infer<T> =>
  checkInput(schema, input, fieldValidationFailed);

/** A client token reused with a different request (the control plane's ValidationExceptionReason). */
export const idempotentParameterMismatch = () =>
  new AwsError(
    'ValidationException',
    'The client token was already used with different request parameters; send the original request unchanged or use a new clientToken',
    400,
    { reason: 'IdempotentParameterMismatchException' },
  );
