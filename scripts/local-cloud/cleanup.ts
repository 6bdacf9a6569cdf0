/**
 * The scheduled clean-up, run once by hand against a running local cloud (what CS1's EventBridge
 * schedule runs hourly in AWS; lib/service/versions/cleanup.ts):
 *
 *   npm run cleanup                          # the local cloud of the default data folder
 *   npm run cleanup -- --data-dir DIR        # another one
 *   npm run cleanup -- --at 2027-01-01T00:00:00Z --json   # as if it ran then (try retention out)
 *
 * Prints, per index, the versions kept (and why) and removed, and per deleted image whether its
 * envelope went or what still holds it; --json prints the whole report as
 * one JSON object.
 */
import { parseArgs } from 'node:util';
import { IndexCleanupService } from '../../lib/service/versions/cleanup';
import { DynamoPublishJobStore } from '../../lib/storage/dynamo-publish-jobs';
import { newDocumentClient } from '../../lib/storage/dynamo-clients';
import { newS3Client } from '../../lib/storage/s3-client';
import { DynamoIndexCatalog } from '../../lib/storage/dynamo-index-catalog';
import { S3RVER_CREDENTIALS } from './storage/s3rver';
import { S3ObjectStore } from '../../lib/storage/s3-object-store';
import { DEFAULT_DATA_DIR } from './layout';
import { localCloudOn } from './registry';

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { 'data-dir': { type: 'string' }, at: { type: 'string' }, json: { type: 'boolean' } } });
  const dataDir = values['data-dir'] ?? DEFAULT_DATA_DIR;
  const endpoints = await localCloudOn(dataDir);
  if (endpoints === undefined) throw new Error(`no local cloud runs on ${dataDir}: start one with "npm run local-cloud"`);
  const at = values.at === undefined ? undefined : new Date(values.at);
  if (at !== undefined && Number.isNaN(at.getTime())) throw new Error(`--at ${values.at} is not an ISO 8601 time`);
  const credentials = { accessKeyId: S3RVER_CREDENTIALS.accessKeyId, secretAccessKey: S3RVER_CREDENTIALS.secretAccessKey };
  const { cs1, region } = endpoints;
  const documents = newDocumentClient({ region, endpoint: cs1.dynamodbEndpoint, credentials });
  const s3 = newS3Client({ region, endpoint: cs1.s3Endpoint, forcePathStyle: true, credentials });
  try {
    const service = new IndexCleanupService(
      {
        objects: new S3ObjectStore({ client: s3, bucket: cs1.bucket }),
        indexes: new DynamoIndexCatalog({ client: documents, tableName: cs1.table }),
        publishJobs: new DynamoPublishJobStore({ client: documents, tableName: cs1.table }),
      },
      at === undefined ? {} : { now: () => at },
    );
    const report = await service.run();
    if (values.json === true) {
      process.stdout.write(`${JSON.stringify(report)}\n`);
      return;
    }
    for (const index of report.indexes) {
      const kept = Object.entries(index.kept).map(([version, why]) => `${version} (${why})`);
      process.stdout.write(`${index.indexName} of ${index.ownerId.slice(0, 12)}...: kept ${kept.join(', ') || 'nothing'}; removed ${index.removed.join(', ') || 'nothing'}\n`);
    }
    for (const removal of report.imageRemovals) {
      const why = removal.outcome === 'waiting' ? ` (${removal.heldBy.length > 0 ? `held by ${removal.heldBy.map((h) => `${h.indexName} ${h.version}`).join(', ')}` : 'requested within the grace period'})` : '';
      process.stdout.write(`image ${removal.imageId}: envelope ${removal.outcome}${why}\n`);
    }
    for (const failure of report.failures) process.stdout.write(`not cleaned: ${failure.indexName ?? 'image removals'} of ${failure.ownerId.slice(0, 12)}... (${failure.message})\n`);
    process.stdout.write(`${report.versionsRemoved} versions, ${report.objectsRemoved} objects and ${report.envelopesRemoved} image envelopes removed\n`);
  } finally {
    documents.destroy();
    s3.destroy();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`cleanup: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
