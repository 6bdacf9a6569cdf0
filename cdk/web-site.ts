/**
 * The user web page in CS1's account: its built files (web/dist) in a private S3 bucket that
 * only CloudFront reads (origin access control), served over HTTPS with the page's security
 * headers (lib/web/security-headers.ts): a content security policy that lets the page talk to
 * its own origin, CS1's API and the images bucket's presigned URLs only, and compile the
 * TensorFlow.js WebAssembly ('wasm-unsafe-eval'), nothing else.
 */
import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import type { CfnElement } from 'aws-cdk-lib';
import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import * as origins from 'aws-cdk-lib/aws-cloudfront-origins';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as deployment from 'aws-cdk-lib/aws-s3-deployment';
import { Construct } from 'constructs';
import { contentSecurityPolicy, HSTS_SECONDS, PAGE_HEADERS } from '../lib/web/security-headers';
import { acknowledge } from './nag';

export interface WebSiteProps {
  /** The built page (`npm run build:web` writes web/dist). */
  readonly distDir: string;
  /** CS1's API origin (may be a token). */
  readonly apiOrigin: string;
  /** Origins of presigned image downloads (may contain a `*` host wildcard). */
  readonly storageOrigins: readonly string[];
}

/** Page headers CloudFront's security-header behaviour does not cover. */
const CUSTOM_HEADERS = ['cross-origin-opener-policy', 'permissions-policy'] as const;

export class WebSite extends Construct {
  readonly bucket: s3.Bucket;
  readonly distribution: cloudfront.Distribution;
  /** https://<distribution domain>: the origin CS1's CORS must allow. */
  readonly origin: string;

  constructor(scope: Construct, id: string, props: WebSiteProps) {
    super(scope, id);
    this.bucket = new s3.Bucket(this, 'Files', {
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      minimumTLSVersion: 1.2,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      // Nothing here is data: the build can be deployed again at any time.
      removalPolicy: RemovalPolicy.DESTROY,
      autoDeleteObjects: true,
    });
    acknowledge(this.bucket, 'S1', 'The bucket holds only the public build of the web page (no user data); CloudFront is its only reader.');

    const headers = new cloudfront.ResponseHeadersPolicy(this, 'Headers', {
      comment: 'Blindsight web page: CSP (own origin, CS1 API, image downloads, WASM), HSTS, no framing, no referrer',
      securityHeadersBehavior: {
        contentSecurityPolicy: { contentSecurityPolicy: contentSecurityPolicy({ api: [props.apiOrigin], storage: props.storageOrigins }), override: true },
        contentTypeOptions: { override: true },
        frameOptions: { frameOption: cloudfront.HeadersFrameOption.DENY, override: true },
        referrerPolicy: { referrerPolicy: cloudfront.HeadersReferrerPolicy.NO_REFERRER, override: true },
        strictTransportSecurity: { accessControlMaxAge: Duration.seconds(HSTS_SECONDS), includeSubdomains: true, override: true },
      },
      customHeadersBehavior: {
        customHeaders: CUSTOM_HEADERS.map((header) => ({ header, value: PAGE_HEADERS[header], override: true })),
      },
    });

    this.distribution = new cloudfront.Distribution(this, 'Distribution', {
      comment: 'Blindsight web page',
      defaultRootObject: 'index.html',
      minimumProtocolVersion: cloudfront.SecurityPolicyProtocol.TLS_V1_2_2021,
      httpVersion: cloudfront.HttpVersion.HTTP2_AND_3,
      priceClass: cloudfront.PriceClass.PRICE_CLASS_100,
      defaultBehavior: {
        origin: origins.S3BucketOrigin.withOriginAccessControl(this.bucket),
        viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
        allowedMethods: cloudfront.AllowedMethods.ALLOW_GET_HEAD,
        cachePolicy: cloudfront.CachePolicy.CACHING_OPTIMIZED,
        responseHeadersPolicy: headers,
        compress: true,
      },
    });
    acknowledge(this.distribution, 'CFR1', 'The page is for users anywhere the owner grants access; a grant, not geography, decides who can search.');
    acknowledge(this.distribution, 'CFR2', 'Static files only (no API behind this distribution); the API keeps its own throttling.');
    acknowledge(
      this.distribution,
      'CFR3',
      'Static files only; standard logs would need an ACL-enabled bucket and would record only which addresses loaded the page. CS1 API access logs stay on.',
    );
    acknowledge(this.distribution, 'CFR4', 'The distribution requires TLS 1.2 (TLSv1.2_2021); the finding concerns the default CloudFront certificate, which cannot be pinned without a custom domain.');
    this.origin = `https://${this.distribution.distributionDomainName}`;

    // Hashed or versioned files may be cached for good; index.html is revalidated on every load.
    const files = deployment.Source.asset(props.distDir, { exclude: ['index.html', '.vite', '.vite/*'] });
    const immutable = new deployment.BucketDeployment(this, 'DeployAssets', {
      sources: [files],
      destinationBucket: this.bucket,
      prune: false,
      cacheControl: [deployment.CacheControl.fromString('public, max-age=31536000, immutable')],
    });
    const html = new deployment.BucketDeployment(this, 'DeployPage', {
      sources: [deployment.Source.asset(props.distDir, { exclude: ['*', '!index.html'] })],
      destinationBucket: this.bucket,
      prune: false,
      cacheControl: [deployment.CacheControl.noCache()],
      distribution: this.distribution,
      distributionPaths: ['/index.html', '/'],
    });
    html.node.addDependency(immutable);

    // BucketDeployment runs one stack-level function (a CDK singleton) that copies the build.
    const stack = Stack.of(this);
    const bucketId = stack.getLogicalId(this.bucket.node.defaultChild as CfnElement);
    const copyReason =
      "CDK's BucketDeployment copies the page build from the CDK asset bucket into the page bucket (object wildcards on those two buckets only) and invalidates the distribution (CloudFront invalidation has no resource-level permission).";
    const findings = [
      'Action::s3:Abort*',
      'Action::s3:DeleteObject*',
      'Action::s3:GetBucket*',
      'Action::s3:GetObject*',
      'Action::s3:List*',
      'Resource::*',
      `Resource::<${bucketId}.Arn>/*`,
      `Resource::arn:<AWS::Partition>:s3:::cdk-hnb659fds-assets-${stack.account}-${stack.region}/*`,
    ];
    for (const construct of stack.node.children) {
      if (!construct.node.id.startsWith('Custom::CDKBucketDeployment')) continue;
      for (const finding of findings) acknowledge(construct, 'IAM5', copyReason, finding);
      acknowledge(
        construct,
        'IAM4',
        "CDK's BucketDeployment function logs through the AWS managed basic execution role (CloudWatch Logs only).",
        'Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole',
      );
      acknowledge(construct, 'L1', "The runtime of CDK's own BucketDeployment function is chosen by aws-cdk-lib; it moves with the aws-cdk-lib version.");
    }
  }
}
