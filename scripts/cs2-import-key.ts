/**
 * The CS2 operator's tool: puts an HE secret (the provider's exportSecret() bytes, handed to CS2's
 * operator out of band) into CS2's secret store, under the key id the material itself names.
 *
 *   npx tsx scripts/cs2-import-key.ts --file secret.bin --key-dir .local-cloud/cs2/keys
 *   npx tsx scripts/cs2-import-key.ts --file secret.bin --secrets-manager \
 *       [--prefix blindsight/cs2/] [--kms-key-id alias/blindsight-cs2] [--region eu-west-1] [--profile cs2]
 *
 * The material is loaded as a decryptor first (so only real secret material of a known backend
 * is imported, and its key id is read from it, never typed by hand). An existing secret with the
 * same id is left alone when identical, and replaced only with --replace. Prints the key id,
 * backend and destination; never the secret.
 */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { Command } from 'commander';
import { isBlindsightError } from '../lib/core/errors';
import { loadHeDecryptor } from '../lib/he';
import { newSecretsManagerClient } from '../lib/storage/secrets-manager-client';
import { FileSecretStore } from '../lib/storage/file-secret-store';
import { processConfig } from '../lib/config/environment';
import { SETTINGS } from '../lib/config/settings';
import { SecretsManagerStore } from '../lib/storage/secrets-manager-store';
import type { SecretStore } from '../lib/storage/types';

interface Options {
  file: string;
  keyDir?: string;
  secretsManager?: boolean;
  prefix: string;
  kmsKeyId?: string;
  region?: string;
  profile?: string;
  replace?: boolean;
}

const program = new Command('cs2-import-key')
  .description("Import an HE secret key (the provider's secret material) into CS2's secret store")
  .requiredOption('--file <path>', 'the secret material file (exportSecret() output of the provider)')
  .option('--key-dir <dir>', "local CS2 key directory (the local cloud's <data-dir>/cs2/keys)")
  .option('--secrets-manager', "AWS Secrets Manager in CS2's account (credentials from the default chain or --profile)")
  .option('--prefix <prefix>', 'Secrets Manager name prefix (the CS2 function reads <prefix><keyId>)', SETTINGS.cs2SecretPrefix.default)
  .option('--kms-key-id <id>', 'KMS key for a new secret (CS2 stack output SecretsKeyArn, or alias/blindsight-cs2)')
  .option('--region <region>', 'AWS region (default: AWS_REGION)')
  .option('--profile <name>', 'AWS profile of the CS2 account')
  .option('--replace', 'replace a different secret already stored under the same key id')
  .showHelpAfterError();

function fail(message: string): never {
  process.stderr.write(`cs2-import-key: ${message}\n`);
  process.exit(1);
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.compare(Buffer.from(a), Buffer.from(b)) === 0;
}

async function existing(store: SecretStore, keyId: string): Promise<Uint8Array | undefined> {
  try {
    return await store.get(keyId);
  } catch (error) {
    if (isBlindsightError(error) && error.code === 'NOT_FOUND') return undefined;
    throw error;
  }
}

async function main(): Promise<void> {
  program.parse(process.argv);
  const options = program.opts<Options>();
  if (Boolean(options.keyDir) === Boolean(options.secretsManager)) fail('choose exactly one destination: --key-dir <dir> or --secrets-manager');
  if (options.keyDir && (options.kmsKeyId || options.region || options.profile)) {
    fail('--kms-key-id, --region and --profile apply to --secrets-manager only');
  }

  let material: Uint8Array;
  try {
    material = new Uint8Array(await readFile(resolve(options.file)));
  } catch (error) {
    fail(`cannot read ${options.file}: ${(error as NodeJS.ErrnoException).code ?? 'read error'}`);
  }
  let keyId: string;
  let backend: string;
  let d: number;
  try {
    const decryptor = await loadHeDecryptor(material);
    ({ keyId, backend, d } = decryptor.descriptor);
    decryptor.dispose();
  } catch (error) {
    const detail = isBlindsightError(error) ? error.message : 'unreadable';
    fail(`${options.file} is not HE secret material (the provider's exportSecret() output; not the provider key or public material): ${detail}`);
  }

  let store: SecretStore;
  let destination: string;
  if (options.keyDir) {
    const directory = resolve(options.keyDir);
    const files = new FileSecretStore(directory);
    store = files;
    destination = files.pathOf(keyId);
  } else {
    if (options.profile) process.env.AWS_PROFILE = options.profile;
    const region = options.region ?? processConfig().get('region');
    if (!region) fail('set --region or AWS_REGION for Secrets Manager');
    const secrets = new SecretsManagerStore({ client: newSecretsManagerClient({ region }), prefix: options.prefix, kmsKeyId: options.kmsKeyId });
    store = secrets;
    destination = `Secrets Manager ${secrets.secretName(keyId)} (${region})`;
  }

  const previous = await existing(store, keyId);
  if (previous !== undefined && sameBytes(previous, material)) {
    process.stdout.write(`key ${keyId} (${backend}, d = ${d}) is already imported: ${destination}\n`);
    return;
  }
  if (previous !== undefined && !options.replace) {
    fail(`a different secret is already stored for key ${keyId} at ${destination}; pass --replace to overwrite it`);
  }
  await store.put(keyId, material);
  process.stdout.write(`${previous === undefined ? 'imported' : 'replaced'} key ${keyId} (${backend}, d = ${d}): ${destination}\n`);
}

main().catch((error: unknown) => {
  // SDK and file-system errors name the operation, never the secret.
  const message = isBlindsightError(error) ? error.message : error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  fail(message);
});
