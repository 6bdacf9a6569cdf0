/**
 * A minimal Secrets Manager on loopback for tests: the awsJson1_1 wire protocol for
 * CreateSecret, PutSecretValue and GetSecretValue, so the real SDK client runs unchanged
 * against it. There is no local Secrets Manager emulator among
 * the project's dependencies; the local cloud uses FileSecretStore instead.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

interface StoredSecret {
  binary?: string;
  string?: string;
  kmsKeyId?: string;
  versions: number;
}

export interface FakeSecretsManager {
  readonly endpoint: string;
  readonly secrets: Map<string, StoredSecret>;
  /** Number of GetSecretValue calls served (to observe caching). */
  readonly reads: () => number;
  stop(): Promise<void>;
}

export async function startFakeSecretsManager(): Promise<FakeSecretsManager> {
  const secrets = new Map<string, StoredSecret>();
  let reads = 0;
  const server = createServer((request, response) => {
    const parts: Buffer[] = [];
    request.on('data', (part: Buffer) => parts.push(part));
    request.on('end', () => {
      const target = String(request.headers['x-amz-target'] ?? '');
      const body = JSON.parse(Buffer.concat(parts).toString('utf8') || '{}');
      const reply = (status: number, payload: unknown, errorType?: string) => {
        response.statusCode = status;
        response.setHeader('content-type', 'application/x-amz-json-1.1');
        if (errorType) response.setHeader('x-amzn-errortype', errorType);
        response.end(JSON.stringify(errorType ? { __type: errorType, message: String(payload) } : payload));
      };
      const arn = (name: string) => `arn:aws:secretsmanager:us-east-1:000000000000:secret:${name}`;
      switch (target) {
        case 'secretsmanager.CreateSecret': {
          if (secrets.has(body.Name)) return reply(400, `secret ${body.Name} exists`, 'ResourceExistsException');
          secrets.set(body.Name, { binary: body.SecretBinary, string: body.SecretString, kmsKeyId: body.KmsKeyId, versions: 1 });
          return reply(200, { ARN: arn(body.Name), Name: body.Name, VersionId: 'v1' });
        }
        case 'secretsmanager.PutSecretValue': {
          const secret = secrets.get(body.SecretId);
          if (!secret) return reply(400, 'not found', 'ResourceNotFoundException');
          secret.binary = body.SecretBinary;
          secret.string = body.SecretString;
          secret.versions++;
          return reply(200, { ARN: arn(body.SecretId), Name: body.SecretId, VersionId: `v${secret.versions}` });
        }
        case 'secretsmanager.GetSecretValue': {
          reads++;
          const secret = secrets.get(body.SecretId);
          if (!secret) return reply(400, "Secrets Manager can't find the specified secret.", 'ResourceNotFoundException');
          return reply(200, {
            ARN: arn(body.SecretId),
            Name: body.SecretId,
            VersionId: `v${secret.versions}`,
            ...(secret.binary !== undefined ? { SecretBinary: secret.binary } : { SecretString: secret.string }),
          });
        }
        default:
          return reply(400, `unsupported operation ${target}`, 'InvalidRequestException');
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    secrets,
    reads: () => reads,
    stop: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}
