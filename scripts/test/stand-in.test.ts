import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseRehearsalTable } from '../bench/pipeline';
import { percentile } from '../bench/stats';
import { baseImagesOf, nodeImageTag, qualifiedName } from '../container/stand-in';

describe('stand-in base images', () => {
  it('finds the FROM images of a multi-stage Dockerfile, skipping stages and scratch, expanding ARG defaults', () => {
    const dockerfile = [
      'ARG NODE=24',
      'FROM --platform=$BUILDPLATFORM node:${NODE}-bookworm-slim AS build',
      'FROM build AS test',
      'FROM scratch AS empty',
      'FROM \\',
      '  node:${NODE}-bookworm-slim',
    ].join('\n');
    expect(baseImagesOf(dockerfile)).toEqual([
      { ref: 'node:24-bookworm-slim', platform: '$BUILDPLATFORM' },
      { ref: 'node:24-bookworm-slim', platform: undefined },
    ]);
  });

  it("covers the agent's own Dockerfile", () => {
    const bases = baseImagesOf(readFileSync('agent/Dockerfile', 'utf8'));
    expect(bases.length).toBeGreaterThan(0);
    for (const b of bases) expect(() => nodeImageTag(qualifiedName(b.ref))).not.toThrow();
  });

  it('expands short names the way Docker Hub does', () => {
    expect(qualifiedName('node:24-bookworm-slim')).toBe('docker.io/library/node:24-bookworm-slim');
    expect(qualifiedName('node')).toBe('docker.io/library/node:latest');
    expect(qualifiedName('bitnami/node:22')).toBe('docker.io/bitnami/node:22');
    expect(qualifiedName('public.ecr.aws/docker/library/node:24')).toBe(
      'public.ecr.aws/docker/library/node:24',
    );
    expect(qualifiedName('localhost:5000/x:1')).toBe('localhost:5000/x:1');
  });

  it('has recipes for official node Debian tags only, and says what to do otherwise', () => {
    expect(nodeImageTag('docker.io/library/node:24-bookworm-slim')).toEqual({ major: 24, suite: 'bookworm' });
    expect(nodeImageTag('docker.io/library/node:20.19.1-bookworm')).toEqual({ major: 20, suite: 'bookworm' });
    expect(() => nodeImageTag('gcr.io/distroless/nodejs24-debian12')).toThrow(
      /No stand-in recipe.*node:24-bookworm-slim/,
    );
  });
});

describe('bench helpers', () => {
  it('reads the rehearsal table', () => {
    const out = [
      'step                    time  result',
      '-----------------  --------  ------',
      'dev: deploy + smoke   0.52 s  ok   v2 gates ✅',
      'dev: promote live     0.34 s  FAIL live did not move',
      'total                 0.86 s  1 failed of 2',
    ].join('\n');
    expect(parseRehearsalTable(out)).toEqual([
      { step: 'dev: deploy + smoke', ms: 520, ok: true },
      { step: 'dev: promote live', ms: 340, ok: false },
    ]);
  });

  it('takes nearest-rank percentiles', () => {
    const samples = Array.from({ length: 100 }, (_, i) => 100 - i);
    expect(percentile(samples, 50)).toBe(50);
    expect(percentile(samples, 99)).toBe(99);
    expect(percentile([7], 99)).toBe(7);
  });
});
