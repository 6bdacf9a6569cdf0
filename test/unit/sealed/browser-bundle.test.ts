/**
 * The client half of the sealed index must run in a browser (a web page will search with it):
 * bundled for the browser platform it pulls in no Node built-in, and the bundle, evaluated in a
 * fresh context that has only browser globals (WebCrypto, TextEncoder/Decoder, performance),
 * opens the routing data and answers a search identical to the one in Node.
 */
import { build } from 'esbuild';
import { createContext, runInContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { encodeIndexKey } from '../../../lib/sealed/index-key';
import { BINDING, sealedWorld } from '../../support/sealed-fixture';

const ENTRY = `
export { SealedSearcher } from './lib/sealed/search';
export { decodeIndexKey } from './lib/sealed/index-key';
`;

describe('sealed client in a browser', () => {
  it('bundles without Node built-ins and searches with browser globals only', async () => {
    const result = await build({
      stdin: { contents: ENTRY, resolveDir: process.cwd(), loader: 'ts', sourcefile: 'sealed-client.ts' },
      bundle: true,
      platform: 'browser',
      format: 'iife',
      globalName: 'sealedClient',
      write: false,
      metafile: true,
      logLevel: 'silent',
    });
    const inputs = Object.keys(result.metafile.inputs);
    expect(inputs.filter((path) => path.startsWith('node:') || path.includes('node_modules'))).toEqual([]);
    const code = result.outputFiles[0].text;
    expect(code).not.toMatch(/\bBuffer\b|\bprocess\.|\brequire\(/);

    const world = await sealedWorld(300, 8, 31);
    const context = createContext({ crypto: globalThis.crypto, TextEncoder, TextDecoder, performance });
    runInContext(code, context);
    const client = context.sealedClient as {
      SealedSearcher: { open(key: unknown, binding: unknown, bytes: Uint8Array): Promise<{ search: typeof world.searcher.search }> };
      decodeIndexKey(bytes: Uint8Array): unknown;
    };
    const key = client.decodeIndexKey(encodeIndexKey(world.key));
    const searcher = await client.SealedSearcher.open(key, BINDING, world.parts.routing);
    const query = world.vectors.data.subarray(8 * 7, 8 * 8);
    const inBrowser = await searcher.search(query, { k: 5 }, world.fetch());
    const inNode = await world.searcher.search(query, { k: 5 }, world.fetch());
    expect(inBrowser.hits.map((h) => h.imageId)).toEqual(inNode.hits.map((h) => h.imageId));
    expect(inBrowser.hits[0].imageId).toBe('img-7');
  });
});
