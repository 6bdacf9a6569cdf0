import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { API_URL_PLACEHOLDER, apiUrlFromOutputs, formatStep, localStackPlan, s3EndpointFor } from '../../../scripts/deploy-localstack';

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, '..', '..', '..');

describe('LocalStack deployment plan', () => {
  const steps = localStackPlan({ cs1Account: '000000000001', cs2Account: '000000000002', region: 'us-east-1' });

  it('bootstraps both accounts, deploys Cs1Stack before Cs2Stack, then runs the demo flow against them', () => {
    expect(steps.map((s) => [s.command.slice(0, 4).join(' '), s.account])).toEqual([
      ['npx cdklocal bootstrap aws://000000000001/us-east-1', '000000000001'],
      ['npx cdklocal bootstrap aws://000000000002/us-east-1', '000000000002'],
      ['npx cdklocal deploy Cs1Stack', '000000000001'],
      ['npx cdklocal deploy Cs2Stack', '000000000002'],
      ['npx tsx scripts/demo/main.ts --exit', '000000000001'],
    ]);
    const demo = steps[4].command;
    expect(demo.slice(4, 6)).toEqual(['--endpoint', API_URL_PLACEHOLDER]);
    // The HE secret goes into CS2's account (its access key id), at LocalStack's endpoint.
    expect(demo[demo.indexOf('--cs2-env') + 1].split(',')).toEqual([
      'AWS_ACCESS_KEY_ID=000000000002',
      'AWS_SECRET_ACCESS_KEY=test',
      'AWS_REGION=us-east-1',
      'AWS_ENDPOINT_URL=http://localhost:4566',
    ]);
    expect(steps[4].env).toEqual({});
  });

  it("finds CS1's REST API at LocalStack's path-style URL from the deployment's outputs", () => {
    expect(apiUrlFromOutputs({ 'blindsight-cs1': { ApiId: 'abc123', ApiStage: 'prod', ApiUrl: 'x' } }, 'http://localhost:4566/')).toBe(
      'http://localhost:4566/restapis/abc123/prod/_user_request_',
    );
    expect(() => apiUrlFromOutputs({}, 'http://localhost:4566')).toThrow(/ApiId/);
  });

  it('selects each LocalStack account by its access key id, kept through cdklocal', () => {
    for (const step of steps.filter((s) => s.command[1] === 'cdklocal')) {
      expect(step.env).toMatchObject({ AWS_ACCESS_KEY_ID: step.account, AWS_REGION: 'us-east-1', AWS_DEFAULT_REGION: 'us-east-1' });
      expect(step.env.AWS_ENVAR_ALLOWLIST.split(',')).toEqual(expect.arrayContaining(['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_REGION']));
      expect(step.env.AWS_ENDPOINT_URL).toBeUndefined();
    }
  });

  it('passes the same context to every command, with path-style S3 for LocalStack', () => {
    for (const step of steps.filter((s) => s.command[1] === 'cdklocal')) {
      const context = step.command.join(' ').match(/-c \S+/g);
      expect(context).toEqual(['-c cs1Account=000000000001', '-c cs2Account=000000000002', '-c region=us-east-1', '-c s3ForcePathStyle=true']);
    }
    expect(steps[2].command).toEqual(expect.arrayContaining(['--require-approval', 'never']));
  });

  it('sets both endpoint variables when an endpoint is given (cdklocal requires the .s3. one)', () => {
    const [step] = localStackPlan({ cs1Account: '000000000001', cs2Account: '000000000002', region: 'eu-west-1', endpoint: 'http://localhost.localstack.cloud:4566' });
    expect(step.env.AWS_ENDPOINT_URL).toBe('http://localhost.localstack.cloud:4566');
    expect(step.env.AWS_ENDPOINT_URL_S3).toBe('http://s3.localhost.localstack.cloud:4566');
    expect(s3EndpointFor('https://s3.example:1')).toBe('https://s3.example:1');
  });

  it('skips bootstrapping on request and refuses bad or equal accounts', () => {
    expect(localStackPlan({ cs1Account: '000000000001', cs2Account: '000000000002', region: 'us-east-1', skipBootstrap: true })).toHaveLength(3);
    expect(localStackPlan({ cs1Account: '000000000001', cs2Account: '000000000002', region: 'us-east-1', skipBootstrap: true, skipDemo: true })).toHaveLength(2);
    expect(() => localStackPlan({ cs1Account: '1', cs2Account: '000000000002', region: 'us-east-1' })).toThrow(/12 digits/);
    expect(() => localStackPlan({ cs1Account: '000000000001', cs2Account: '000000000001', region: 'us-east-1' })).toThrow(/different/);
  });

  it('formats steps as shell lines with quoting', () => {
    expect(formatStep({ title: 't', account: 'a', command: ['echo', "it's"], env: { A: 'x y' } })).toBe("A='x y' echo 'it'\\''s'");
  });

  it('prints the plan with --dry-run and runs nothing', async () => {
    const { stdout } = await run(process.execPath, ['--import', 'tsx', 'scripts/deploy-localstack.ts', '--dry-run', '--cs1-account', '000000000011'], { cwd: ROOT });
    const lines = stdout.trim().split('\n');
    expect(lines.filter((l) => l.startsWith('# '))).toHaveLength(5);
    expect(lines[1]).toContain('AWS_ACCESS_KEY_ID=000000000011');
    expect(lines[1]).toContain('npx cdklocal bootstrap aws://000000000011/us-east-1');
  });
});
