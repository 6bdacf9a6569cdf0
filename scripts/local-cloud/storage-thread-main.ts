/**
 * Inside the storage thread (storage-thread.ts): starts dynalite and s3rver on the configured
 * folders and ports, reports their endpoints, and closes them when asked.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { startLocalDynamo } from './storage/dynalite';
import type { LocalService } from './storage/dynalite';
import { startLocalS3 } from './storage/s3rver';
import type { StorageThreadConfig, StorageThreadMessage } from './storage-thread';

const port = parentPort;
if (port === null) throw new Error('storage-thread-main.ts runs only as a worker thread (see storage-thread.ts)');
const config = workerData as StorageThreadConfig;
const send = (message: StorageThreadMessage) => port.postMessage(message);

const started: LocalService[] = [];
try {
  const dynamo = await startLocalDynamo({ directory: config.dynamodbDir, host: config.host, port: config.dynamodbPort });
  started.push(dynamo);
  const s3 = await startLocalS3({ directory: config.s3Dir, buckets: config.buckets, corsOrigins: config.corsOrigins, host: config.host, port: config.s3Port });
  started.push(s3);
  port.on('message', (message: { type?: string }) => {
    if (message.type !== 'stop') return;
    void Promise.allSettled(started.map((service) => service.stop())).then(() => {
      send({ type: 'stopped' });
      port.close();
    });
  });
  send({ type: 'ready', dynamodbEndpoint: dynamo.endpoint, s3Endpoint: s3.endpoint });
} catch (error) {
  await Promise.allSettled(started.map((service) => service.stop()));
  send({ type: 'failed', message: error instanceof Error ? error.message : String(error) });
  port.close();
}
