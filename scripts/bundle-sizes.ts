/**
 * Bundle size of every Lambda function, from a `cdk synth` output (run `npm run synth` first):
 *
 *   npx tsx scripts/bundle-sizes.ts [--out cdk.out] [--baseline before.jsonl] [--json]
 *
 * Prints a Markdown table (handler, bytes, gzip -9 bytes, whether it bundles node-seal and the
 * HE layer), or with --json one JSON object per function per line. --baseline takes an earlier
 * --json output and adds its sizes as "before" columns.
 */
import { readFile } from 'node:fs/promises';
import { Command } from 'commander';
import { readFunctionBundles } from './bundle-report';
import type { FunctionBundle } from './bundle-report';

interface Row {
  readonly stack: string;
  readonly handler: string;
  readonly bytes: number;
  readonly gzipBytes: number;
  readonly nodeSeal: boolean;
  readonly heFiles: number;
}

function rowOf(bundle: FunctionBundle): Row {
  return {
    stack: bundle.stack,
    handler: bundle.handler,
    bytes: bundle.bytes,
    gzipBytes: bundle.gzipBytes,
    // By package, not by the adapter's path, so a baseline synthesised from an older checkout reads right.
    nodeSeal: bundle.packages.includes('node-seal'),
    heFiles: bundle.projectFiles.filter((file) => file.startsWith('lib/he/')).length,
  };
}

const kb = (bytes: number) => `${(bytes / 1024).toFixed(0)} KB`;

const program = new Command('bundle-sizes')
  .description('Bundle size of every Lambda function of a cdk synth output')
  .option('--out <dir>', 'the cdk synth output directory', 'cdk.out')
  .option('--baseline <file>', 'an earlier --json output to compare with')
  .option('--json', 'one JSON object per function per line')
  .action(async (options: { out: string; baseline?: string; json?: boolean }) => {
    const rows = (await readFunctionBundles(options.out)).map(rowOf);
    if (options.json) {
      for (const row of rows) console.log(JSON.stringify(row));
      return;
    }
    const before = new Map<string, Row>();
    if (options.baseline !== undefined) {
      for (const line of (await readFile(options.baseline, 'utf8')).split('\n')) {
        if (line.trim() === '') continue;
        const row = JSON.parse(line) as Row;
        before.set(row.handler, row);
      }
    }
    const compare = before.size > 0;
    const header = compare
      ? ['function', 'before', 'before (gzip)', 'node-seal before', 'after', 'after (gzip)', 'node-seal after', 'change']
      : ['function', 'bundle', 'gzip -9', 'node-seal', 'lib/he files'];
    console.log(`| ${header.join(' | ')} |`);
    console.log(`|${header.map(() => '---').join('|')}|`);
    for (const row of rows) {
      const old = before.get(row.handler);
      const cells = compare
        ? [
            row.handler,
            old === undefined ? '-' : kb(old.bytes),
            old === undefined ? '-' : kb(old.gzipBytes),
            old === undefined ? '-' : old.nodeSeal ? 'yes' : 'no',
            kb(row.bytes),
            kb(row.gzipBytes),
            row.nodeSeal ? 'yes' : 'no',
            old === undefined ? '-' : `${(((row.bytes - old.bytes) / old.bytes) * 100).toFixed(0)}%`,
          ]
        : [row.handler, kb(row.bytes), kb(row.gzipBytes), row.nodeSeal ? 'yes' : 'no', String(row.heFiles)];
      console.log(`| ${cells.join(' | ')} |`);
    }
  });

await program.parseAsync(process.argv);
