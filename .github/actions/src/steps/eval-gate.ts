import type { EvalSettings } from '../../../../environments';
import type { ModelPrices } from '../../../../environments/prices-schema';
import { gate, type GateVerdict } from '../../../../evals/compare';
import { gateMarkdown } from '../../../../evals/report';
import { runSuites, type Invoke, type TargetRun } from '../../../../evals/run';
import type { EvalSuite } from '../../../../evals/schema';
import type { Judge } from '../../../../evals/score';
import { invokeAgent, type DirectTarget, type InvokeTarget } from '../lib/agui';

/** One endpoint the evals run against: a name for the report and how to call it. */
export interface EvalEndpoint {
  label: string;
  invoke: Invoke;
}

export interface EvalGateInput {
  candidate: EvalEndpoint;
  /** Absent: no baseline (a first deploy, a local agent), the floors alone decide. */
  live?: EvalEndpoint;
  suites: EvalSuite[];
  settings: Pick<EvalSettings, 'concurrency' | 'retrySeconds' | 'thresholds'>;
  prices?: ModelPrices;
  judge?: Judge;
}

export interface EvalGateReport {
  passed: boolean;
  /** The before/after tables (PR comment, job summary). */
  markdown: string;
  failure?: string;
  verdict: GateVerdict;
}

/** Calls an endpoint the way clients do, one session id per conversation. */
export function endpointInvoker(target: InvokeTarget | DirectTarget, timeoutMs: number): Invoke {
  return (prompt, sessionId) => invokeAgent(target, prompt, { sessionId, timeoutMs });
}

/**
 * Run every eval case against live and then the candidate, and judge the candidate against live
 * with each suite's thresholds. One after the other, not side by side: both write into the same
 * memory actor, and a fact one run states must not be the one the other recalls.
 */
export async function evalGate(input: EvalGateInput): Promise<EvalGateReport> {
  const options = {
    concurrency: input.settings.concurrency,
    retryMs: input.settings.retrySeconds * 1000,
    prices: input.prices,
    judge: input.judge,
  };
  const run = (e: EvalEndpoint): Promise<TargetRun> => runSuites(input.suites, e.label, e.invoke, options);
  const live = input.live ? await run(input.live) : undefined;
  const candidate = await run(input.candidate);
  const verdict = gate(candidate, live, input.settings.thresholds);
  return {
    passed: verdict.passed,
    markdown: gateMarkdown(verdict, { candidate: input.candidate.label, live: input.live?.label }),
    failure: verdict.failure,
    verdict,
  };
}
