import { QueryCommand as RawQueryCommand } from '@aws-sdk/client-dynamodb';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { BatchWriteCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConflictError, InvalidInputError, MalformedDataError, NotFoundError, PayloadTooLargeError } from '../../../lib/core/errors';
import { seededRandom } from '../../../lib/core/random';
import { DynamoIndexCatalog } from '../../../lib/storage/dynamo-index-catalog';
import { chunkKey } from '../../../lib/storage/dynamo-keys';
import { startLocalAws } from '../../support/local-aws';
import type { LocalAws } from '../../support/local-aws';
import type { VersionId } from '../../../lib/core/ids';
import { toIndexName, toOwnerId, toVersionId } from '../../support/ids';

const ALICE = toOwnerId('a'.repeat(52));
const BOB = toOwnerId('b'.repeat(52));
const ITEM_LIMIT = 400 * 1024;

function seededBytes(n: number, seed: number): Uint8Array {
  const random = seededRandom(seed);
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = random.int(256);
  return out;
}

/** Byte equality without vitest's element-by-element diffing (slow on megabytes). */
function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.from(a.buffer, a.byteOffset, a.length).equals(Buffer.from(b.buffer, b.byteOffset, b.length));
}

/** DynamoDB's item size: attribute names plus values (binary and string by byte length). */
function itemSize(item: Record<string, AttributeValue>): number {
  let size = 0;
  for (const [name, value] of Object.entries(item)) {
    size += Buffer.byteLength(name);
    if (value.S !== undefined) size += Buffer.byteLength(value.S);
    else if (value.B !== undefined) size += value.B.length;
    else if (value.N !== undefined) size += value.N.length;
    else size += Buffer.byteLength(JSON.stringify(value));
  }
  return size;
}

/** A client that passes everything to dynalite but lets a test act around chosen commands. */
function interceptingClient(
  inner: DynamoDBDocumentClient,
  hooks: { before?: (command: unknown) => Promise<void> | void; after?: (command: unknown) => Promise<void> | void },
): DynamoDBDocumentClient {
  return {
    send: async (command: unknown) => {
      await hooks.before?.(command);
      const result = await inner.send(command as never);
      await hooks.after?.(command);
      return result;
    },
  } as unknown as DynamoDBDocumentClient;
}

describe('DynamoIndexCatalog on dynalite', () => {
  let aws: LocalAws;
  let catalog: DynamoIndexCatalog;

  const rawItems = async (pk: string, skPrefix: string) => {
    const items: Record<string, AttributeValue>[] = [];
    let start: Record<string, AttributeValue> | undefined;
    do {
      const page = await aws.dynamoClient.send(
        new RawQueryCommand({
          TableName: aws.tableName,
          KeyConditionExpression: 'pk = :pk AND begins_with(sk, :p)',
          ExpressionAttributeValues: { ':pk': { S: pk }, ':p': { S: skPrefix } },
          ConsistentRead: true,
          ExclusiveStartKey: start,
        }),
      );
      items.push(...(page.Items ?? []));
      start = page.LastEvaluatedKey;
    } while (start !== undefined);
    return items;
  };

  beforeAll(async () => {
    aws = await startLocalAws();
    catalog = new DynamoIndexCatalog({ client: aws.documentClient, tableName: aws.tableName });
  });
  afterAll(() => aws.stop());

  it('stages, publishes and serves a version with its metadata and blobs', async () => {
    expect(await catalog.getCurrent(ALICE, toIndexName('faces'))).toBeUndefined();
    const skeleton = seededBytes(5000, 1);
    const staged = await catalog.stageVersion(ALICE, toIndexName('faces'), toVersionId('v1'), {
      kind: 'sei',
      metadata: { d: 64, n: 4000, leavesKey: 'owners/x/indexes/faces/v1/leaves', nested: { list: [1, 2.5, null, true, 'x'] } },
      blobs: { skeleton, empty: new Uint8Array(0) },
    });
    expect(staged).toMatchObject({ version: 'v1', kind: 'sei', status: 'complete' });
    expect(staged.blobs.map((b) => b.name).sort()).toEqual(['empty', 'skeleton']);

    const current = await catalog.publish(ALICE, toIndexName('faces'), toVersionId('v1'), undefined);
    expect(current).toMatchObject({ ownerId: ALICE, indexName: 'faces', version: 'v1', kind: 'sei' });
    expect(current.previousVersion).toBeUndefined();
    expect(await catalog.getCurrent(ALICE, toIndexName('faces'))).toEqual(current);

    const version = await catalog.getVersion(ALICE, toIndexName('faces'), toVersionId('v1'));
    expect(version?.metadata).toEqual({ d: 64, n: 4000, leavesKey: 'owners/x/indexes/faces/v1/leaves', nested: { list: [1, 2.5, null, true, 'x'] } });
    expect(sameBytes(await version!.readBlob('skeleton'), skeleton)).toBe(true);
    expect(await version!.readBlob('empty')).toEqual(new Uint8Array(0));
    await expect(version!.readBlob('absent')).rejects.toBeInstanceOf(NotFoundError);
    expect(await catalog.getVersion(ALICE, toIndexName('faces'), toVersionId('v9'))).toBeUndefined();
  });

  it('chunks a 1.5 MB blob into several items, each under 400 KB, and reads it back exactly', async () => {
    const blob = seededBytes(1_500_000, 2);
    const staged = await catalog.stageVersion(ALICE, toIndexName('big'), toVersionId('v1'), { kind: 'two-server', metadata: {}, blobs: { segments: blob } });
    expect(staged.blobs[0]).toMatchObject({ name: 'segments', size: 1_500_000, chunkCount: 5 });

    const chunks = await rawItems(`INDEX#${ALICE}#big`, 'CHUNK#v1#segments#');
    expect(chunks).toHaveLength(5);
    for (const item of chunks) expect(itemSize(item)).toBeLessThan(ITEM_LIMIT);
    expect(chunks.reduce((sum, item) => sum + item.data.B!.length, 0)).toBe(1_500_000);
    const [versionItem] = await rawItems(`INDEX#${ALICE}#big`, 'VERSION#v1');
    expect(itemSize(versionItem)).toBeLessThan(ITEM_LIMIT);

    const version = await catalog.getVersion(ALICE, toIndexName('big'), toVersionId('v1'));
    expect(sameBytes(await version!.readBlob('segments'), blob)).toBe(true);
  });

  it('detects a tampered or missing chunk on read', async () => {
    const blob = seededBytes(700_000, 3);
    await catalog.stageVersion(ALICE, toIndexName('tamper'), toVersionId('v1'), { kind: 'sei', metadata: {}, blobs: { skeleton: blob } });
    const key = chunkKey(ALICE, toIndexName('tamper'), toVersionId('v1'), 'skeleton', 1);
    const altered = blob.slice(300 * 1024, 600 * 1024);
    altered[10] ^= 1;
    await aws.documentClient.send(new PutCommand({ TableName: aws.tableName, Item: { ...key, type: 'blob-chunk', data: altered } }));
    const version = await catalog.getVersion(ALICE, toIndexName('tamper'), toVersionId('v1'));
    await expect(version!.readBlob('skeleton')).rejects.toThrow(/SHA-256/);
    await aws.documentClient.send(
      new UpdateCommand({ TableName: aws.tableName, Key: key, UpdateExpression: 'REMOVE #d', ExpressionAttributeNames: { '#d': 'data' } }),
    );
    await expect(version!.readBlob('skeleton')).rejects.toBeInstanceOf(MalformedDataError);
  });

  it('leaves a version that crashed halfway unpublishable while the old version keeps serving', async () => {
    await catalog.stageVersion(ALICE, toIndexName('crash'), toVersionId('v1'), { kind: 'sei', metadata: { generation: 1 }, blobs: { skeleton: seededBytes(1000, 4) } });
    await catalog.publish(ALICE, toIndexName('crash'), toVersionId('v1'), undefined);

    // The process "dies" on the second chunk batch of v2 (of several).
    let batches = 0;
    const dying = new DynamoIndexCatalog({
      client: interceptingClient(aws.documentClient, {
        before: (command) => {
          if (command instanceof BatchWriteCommand && ++batches === 2) throw new Error('simulated crash');
        },
      }),
      tableName: aws.tableName,
      chunkBytes: 1024,
    });
    await expect(
      dying.stageVersion(ALICE, toIndexName('crash'), toVersionId('v2'), { kind: 'sei', metadata: { generation: 2 }, blobs: { skeleton: seededBytes(40_000, 5) } }),
    ).rejects.toThrow('simulated crash');

    const broken = await catalog.getVersion(ALICE, toIndexName('crash'), toVersionId('v2'));
    expect(broken?.status).toBe('staging');
    await expect(broken!.readBlob('skeleton')).rejects.toBeInstanceOf(MalformedDataError);
    await expect(catalog.publish(ALICE, toIndexName('crash'), toVersionId('v2'), toVersionId('v1'))).rejects.toThrow(/not completely staged/);
    expect((await catalog.getCurrent(ALICE, toIndexName('crash')))?.version).toBe('v1');
    expect((await catalog.getVersion(ALICE, toIndexName('crash'), toVersionId('v1')))?.metadata).toEqual({ generation: 1 });

    // The same name cannot be re-staged over the wreck; cleanup removes it with all its chunks.
    await expect(catalog.stageVersion(ALICE, toIndexName('crash'), toVersionId('v2'), { kind: 'sei', metadata: {} })).rejects.toBeInstanceOf(ConflictError);
    expect((await rawItems(`INDEX#${ALICE}#crash`, 'CHUNK#v2#')).length).toBeGreaterThan(0);
    await catalog.deleteVersion(ALICE, toIndexName('crash'), toVersionId('v2'));
    expect(await rawItems(`INDEX#${ALICE}#crash`, 'CHUNK#v2#')).toHaveLength(0);
    expect(await catalog.getVersion(ALICE, toIndexName('crash'), toVersionId('v2'))).toBeUndefined();
    expect((await catalog.getCurrent(ALICE, toIndexName('crash')))?.version).toBe('v1');
  });

  it('refuses a stale expectedCurrent with an actionable message and leaves the pointer unchanged', async () => {
    for (const v of ['v1', 'v2', 'v3']) await catalog.stageVersion(ALICE, toIndexName('stale'), toVersionId(v), { kind: 'sei', metadata: { v } });
    await catalog.publish(ALICE, toIndexName('stale'), toVersionId('v1'), undefined);
    const afterV2 = await catalog.publish(ALICE, toIndexName('stale'), toVersionId('v2'), toVersionId('v1'));
    expect(afterV2.previousVersion).toBe('v1');

    const stale = catalog.publish(ALICE, toIndexName('stale'), toVersionId('v3'), toVersionId('v1'));
    await expect(stale).rejects.toBeInstanceOf(ConflictError);
    await expect(catalog.publish(ALICE, toIndexName('stale'), toVersionId('v3'), toVersionId('v1'))).rejects.toThrow(/now serves version "v2", not the expected "v1".*expectedCurrent "v2"/);
    await expect(catalog.publish(ALICE, toIndexName('stale'), toVersionId('v3'), undefined)).rejects.toThrow(/already serves version "v2"/);
    await expect(catalog.publish(ALICE, toIndexName('fresh-name'), toVersionId('v3'), toVersionId('v1'))).rejects.toBeInstanceOf(NotFoundError);
    expect(await catalog.getCurrent(ALICE, toIndexName('stale'))).toEqual(afterV2);
  });

  it('lets exactly one of two racing publishes with the same expectedCurrent win', async () => {
    await catalog.stageVersion(ALICE, toIndexName('race'), toVersionId('base'), { kind: 'sei', metadata: {} });
    await catalog.publish(ALICE, toIndexName('race'), toVersionId('base'), undefined);
    let expected = toVersionId('base');
    for (let round = 0; round < 5; round++) {
      const a = toVersionId(`a${round}`);
      const b = toVersionId(`b${round}`);
      await catalog.stageVersion(ALICE, toIndexName('race'), a, { kind: 'sei', metadata: {} });
      await catalog.stageVersion(ALICE, toIndexName('race'), b, { kind: 'sei', metadata: {} });
      const results = await Promise.allSettled([catalog.publish(ALICE, toIndexName('race'), a, expected), catalog.publish(ALICE, toIndexName('race'), b, expected)]);
      const winners = results.filter((r) => r.status === 'fulfilled');
      const losers = results.filter((r) => r.status === 'rejected') as PromiseRejectedResult[];
      expect(winners).toHaveLength(1);
      expect(losers).toHaveLength(1);
      expect(losers[0].reason).toBeInstanceOf(ConflictError);
      const winner = (winners[0] as PromiseFulfilledResult<{ version: VersionId }>).value.version;
      expect((await catalog.getCurrent(ALICE, toIndexName('race')))?.version).toBe(winner);
      expected = winner;
    }
  });

  it('moves the pointer back when the version starts being deleted during the publish', async () => {
    await catalog.stageVersion(ALICE, toIndexName('rollback'), toVersionId('v1'), { kind: 'sei', metadata: {} });
    await catalog.stageVersion(ALICE, toIndexName('rollback'), toVersionId('v2'), { kind: 'sei', metadata: {} });
    await catalog.publish(ALICE, toIndexName('rollback'), toVersionId('v1'), undefined);
    // Right after the pointer write, a concurrent deleteVersion marks v2 (as its first step does).
    const racing = new DynamoIndexCatalog({
      client: interceptingClient(aws.documentClient, {
        after: async (command) => {
          if (command instanceof PutCommand && command.input.Item?.type === 'index-pointer') {
            await aws.documentClient.send(
              new UpdateCommand({
                TableName: aws.tableName,
                Key: { pk: `INDEX#${ALICE}#rollback`, sk: 'VERSION#v2' },
                UpdateExpression: 'SET #s = :d',
                ExpressionAttributeNames: { '#s': 'status' },
                ExpressionAttributeValues: { ':d': 'deleting' },
              }),
            );
          }
        },
      }),
      tableName: aws.tableName,
    });
    await expect(racing.publish(ALICE, toIndexName('rollback'), toVersionId('v2'), toVersionId('v1'))).rejects.toThrow(/deleted while publishing/);
    expect((await catalog.getCurrent(ALICE, toIndexName('rollback')))?.version).toBe('v1');
    await expect(catalog.publish(ALICE, toIndexName('rollback'), toVersionId('v2'), toVersionId('v1'))).rejects.toThrow(/being deleted/);
  });

  it('lists versions, deletes superseded ones and refuses to delete the current one', async () => {
    const blob = seededBytes(10_000, 6);
    for (const v of ['v1', 'v2']) await catalog.stageVersion(ALICE, toIndexName('list'), toVersionId(v), { kind: 'two-server', metadata: { v }, blobs: { part: blob } });
    await catalog.publish(ALICE, toIndexName('list'), toVersionId('v1'), undefined);
    await catalog.publish(ALICE, toIndexName('list'), toVersionId('v2'), toVersionId('v1'));
    const listed = await catalog.listVersions(ALICE, toIndexName('list'));
    expect(listed.map((v) => [v.version, v.status, v.kind])).toEqual([
      ['v1', 'complete', 'two-server'],
      ['v2', 'complete', 'two-server'],
    ]);
    expect(listed[0]).not.toHaveProperty('metadata');

    await expect(catalog.deleteVersion(ALICE, toIndexName('list'), toVersionId('v2'))).rejects.toThrow(/is the current version/);
    expect((await catalog.getVersion(ALICE, toIndexName('list'), toVersionId('v2')))?.status).toBe('complete');
    await catalog.deleteVersion(ALICE, toIndexName('list'), toVersionId('v1'));
    expect((await catalog.listVersions(ALICE, toIndexName('list'))).map((v) => v.version)).toEqual(['v2']);
    expect(await rawItems(`INDEX#${ALICE}#list`, 'CHUNK#v1#')).toHaveLength(0);
    await expect(catalog.deleteVersion(ALICE, toIndexName('list'), toVersionId('v1'))).rejects.toBeInstanceOf(NotFoundError);
    expect(sameBytes(await (await catalog.getVersion(ALICE, toIndexName('list'), toVersionId('v2')))!.readBlob('part'), blob)).toBe(true);
  });

  it('refuses to switch an index to another kind', async () => {
    await catalog.stageVersion(ALICE, toIndexName('kinds'), toVersionId('v1'), { kind: 'sei', metadata: {} });
    await catalog.stageVersion(ALICE, toIndexName('kinds'), toVersionId('v2'), { kind: 'two-server', metadata: {} });
    await catalog.publish(ALICE, toIndexName('kinds'), toVersionId('v1'), undefined);
    await expect(catalog.publish(ALICE, toIndexName('kinds'), toVersionId('v2'), toVersionId('v1'))).rejects.toThrow(/serves a "sei" index/);
    expect((await catalog.getCurrent(ALICE, toIndexName('kinds')))?.version).toBe('v1');
  });

  it('isolates owners: the same index name of another owner is another index', async () => {
    await catalog.stageVersion(ALICE, toIndexName('shared'), toVersionId('v1'), { kind: 'sei', metadata: { owner: 'alice' } });
    await catalog.publish(ALICE, toIndexName('shared'), toVersionId('v1'), undefined);
    expect(await catalog.getCurrent(BOB, toIndexName('shared'))).toBeUndefined();
    expect(await catalog.getVersion(BOB, toIndexName('shared'), toVersionId('v1'))).toBeUndefined();
    await expect(catalog.publish(BOB, toIndexName('shared'), toVersionId('v1'), undefined)).rejects.toBeInstanceOf(NotFoundError);
    expect(await catalog.listVersions(BOB, toIndexName('shared'))).toEqual([]);
  });

  it('validates metadata, blobs and names before writing anything', async () => {
    const bad = [
      { kind: 'sei', metadata: { x: Number.NaN } },
      { kind: 'sei', metadata: { x: Infinity } },
      { kind: 'sei', metadata: { x: undefined } },
      { kind: 'sei', metadata: { when: new Date() } },
      { kind: 'sei', metadata: [] },
      { kind: 'sei', metadata: { big: 'x'.repeat(100 * 1024) } },
      { kind: 'other', metadata: {} },
      { kind: 'sei', metadata: {}, blobs: { 'bad/name': new Uint8Array(1) } },
      { kind: 'sei', metadata: {}, blobs: { skeleton: [1, 2, 3] } },
    ];
    for (const input of bad) {
      await expect(catalog.stageVersion(ALICE, toIndexName('invalid'), toVersionId('v1'), input as never), JSON.stringify(input).slice(0, 60)).rejects.toBeInstanceOf(
        InvalidInputError,
      );
    }
    await expect(
      catalog.stageVersion(ALICE, toIndexName('invalid'), toVersionId('v1'), { kind: 'sei', metadata: {}, blobs: { huge: new Uint8Array(33 * 1024 * 1024) } }),
    ).rejects.toBeInstanceOf(PayloadTooLargeError);
    // Names reach the catalog parsed (branded types): the parsers refuse these before any write.
    expect(() => toIndexName('bad#name')).toThrow(InvalidInputError);
    expect(() => toVersionId('../v1')).toThrow(InvalidInputError);
    expect(await catalog.listVersions(ALICE, toIndexName('invalid'))).toEqual([]);
  });
});
