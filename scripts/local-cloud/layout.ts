/**
 * Where the local cloud keeps things: one folder per account under the data directory, so the
 * two "accounts" share nothing on disk except what the operator gives both (the digest of
 * CS1's credential, written into CS2's folder like an IAM policy naming a principal).
 *
 *   <dataDir>/endpoints.json          running endpoints (for the CLI and tests), removed at stop
 *   <dataDir>/cs1/dynamodb/           dynalite's LevelDB store
 *   <dataDir>/cs1/s3/                 s3rver's objects
 *   <dataDir>/cs1/cs2-credential      the secret CS1 presents to CS2 (mode 0600)
 *   <dataDir>/cs2/keys/               CS2's key store (FileSecretStore: <keyId>.secret)
 *   <dataDir>/cs2/trusted-cs1.sha256  SHA-256 of CS1's credential
 */
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const DEFAULT_DATA_DIR = join(REPO_ROOT, '.local-cloud');
export const DEFAULT_FUNCTIONS_DIR = join(REPO_ROOT, 'functions');

/** Fake account ids, the same ones the LocalStack deployment uses. */
export const LOCAL_CS1_ACCOUNT_ID = '000000000001';
export const LOCAL_CS2_ACCOUNT_ID = '000000000002';
export const LOCAL_REGION = 'us-east-1';
export const LOCAL_TABLE = 'blindsight';
export const LOCAL_BUCKET = 'blindsight-images';
/** Also the API id in event ARNs and requestContext.apiId. */
export const LOCAL_API_ID = 'blindsightlocal';

export const DEFAULT_PORTS = { cs1: 4510, dynamodb: 4511, s3: 4512, cs2: 4520 } as const;

/**
 * Origins whose pages may call the local CS1 API: pages served from this machine on any port
 * (the local cloud listens on loopback only, so only local pages reach it anyway).
 */
export const LOCAL_PAGE_ORIGINS: readonly string[] = ['http://localhost:*', 'http://127.0.0.1:*'];

export interface DataLayout {
  readonly dataDir: string;
  readonly endpointsFile: string;
  readonly cs1Dir: string;
  readonly dynamodbDir: string;
  readonly s3Dir: string;
  readonly credentialFile: string;
  readonly cs2Dir: string;
  readonly keyDir: string;
  readonly trustedDigestFile: string;
}

export function dataLayout(dataDir: string): DataLayout {
  const root = resolve(dataDir);
  const cs1Dir = join(root, 'cs1');
  const cs2Dir = join(root, 'cs2');
  return {
    dataDir: root,
    endpointsFile: join(root, 'endpoints.json'),
    cs1Dir,
    dynamodbDir: join(cs1Dir, 'dynamodb'),
    s3Dir: join(cs1Dir, 's3'),
    credentialFile: join(cs1Dir, 'cs2-credential'),
    cs2Dir,
    keyDir: join(cs2Dir, 'keys'),
    trustedDigestFile: join(cs2Dir, 'trusted-cs1.sha256'),
  };
}
