import * as core from '@actions/core';
import {
  environmentInput,
  promotionTarget,
  requiredInput,
  action,
  setOutputs,
  writeSummaryRow,
} from '../lib/action';

export const run = action(async () => {
  // Validate everything before the first AWS call.
  const target = requiredInput('target');
  const reason = requiredInput('reason');
  const { parseRollbackTarget, rollback } = await import('../steps/rollback');
  const parsed = parseRollbackTarget(target);
  const env = await environmentInput();
  const result = await rollback({
    ...(await promotionTarget(env)),
    target: parsed,
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
    Commit: result.sha ?? '(no promotion record)',
    Redeployed: String(result.redeployed),
    Reason: reason,
  });
});
