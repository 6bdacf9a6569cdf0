/**
 * Build of the user web page (web/): one HTML page, its TypeScript, the TensorFlow.js WASM
 * binaries, and the feature network's files made from the same npm package the CLI reads
 * (so the page never fetches weights from anywhere but its own origin).
 *
 * Shared code from lib/ is bundled as it is; the one Node built-in on its path (node:crypto in
 * lib/core/random) is swapped for WebCrypto (src/shims/node-crypto.ts). Any other Node built-in
 * reaching the bundle fails the build rather than breaking at run time.
 */
import { builtinModules } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Plugin, UserConfig } from 'vite';
import { defineConfig } from 'vite';
import { readNsfwjsArtifacts, packageVersion } from '../lib/features/models/package-files';

const here = dirname(fileURLToPath(import.meta.url));

/** Networks the page serves, by bundled model id: the CLI's default. Others are searched with the CLI. */
const SERVED = ['mobilenet_v2_mid'] as const;

function servedModels(): Record<string, string> {
  return Object.fromEntries(SERVED.map((id) => [id, packageVersion('nsfwjs')]));
}

/** Emits models/<id>/<version>/model.json and weights.bin for every served network. */
function modelFiles(): Plugin {
  return {
    name: 'blindsight-model-files',
    apply: 'build',
    generateBundle() {
      for (const [id, version] of Object.entries(servedModels())) {
        const artifacts = readNsfwjsArtifacts(id);
        const dir = `models/${id}/${version}`;
        const modelJson = {
          format: artifacts.format,
          generatedBy: artifacts.generatedBy,
          convertedBy: artifacts.convertedBy,
          modelTopology: artifacts.modelTopology,
          weightsManifest: [{ paths: ['weights.bin'], weights: artifacts.weightSpecs }],
        };
        this.emitFile({ type: 'asset', fileName: `${dir}/model.json`, source: JSON.stringify(modelJson) });
        this.emitFile({ type: 'asset', fileName: `${dir}/weights.bin`, source: new Uint8Array(artifacts.weightData as ArrayBuffer) });
      }
    },
  };
}

/**
 * A Node built-in imported by our own code would only fail in the browser: fail the build
 * instead. (Packages such as TensorFlow.js import some behind a platform check; Vite stubs those.)
 */
function noNodeBuiltins(): Plugin {
  const builtins = new Set(builtinModules.filter((name) => name !== 'buffer'));
  return {
    name: 'blindsight-no-node-builtins',
    enforce: 'pre',
    resolveId(id, importer) {
      if (importer === undefined || importer.includes('/node_modules/')) return null;
      if (id.startsWith('node:') || builtins.has(id)) this.error(`${importer} imports the Node built-in "${id}", which a browser does not have`);
      return null;
    },
  };
}

export function webConfig(outDir = join(here, 'dist')): UserConfig {
  return {
    root: here,
    base: './',
    configFile: false,
    logLevel: 'warn',
    define: { __BLINDSIGHT_SERVED_MODELS__: JSON.stringify(servedModels()) },
    resolve: { alias: { 'node:crypto': join(here, 'src/shims/node-crypto.ts') } },
    build: {
      outDir,
      emptyOutDir: true,
      target: 'es2022',
      // The parity test finds the feature module's chunk through it.
      manifest: true,
      // TensorFlow.js is one large chunk, loaded after the page shows.
      chunkSizeWarningLimit: 4000,
      assetsInlineLimit: 0,
    },
    plugins: [noNodeBuiltins(), modelFiles()],
  } as UserConfig;
}

export default defineConfig(webConfig());
