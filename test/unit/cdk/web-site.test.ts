/**
 * The web page in CS1's stack (context webSite): a private bucket read only through CloudFront's
 * origin access control, HTTPS only, the page's security headers with a CSP that names CS1's API
 * and the image downloads and nothing else, and the page's origin allowed by the API's and the
 * image bucket's CORS. cdk-nag passes with reasons for what it flags.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CORS_ORIGINS_ENV } from '../../../lib/api/cors';
import { buildTestApp } from './support';

type Resources = Record<string, { Type: string; Properties: Record<string, unknown> }>;

let scratch: string;
let built: ReturnType<typeof buildTestApp>;
let template: Template;
let resources: Resources;

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'cdk-web-'));
  const dist = join(scratch, 'dist');
  await mkdir(join(dist, 'assets'), { recursive: true });
  await writeFile(join(dist, 'index.html'), '<!doctype html><title>page</title>');
  await writeFile(join(dist, 'assets', 'index-abc.js'), 'console.log(1)');
  built = buildTestApp({ outdir: join(scratch, 'out'), context: { webSite: dist } });
  template = Template.fromStack(built.cs1);
  resources = template.toJSON().Resources as Resources;
});

afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

const ofType = (type: string) => Object.entries(resources).filter(([, r]) => r.Type === type);
const distributionId = () => ofType('AWS::CloudFront::Distribution')[0][0];

describe('web page in CS1 (CloudFront)', () => {
  it('reads a private bucket through origin access control only, over HTTPS', () => {
    template.resourceCountIs('AWS::CloudFront::Distribution', 1);
    template.resourceCountIs('AWS::CloudFront::OriginAccessControl', 1);
    template.hasResourceProperties('AWS::CloudFront::Distribution', {
      DistributionConfig: Match.objectLike({
        DefaultRootObject: 'index.html',
        DefaultCacheBehavior: Match.objectLike({ ViewerProtocolPolicy: 'redirect-to-https', AllowedMethods: ['GET', 'HEAD'] }),
        Origins: [Match.objectLike({ OriginAccessControlId: Match.anyValue(), S3OriginConfig: { OriginAccessIdentity: '' } })],
      }),
    });
    const policies = ofType('AWS::S3::BucketPolicy').map(([, r]) => JSON.stringify(r.Properties.PolicyDocument));
    expect(policies.some((p) => p.includes('cloudfront.amazonaws.com') && p.includes('AWS:SourceArn') && p.includes(distributionId()))).toBe(true);
    const siteBucket = ofType('AWS::S3::Bucket').find(([id]) => id.startsWith('WebSiteFiles'));
    expect(siteBucket?.[1].Properties.PublicAccessBlockConfiguration).toEqual({ BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true });
  });

  it('sends the security headers, with a CSP limited to the page, the API, the image downloads and WASM', () => {
    const [[, policy]] = ofType('AWS::CloudFront::ResponseHeadersPolicy');
    const config = policy.Properties.ResponseHeadersPolicyConfig as Record<string, Record<string, unknown>>;
    const security = config.SecurityHeadersConfig as Record<string, Record<string, unknown>>;
    const csp = JSON.stringify(security.ContentSecurityPolicy.ContentSecurityPolicy);
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self' 'wasm-unsafe-eval'");
    expect(csp).not.toContain("'unsafe-eval'\"");
    expect(csp).not.toContain("'unsafe-inline'");
    expect(csp).toContain('.execute-api.');
    expect(csp).toContain('https://*.s3.');
    expect(csp).toContain("frame-ancestors 'none'");
    expect(security.StrictTransportSecurity).toMatchObject({ AccessControlMaxAgeSec: 63_072_000, IncludeSubdomains: true, Override: true });
    expect(security.FrameOptions).toMatchObject({ FrameOption: 'DENY' });
    expect(security.ReferrerPolicy).toMatchObject({ ReferrerPolicy: 'no-referrer' });
    expect(security.ContentTypeOptions).toMatchObject({ Override: true });
    const custom = (config.CustomHeadersConfig.Items as { Header: string }[]).map((h) => h.Header.toLowerCase()).sort();
    expect(custom).toEqual(['cross-origin-opener-policy', 'permissions-policy']);
  });

  it("allows the page's origin in the API's CORS, the handlers' CORS and the image bucket's CORS", () => {
    const domain = { 'Fn::GetAtt': [distributionId(), 'DomainName'] };
    const images = ofType('AWS::S3::Bucket').find(([id]) => id.startsWith('Images'))!;
    expect(JSON.stringify(images[1].Properties.CorsConfiguration)).toContain(JSON.stringify(domain));
    const functions = ofType('AWS::Lambda::Function').filter(([, r]) => JSON.stringify(r.Properties.Environment ?? {}).includes(CORS_ORIGINS_ENV));
    expect(functions.length).toBeGreaterThan(5);
    for (const [, fn] of functions) expect(JSON.stringify(fn.Properties.Environment)).toContain(JSON.stringify(domain));
    const preflight = ofType('AWS::ApiGateway::Method').filter(([, r]) => r.Properties.HttpMethod === 'OPTIONS');
    expect(preflight.length).toBeGreaterThan(0);
    for (const [, method] of preflight) expect(JSON.stringify(method.Properties.Integration)).toContain(JSON.stringify(domain));
    template.hasOutput('WebUrl', {});
  });

  it('deploys the build with index.html revalidated and hashed files cached for good', () => {
    const deployments = ofType('Custom::CDKBucketDeployment').map(([, r]) => JSON.stringify(r.Properties));
    expect(deployments).toHaveLength(2);
    expect(deployments.some((d) => d.includes('no-cache') && d.includes('DistributionId'))).toBe(true);
    expect(deployments.some((d) => d.includes('immutable'))).toBe(true);
  });

  it('synthesizes with no error and no unacknowledged cdk-nag finding', () => {
    expect(Annotations.fromStack(built.cs1).findError('*', Match.anyValue())).toEqual([]);
    const result = new AwsSolutionsChecks(undefined, { verbose: true }).validateScope(built.cs1);
    expect(result.violations.map((v) => `${v.ruleName}: ${v.violatingResources.map((r) => r.constructPath).join(', ')}`)).toEqual([]);
  });
});
