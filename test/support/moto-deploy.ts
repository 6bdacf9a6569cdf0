/**
 * Deploys a synthesized stack of a cloud assembly (cdk.out) into a moto server the way
 * `cdk deploy` does into an account: what `cdk bootstrap` would have made (the assets bucket and
 * the bootstrap version parameter), the stack's file assets zipped and uploaded to the bucket
 * its asset manifest names, then CreateStack from the template in S3 (CS1's template is over
 * CloudFormation's 51,200-byte inline limit, as in AWS).
 */
import { CloudFormationClient, CreateStackCommand, DescribeStackEventsCommand, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import type { Stack } from '@aws-sdk/client-cloudformation';
import { CreateBucketCommand, HeadBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Moto } from './moto';

const run = promisify(execFile);

interface AssetManifest {
  files: Record<
    string,
    {
      source: { path: string; packaging?: 'zip' | 'file' };
      destinations: Record<string, { bucketName: string; objectKey: string }>;
    }
  >;
}

/** Zips a directory's files at the archive root, as the CDK CLI packages a Lambda asset. */
async function zipDirectory(dir: string, out: string): Promise<void> {
  const files = (await readdir(dir)).map((name) => join(dir, name));
  // Python's standard zipfile (moto runs on Python, so it is there): top-level names only.
  await run('python3', ['-m', 'zipfile', '-c', out, ...files]);
}

async function ensureBucket(s3: S3Client, bucket: string): Promise<void> {
  try {
    await s3.send(new HeadBucketCommand({ Bucket: bucket }));
  } catch {
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  }
}

/** Uploads the stack's file assets into `account`'s assets bucket; returns their count. */
export async function publishAssets(moto: Moto, assemblyDir: string, stackName: string, account: string): Promise<number> {
  const manifest = JSON.parse(await readFile(join(assemblyDir, `${stackName}.assets.json`), 'utf8')) as AssetManifest;
  const s3 = moto.client(S3Client, account);
  const work = await mkdtemp(join(tmpdir(), 'moto-assets-'));
  let count = 0;
  try {
    for (const [hash, asset] of Object.entries(manifest.files)) {
      const source = join(assemblyDir, asset.source.path);
      let body: Buffer;
      if (asset.source.packaging === 'zip') {
        const zip = join(work, `${hash}.zip`);
        await zipDirectory(source, zip);
        body = await readFile(zip);
      } else {
        body = await readFile(source);
      }
      for (const destination of Object.values(asset.destinations)) {
        const bucket = destination.bucketName.replaceAll('${AWS::AccountId}', account).replaceAll('${AWS::Region}', moto.region);
        await ensureBucket(s3, bucket);
        await s3.send(new PutObjectCommand({ Bucket: bucket, Key: destination.objectKey, Body: body }));
        count++;
      }
    }
  } finally {
    s3.destroy();
    await rm(work, { recursive: true, force: true });
  }
  return count;
}

/**
 * The one change a template needs for moto 5.2: its KMS key resource reads CloudFormation's
 * `Tags` ({Key, Value}) with the KMS API's field names ({TagKey, TagValue}) and fails, so keys
 * are created untagged there. Everything else deploys as synthesized.
 */
export function motoCompatibleTemplate(template: { Resources: Record<string, { Type: string; Properties?: Record<string, unknown> }> }): string {
  const copy = structuredClone(template);
  for (const resource of Object.values(copy.Resources)) {
    if (resource.Type === 'AWS::KMS::Key' && resource.Properties) delete resource.Properties.Tags;
  }
  return JSON.stringify(copy);
}

/** Deploys `stackName` into `account` and returns the stack as CloudFormation describes it. */
export async function deployStack(moto: Moto, assemblyDir: string, stackName: string, account: string): Promise<{ stack: Stack; failures: string[] }> {
  const ssm = moto.client(SSMClient, account);
  const s3 = moto.client(S3Client, account);
  const cfn = moto.client(CloudFormationClient, account);
  try {
    // What `cdk bootstrap` leaves in an account: the version the templates' rule checks.
    await ssm.send(new PutParameterCommand({ Name: '/cdk-bootstrap/hnb659fds/version', Value: '30', Type: 'String', Overwrite: true }));
    const templateBucket = `cdk-hnb659fds-assets-${account}-${moto.region}`;
    await ensureBucket(s3, templateBucket);
    const key = `templates/${stackName}.template.json`;
    const template = JSON.parse(await readFile(join(assemblyDir, `${stackName}.template.json`), 'utf8')) as Parameters<typeof motoCompatibleTemplate>[0];
    await s3.send(new PutObjectCommand({ Bucket: templateBucket, Key: key, Body: motoCompatibleTemplate(template) }));
    const name = `moto-${stackName}`;
    await cfn.send(
      new CreateStackCommand({
        StackName: name,
        TemplateURL: `https://s3.amazonaws.com/${templateBucket}/${key}`,
        Capabilities: ['CAPABILITY_IAM', 'CAPABILITY_NAMED_IAM'],
      }),
    );
    // moto creates the resources while answering; the status is final when CreateStack returns,
    // but poll like a real deployment would (bounded by attempts, not by time).
    let stack: Stack | undefined;
    for (let attempt = 0; attempt < 100; attempt++) {
      stack = (await cfn.send(new DescribeStacksCommand({ StackName: name }))).Stacks?.[0];
      if (stack?.StackStatus && !stack.StackStatus.endsWith('IN_PROGRESS')) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const events = (await cfn.send(new DescribeStackEventsCommand({ StackName: name }))).StackEvents ?? [];
    const failures = events.filter((e) => e.ResourceStatus?.endsWith('FAILED')).map((e) => `${e.LogicalResourceId}: ${e.ResourceStatusReason}`);
    return { stack: stack!, failures };
  } finally {
    ssm.destroy();
    s3.destroy();
    cfn.destroy();
  }
}
