import * as core from '@actions/core';
import {
  controlClient,
  ecrClient,
  ssmClient,
  environmentInput,
  requiredInput,
  run,
  setOutputs,
  waitOptions,
  writeSummaryRow,
} from '../lib/action';
import { parseRollbackTarget, rollback } from '../steps/rollback';

run(async () => {
  // Validate everything before the first AWS call.
  const target = parseRollbackTarget(requiredInput('target'));
  const reason = requiredInput('reason');
  const env = environmentInput();
  const control = controlClient(env);
  const ecr = ecrClient(env);
  const ssm = ssmClient(env);
  const result = await rollback({
    control,
    ecr,
    ssm,
    runtimeName: env.names.runtime,
    endpointName: env.runtime.liveEndpoint,
    imageParameter: env.names.imageParameter,
    target,
    wait: waitOptions(env),
    log: core.info,
  });
  setOutputs({
    version: result.version,
    'previous-live-version': result.previousLiveVersion,
    'image-uri': result.imageUri,
    redeployed: result.redeployed,
  });
  await writeSummaryRow(`Rollback ${env.name}`, {
    'From version': result.previousLiveVersion ?? '—',
    'To version': result.version,
    Image: result.imageUri,
    Redeployed: String(result.redeployed),
    Reason: reason,
  });
});
