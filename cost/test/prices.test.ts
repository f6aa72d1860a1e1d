import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadAllEnvironments } from '../../environments';
import {
  PricesConfigError,
  loadPrices,
  modelPricesVariable,
  parseModelPrices,
  priceOf,
  pricesFile,
} from '../../environments/prices';

function scratch(edit: (text: string) => string): string {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'prices-')), 'prices.yaml');
  fs.writeFileSync(file, edit(fs.readFileSync(pricesFile, 'utf8')));
  return file;
}

describe('prices.yaml', () => {
  it('prices every model an environment uses, with its date and source', () => {
    const prices = loadPrices();
    for (const env of loadAllEnvironments()) {
      for (const id of [env.models.primary, env.models.background]) {
        expect(prices.models[id], `${env.name} uses ${id}`).toBeDefined();
        expect(prices.models[id].takenOn).toMatch(/^\d{4}-\d{2}-\d{2}$/);
        expect(prices.models[id].source).toMatch(/^https:\/\//);
      }
    }
    expect(prices.runtime.vcpuHour).toBeGreaterThan(0);
  });

  it('names the file, the path and the problem for a bad price', () => {
    const file = scratch((t) => t.replace('outputPerMillion: 16.5', "outputPerMillion: 'sixteen'"));
    expect(() => loadPrices(file)).toThrow(PricesConfigError);
    expect(() => loadPrices(file)).toThrow(
      new RegExp(
        `${file}: 1 problem\\(s\\)\\n  models\\.us\\.anthropic\\.claude-sonnet-4-6\\.outputPerMillion: .*number`,
      ),
    );
  });

  it('rejects a missing date, a duplicate model and broken YAML', () => {
    expect(() => loadPrices(scratch((t) => t.replace(/^ {4}takenOn: .*\n/m, '')))).toThrow(/takenOn/);
    expect(() =>
      loadPrices(
        scratch((t) => t.replace('  us.amazon.nova-pro-v1:0:', '  us.anthropic.claude-sonnet-4-6:')),
      ),
    ).toThrow(/invalid YAML[\s\S]*unique/i);
    expect(() => loadPrices(scratch((t) => `${t}\n  : [`))).toThrow(/invalid YAML/);
    expect(() => loadPrices('/nonexistent/prices.yaml')).toThrow(/file not found/);
  });

  it('says where to add a model that has no price', () => {
    expect(() => priceOf(loadPrices().models, 'us.example.unpriced-v1:0')).toThrow(
      /no price for model "us\.example\.unpriced-v1:0": add it under models: in environments\/prices\.yaml/,
    );
  });
});

describe('MODEL_PRICES', () => {
  it('round-trips an environment’s models and nothing else', () => {
    const prices = loadPrices();
    const models = { primary: 'us.anthropic.claude-sonnet-4-6', background: 'us.amazon.nova-pro-v1:0' };
    const parsed = parseModelPrices(modelPricesVariable(prices, models));
    expect(Object.keys(parsed).sort()).toEqual([models.background, models.primary].sort());
    expect(parsed[models.primary].inputPerMillion).toBe(prices.models[models.primary].inputPerMillion);
    expect(parsed[models.primary]).not.toHaveProperty('source');
  });

  it('explains a malformed value', () => {
    expect(() => parseModelPrices('{')).toThrow(/MODEL_PRICES is not JSON/);
    expect(() => parseModelPrices('{"m.x":{"inputPerMillion":1}}')).toThrow(
      /MODEL_PRICES: 3 problem\(s\)[\s\S]*m\.x\.outputPerMillion/,
    );
  });
});
