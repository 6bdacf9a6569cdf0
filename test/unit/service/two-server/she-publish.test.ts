/**
 * CS1 publishes a two-server index of the broken `she` backend only when its operator allows it
 * (BLINDSIGHT_ALLOW_INSECURE_PAPER_SCHEME, off by default): refused otherwise with a 4xx error
 * naming the setting and nothing served; allowed, it is published with a warning.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigurationError, InvalidParametersError } from '../../../../lib/core/errors';
import { SHE_IS_INSECURE, SHE_WARNING } from '../../../../lib/he/backends';
import { DEFAULT_PUBLISH_POLICY, readPublishPolicy } from '../../../../lib/service/versions/publish-policy';
import { startLocalAws } from '../../../support/local-aws';
import type { LocalAws } from '../../../support/local-aws';
import { OWNER_A, serviceWorld, uploadVersion } from '../support';
import { buildFixture, SHE_SMALL } from './support';
import type { TwoServerFixture } from './support';
import { toIndexName, toOwnerId, toVersionId } from '../../../support/ids';

describe('CS1 setting BLINDSIGHT_ALLOW_INSECURE_PAPER_SCHEME', () => {
  it('is off unless set to true or 1, and a typo is a configuration error, not a silent off', () => {
    expect(DEFAULT_PUBLISH_POLICY.allowInsecurePaperScheme).toBe(false);
    for (const value of [undefined, '', ' ', 'false', '0', 'FALSE']) {
      expect(readPublishPolicy({ BLINDSIGHT_ALLOW_INSECURE_PAPER_SCHEME: value }).allowInsecurePaperScheme).toBe(false);
    }
    for (const value of ['true', '1', 'True', ' true ']) {
      expect(readPublishPolicy({ BLINDSIGHT_ALLOW_INSECURE_PAPER_SCHEME: value }).allowInsecurePaperScheme).toBe(true);
    }
    for (const value of ['yes', 'on', 'tru']) {
      expect(() => readPublishPolicy({ BLINDSIGHT_ALLOW_INSECURE_PAPER_SCHEME: value })).toThrow(ConfigurationError);
      expect(() => readPublishPolicy({ BLINDSIGHT_ALLOW_INSECURE_PAPER_SCHEME: value })).toThrow('BLINDSIGHT_ALLOW_INSECURE_PAPER_SCHEME must be "true" or "false"');
    }
  });
});

describe('publishing a she index', () => {
  let aws: LocalAws;
  let fixture: TwoServerFixture;

  beforeAll(async () => {
    aws = await startLocalAws();
    fixture = await buildFixture({ backend: 'she', params: SHE_SMALL, n: 40, partitions: 2, eps: 2, seed: 61 });
  }, 60_000);

  afterAll(async () => {
    fixture?.client.dispose();
    await aws?.stop();
  });

  it('is refused by default, naming the setting and what to do, and nothing is served', async () => {
    const world = serviceWorld(aws);
    const version = await uploadVersion(world.services, OWNER_A, 'faces-refused', fixture.parts, 'two-server');
    const refused = world.services.versions.publishVersion(toOwnerId(OWNER_A), toIndexName('faces-refused'), toVersionId(version), null);
    await expect(refused).rejects.toThrow(InvalidParametersError);
    await expect(refused).rejects.toThrow(SHE_IS_INSECURE);
    await expect(refused).rejects.toThrow(/Rebuild the index with the bfv backend; .*BLINDSIGHT_ALLOW_INSECURE_PAPER_SCHEME=true/);
    expect(await world.catalog.getCurrent(OWNER_A, 'faces-refused')).toBeUndefined();
    expect(await world.catalog.getVersion(OWNER_A, 'faces-refused', version)).toBeUndefined();
  });

  it('is published with a warning where the operator allows it', async () => {
    const world = serviceWorld(aws, { publishPolicy: { allowInsecurePaperScheme: true } });
    const version = await uploadVersion(world.services, OWNER_A, 'faces-allowed', fixture.parts, 'two-server');
    const published = await world.services.versions.publishVersion(toOwnerId(OWNER_A), toIndexName('faces-allowed'), toVersionId(version), null);
    expect(published.version).toBe(version);
    expect(published.warnings).toEqual([`the index uses the 'she' backend (BLINDSIGHT_ALLOW_INSECURE_PAPER_SCHEME is on): ${SHE_WARNING}`]);
    expect((await world.catalog.getCurrent(OWNER_A, 'faces-allowed'))?.version).toBe(version);
  });
});
