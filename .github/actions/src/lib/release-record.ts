import {
  GetParameterCommand,
  GetParameterHistoryCommand,
  PutParameterCommand,
  type SSMClient,
} from '@aws-sdk/client-ssm';
import { z } from 'zod';

/**
 * What promote records in the environment's `releaseParameter` each time `live` moves: the commit,
 * its image by digest, and the runtime version. Its SSM history is the only place rollback-by-sha
 * learns which image a commit is — never an image tag, which a pull request could have pushed.
 */
export const releaseRecordSchema = z.object({
  sha: z.string().regex(/^[0-9a-f]{40}$/),
  image: z.string().includes('@sha256:'),
  version: z.string().regex(/^[1-9]\d*$/),
});
export type ReleaseRecord = z.infer<typeof releaseRecordSchema>;

/**
 * Every promotion record the parameter still holds (SSM keeps its last 100 versions), oldest first.
 * Values that are not records (e.g. a placeholder the stack created the parameter with) are skipped;
 * no parameter yet means no releases.
 */
export async function releaseHistory(ssm: SSMClient, name: string): Promise<ReleaseRecord[]> {
  const records: (ReleaseRecord & { parameterVersion: number })[] = [];
  let NextToken: string | undefined;
  try {
    do {
      const page = await ssm.send(new GetParameterHistoryCommand({ Name: name, MaxResults: 50, NextToken }));
      for (const p of page.Parameters ?? []) {
        const parsed = releaseRecordSchema.safeParse(parseJson(p.Value));
        if (parsed.success) records.push({ ...parsed.data, parameterVersion: p.Version ?? 0 });
      }
      NextToken = page.NextToken;
    } while (NextToken);
  } catch (e) {
    if ((e as Error).name === 'ParameterNotFound') return [];
    throw e;
  }
  // SSM returns the history oldest first; order by the parameter's version rather than rely on it.
  return records
    .sort((a, b) => a.parameterVersion - b.parameterVersion)
    .map(({ sha, image, version }) => ({ sha, image, version }));
}

/** Write the record unless it is already the current value (a repeated promote adds no history). */
export async function writeRelease(ssm: SSMClient, name: string, record: ReleaseRecord): Promise<void> {
  const value = JSON.stringify({ sha: record.sha, image: record.image, version: record.version });
  const current = await ssm
    .send(new GetParameterCommand({ Name: name }))
    .then((r) => r.Parameter?.Value)
    .catch((e: Error) => {
      if (e.name === 'ParameterNotFound') return undefined;
      throw e;
    });
  if (current === value) return;
  await ssm.send(new PutParameterCommand({ Name: name, Value: value, Type: 'String', Overwrite: true }));
}

function parseJson(value: string | undefined): unknown {
  try {
    return JSON.parse(value ?? '');
  } catch {
    return undefined;
  }
}
