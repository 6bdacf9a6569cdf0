/**
 * The one-command demo's flow, step by step with the client workflows (lib/client, the same the
 * CLI runs; one set of loaded models): start the local two-account cloud, create an owner and a
 * user in a fresh work folder, index the bundled Fashion-MNIST gallery (the sealed index, the
 * default; the SEI paper's index; the two-server identification index), publish, enroll the
 * user, search with held-out images (sealed searches, then one K-anonymous SEI search), identify
 * a gallery image, and report what happened.
 *
 * Every step is checked, not just run: searches must return k decrypted images, the
 * identification must find the query's own template at distance 0. A failed step ends the flow.
 */
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { SHE_IS_INSECURE, SHE_WARNING } from '../../lib/he/backends';
import type { LocalCloud } from '../local-cloud/cloud';
import { startLocalCloud } from '../local-cloud/cloud';
import { dataLayout, DEFAULT_PORTS } from '../local-cloud/layout';
import { BUILD_FILES } from '../../lib/client/build-files';
import type { WorkflowEvent } from '../../lib/client/events';
import { decodeKeyRequest } from '../../lib/client/formats';
import { createFeatureModels, DEFAULT_MODEL_CHOICE } from '../../lib/client/node/feature-models';
import type { NodeFeatureModels } from '../../lib/client/node/feature-models';
import { fileEntry, listImageFolder } from '../../lib/client/node/folder-images';
import { buildPath, buildSource, ownerPaths, saveNewOwner, savePublished, saveUsers, stageBuild } from '../../lib/client/node/owner-home';
import { ensurePrivateDir, writePrivateFile, writePrivateJson } from '../../lib/client/node/private-files';
import { userPaths } from '../../lib/client/node/user-home';
import { enrollUser } from '../../lib/client/owner-enroll';
import { indexImages } from '../../lib/client/owner-index';
import { createOwner, ownerClient } from '../../lib/client/owner-keys';
import { publishBuild } from '../../lib/client/owner-publish';
import { progressLines } from '../../lib/client/progress-lines';
import { formatSeconds } from '../../lib/client/units';
import { identifyImages } from '../../lib/client/user-identify';
import { searchImages } from '../../lib/client/user-search';
import type { ResultSink } from '../../lib/client/user-search';
import { keyRequestOf, openGrant, userClient } from '../../lib/client/user-session';
import { FileSecretStore } from '../../lib/storage/file-secret-store';
import { encodeUserSecret } from '../../lib/sei/key-formats';
import { generateUserSecret } from '../../lib/sei/user-key';
import type { WebServer } from '../local-cloud/web-server';
import type { GalleryImage } from './gallery';
import { balancedSubset, copySubset, GALLERY_DIR, galleryImages, labelOf } from './gallery';
import { serveWebPage } from './web-page';
import { parseUserId } from '../../lib/core/ids';
import type { ImageId } from '../../lib/core/ids';

/** Where the demo writes (a terminal gets a live progress line per step). */
export interface OutputStream {
  write(text: string): unknown;
  readonly isTTY?: boolean;
}

export interface DemoOptions {
  /** Images of the bundled gallery to use (balanced over the classes); default all. */
  readonly gallerySize?: number;
  /** Local cloud data folder; default: <workdir>/cloud. */
  readonly dataDir?: string;
  /** Pick free ports instead of the local cloud's defaults (4510...). */
  readonly freePorts?: boolean;
  /** Work folder for homes, gallery copy and results; default: a new temporary folder. */
  readonly workdir?: string;
  readonly he?: 'bfv' | 'she';
  /** Required with he 'she' (the paper's scheme, which is broken): also lets the demo's CS1 publish it. */
  readonly insecurePaperScheme?: boolean;
  /** Results per search. */
  readonly k?: number;
  /**
   * A deployed CS1 and CS2 (LocalStack, AWS) instead of the local cloud: CS1's API URL, and how
   * the owner's HE secret reaches CS2 (the operator's import into CS2's Secrets Manager).
   */
  readonly remote?: { readonly endpoint: string; importCs2Secret(secretFile: string): Promise<string> };
  /** Where the human report goes. */
  readonly out: OutputStream;
  /** Progress on the step line (on a terminal). */
  readonly progressBars?: boolean;
  /** Build (when stale) and serve the user web page beside the cloud. */
  readonly webPage?: boolean;
}

export interface DemoStep {
  readonly name: string;
  readonly ok: boolean;
  readonly ms: number;
  readonly detail?: string;
  readonly error?: string;
}

export interface DemoOutcome {
  readonly ok: boolean;
  readonly steps: DemoStep[];
  readonly workdir: string;
  readonly cloud?: LocalCloud;
  /** The user web page, when asked for (stop it with the cloud). */
  readonly web?: WebServer;
  readonly ownerHome: string;
  readonly userHome: string;
  readonly resultsDir: string;
  readonly models: NodeFeatureModels;
  readonly totalMs: number;
}

/** Classes of the held-out queries: three sealed searches, then one K-anonymous SEI search. */
const QUERY_CLASSES = ['sneaker', 'trouser', 'bag', 'dress'] as const;
const ANONYMITY = 4;
const DEMO_USER = 'demo-user';

const CLEAR_LINE = '\x1b[2K\r';

/** Held-out queries (one per query class, not indexed) and the images to index. */
function splitGallery(images: readonly GalleryImage[]): { queries: GalleryImage[]; indexed: GalleryImage[] } {
  const queries: GalleryImage[] = [];
  for (const label of QUERY_CLASSES) {
    const candidates = images.filter((image) => image.label === label);
    // The last of its class: small gallery sizes keep the first ones.
    if (candidates.length >= 2) queries.push(candidates[candidates.length - 1]);
  }
  const held = new Set(queries.map((q) => q.file));
  return { queries, indexed: images.filter((image) => !held.has(image.file)) };
}

/** Decrypted results as files, one folder per query. */
function resultFolder(dir: string): ResultSink {
  return {
    save: async (_query, rank, imageId, bytes, format) => {
      const file = join(dir, `${String(rank).padStart(2, '0')}-${imageId}.${format === 'jpeg' ? 'jpg' : (format ?? 'bin')}`);
      await writePrivateFile(file, bytes);
      return file;
    },
  };
}

export async function runDemo(options: DemoOptions): Promise<DemoOutcome> {
  const { out } = options;
  const started = performance.now();
  const steps: DemoStep[] = [];
  const log: string[] = [];
  const workdir = options.workdir ?? (await mkdtemp(join(tmpdir(), 'blindsight-demo-')));
  await mkdir(workdir, { recursive: true });
  const ownerHome = join(workdir, 'owner');
  const userHome = join(workdir, 'user');
  const resultsDir = join(workdir, 'results');
  const dataDir = options.dataDir ?? join(workdir, 'cloud');
  let currentStep = '';
  const bars = (options.progressBars ?? true) && out.isTTY === true;
  // Off a terminal, a long step still says every few seconds how far it is (indented under the step).
  const lines = progressLines((line) => out.write(`      ${line}`));
  // Workflow messages go to a log (shown for a failing step); on a terminal, progress replaces the step's pending line.
  const listener = (event: WorkflowEvent) => {
    if (event.type === 'info') log.push(event.message);
    else if (event.type === 'warning') log.push(`warning: ${event.message}`);
    else if (bars) {
      if (event.type === 'progress') out.write(`${CLEAR_LINE}  ... ${currentStep} [${event.step} ${event.done}/${event.total}]`);
    } else {
      lines(event);
    }
  };
  const models = createFeatureModels(() => listener);
  const k = options.k ?? 8;
  const he = options.he ?? 'bfv';
  const state: { cloud?: LocalCloud; web?: WebServer } = {};
  const cloudLog: string[] = [];

  const outcome = (ok: boolean): DemoOutcome => ({
    ok,
    steps,
    workdir,
    cloud: state.cloud,
    web: state.web,
    ownerHome,
    userHome,
    resultsDir,
    models,
    totalMs: performance.now() - started,
  });

  /** Runs one step: a tick and its time, or a cross with the reason (and the last messages). */
  const step = async <T>(name: string, work: () => Promise<T>, describe: (value: T) => string | undefined): Promise<T | undefined> => {
    log.length = 0;
    // On a terminal the pending line is overwritten by the result; elsewhere only results print.
    const tty = out.isTTY === true;
    currentStep = name;
    if (tty) out.write(`  ... ${name}`);
    const stepStarted = performance.now();
    try {
      const value = await work();
      const ms = performance.now() - stepStarted;
      const detail = describe(value);
      steps.push({ name, ok: true, ms, detail });
      out.write(`${tty ? CLEAR_LINE : ''}  \u2713 ${name} (${formatSeconds(ms)})\n`);
      if (detail) out.write(`${detail.replace(/^/gm, '      ')}\n`);
      return value;
    } catch (error) {
      const ms = performance.now() - stepStarted;
      const message = error instanceof Error ? error.message.split('\n')[0] : String(error);
      steps.push({ name, ok: false, ms, error: message });
      out.write(`${tty ? CLEAR_LINE : ''}  \u2717 ${name} (${formatSeconds(ms)}): ${message}\n`);
      for (const line of log.slice(-5)) out.write(`      ${line}\n`);
      const cloudErrors = cloudLog.filter((line) => /"level":"(error|ERROR)"/.test(line)).slice(-3);
      for (const line of cloudErrors) out.write(`      cloud: ${line.slice(0, 300)}\n`);
      return undefined;
    }
  };

  out.write(`Blindsight demo: search encrypted images (work folder ${workdir})\n`);
  const she = options.he === 'she';
  if (she && options.insecurePaperScheme !== true) throw new Error(`he 'she' needs insecurePaperScheme: ${SHE_IS_INSECURE}`);
  if (she) out.write(`warning: --insecure-paper-scheme: ${SHE_WARNING}\n`);

  // 1. The cloud: the local one, or a deployed one.
  let endpoint: string;
  if (options.remote !== undefined) {
    endpoint = options.remote.endpoint;
    out.write(`  CS1 at ${endpoint} (deployed; CS2 behind it)\n`);
  } else {
    const cloud = await step(
      'start the local cloud (CS1: API, DynamoDB, S3; CS2: decryption) as two processes',
      () =>
        startLocalCloud({
          dataDir,
          ...(options.freePorts ? { cs1Port: 0, cs2Port: 0, dynamodbPort: 0, s3Port: 0 } : { cs1Port: DEFAULT_PORTS.cs1, cs2Port: DEFAULT_PORTS.cs2, dynamodbPort: DEFAULT_PORTS.dynamodb, s3Port: DEFAULT_PORTS.s3 }),
          ...(she ? { allowInsecurePaperScheme: true } : {}),
          onLog: (account, line) => {
            cloudLog.push(`${account} ${line}`);
            if (cloudLog.length > 2000) cloudLog.splice(0, 1000);
          },
        }),
      (c) => `CS1 ${c.cs1Url}   CS2 ${c.cs2Url}   data ${c.dataDir}`,
    );
    if (cloud === undefined) return outcome(false);
    state.cloud = cloud;
    endpoint = cloud.cs1Url;
  }

  // 2. The gallery: a balanced subset, minus the held-out queries.
  const all = await galleryImages();
  const chosen = options.gallerySize !== undefined ? balancedSubset(all, options.gallerySize) : all;
  const { queries, indexed } = splitGallery(chosen);
  const galleryDir = join(workdir, 'gallery');
  const queryDir = join(workdir, 'queries');
  await copySubset(indexed, galleryDir, GALLERY_DIR);
  await copySubset(queries, queryDir, GALLERY_DIR);

  // The owner and the user keep their state in homes the CLI reads, so the printed commands work after the demo.
  const owner = await step(
    'owner init: signing key, SEI owner secret (d = 128), image key; register with CS1',
    async () => {
      const created = await createOwner(endpoint, 128);
      await saveNewOwner(ownerHome, created.owner);
      return created.owner;
    },
    (o) => `owner id ${o.config.ownerId}`,
  );
  if (owner === undefined) return outcome(false);
  const paths = ownerPaths(ownerHome);

  const build = await step(
    `owner index: ${indexed.length} Fashion-MNIST images -> CNN features, PCA, sealed index, SEI index tree, AES-GCM images, ${he} identification index`,
    async () => {
      const staged = await stageBuild(paths);
      try {
        const built = await indexImages(
          {
            owner,
            images: await listImageFolder(galleryDir),
            label: galleryDir,
            models,
            sink: staged,
            model: DEFAULT_MODEL_CHOICE,
            kinds: ['sealed', 'sei'],
            twoServer: { he, allowInsecurePaperScheme: she },
          },
          listener,
        );
        await staged.commit(built.manifest);
        return built;
      } catch (error) {
        await staged.abort();
        throw error;
      }
    },
    ({ summary: r }) =>
      `${r.images} images, ${r.skipped.length} skipped; PCA to ${r.pcaComponents} components (d = ${r.d})\n` +
      `sealed "${r.sealed?.indexName}": ${r.sealed?.leafCount} leaves, ${r.sealed?.realLeaves} of ${r.sealed?.leavesPerQuery} read per query; SEI "${r.sei?.indexName}": ${r.sei?.leafCount} leaves, depth ${r.sei?.depth}\n` +
      `features ${formatSeconds(r.ms.features)}, sealed ${formatSeconds(r.ms.sealed ?? 0)}, tree ${formatSeconds(r.ms.tree ?? 0)}, images ${formatSeconds(r.ms.images)}, two-server ${formatSeconds(r.ms.twoServer ?? 0)}`,
  );
  if (build === undefined) return outcome(false);
  const { manifest } = build;

  const published = await step(
    'owner publish: encrypted images and index parts to S3, atomic publish, HE secret to CS2',
    async () => {
      const store = new FileSecretStore(dataLayout(dataDir).keyDir);
      const result = await publishBuild(
        {
          owner,
          client: await ownerClient(endpoint, owner),
          manifest,
          build: buildSource(paths),
          handOverCs2Secret: async (keyId, material) => {
            if (options.remote !== undefined) {
              // A deployed CS2: its operator imports the secret file into CS2's Secrets Manager.
              const imported = await options.remote.importCs2Secret(buildPath(paths.indexDir, BUILD_FILES.cs2Secret));
              return { imported: true, path: imported || `CS2's Secrets Manager (key ${keyId})` };
            }
            await store.put(keyId, material);
            return { imported: true, path: store.pathOf(keyId) };
          },
        },
        listener,
      );
      await savePublished(paths, result.published);
      return result;
    },
    (r) =>
      `sealed index "${r.sealed?.indexName}" version ${r.sealed?.version}; SEI index "${r.sei?.indexName}" version ${r.sei?.version}; ` +
      `identification index "${r.twoServer?.indexName}" version ${r.twoServer?.version}`,
  );
  if (published === undefined) return outcome(false);

  const session = await step(
    `enroll "${DEMO_USER}": user request-key (W) -> owner enroll (Abar, U, token) -> user import`,
    async () => {
      const user = userPaths(userHome);
      const secret = generateUserSecret(owner.config.d);
      const secretBytes = encodeUserSecret(secret);
      await ensurePrivateDir(userHome);
      await writePrivateFile(user.secret, secretBytes);
      const request = keyRequestOf(secretBytes, owner.config.d);
      await writePrivateJson(user.request, request);
      const build = buildSource(paths);
      const enrolled = await enrollUser({
        owner,
        client: await ownerClient(endpoint, owner),
        userId: parseUserId(DEMO_USER),
        ...decodeKeyRequest(request),
        manifest,
        pca: await build.get(BUILD_FILES.pca, 'the PCA model'),
        decoys: await build.get(BUILD_FILES.decoys, 'the decoy pool'),
        indexKey: await build.get(BUILD_FILES.sealedKey, 'the sealed index key'),
        endpoint,
        ...(published.sei ? { publishedVersion: published.sei.version } : {}),
      });
      await saveUsers(paths, { users: { [DEMO_USER]: { enrolledAt: enrolled.grant.issuedAt, status: 'active', tokenExpiresAt: enrolled.tokenExpiresAt } } });
      await writePrivateJson(join(paths.grantsDir, `${DEMO_USER}.grant.json`), enrolled.grant);
      await writePrivateJson(user.grant, enrolled.grant);
      return openGrant(JSON.parse(JSON.stringify(enrolled.grant)), secretBytes, secret, 'the grant');
    },
    (s) => `user "${s.grant.userId}" of owner ${s.grant.ownerId.slice(0, 12)}..., token valid until ${s.grant.tokenExpiresAt}`,
  );
  if (session === undefined) return outcome(false);
  const client = userClient(session, endpoint);

  // Image id -> gallery file, to show classes (the owner's manifest; the user sees only ids).
  const fileOf = new Map(manifest.images.map((image) => [image.imageId, basename(image.file)]));
  const labels = (ids: readonly ImageId[]) => ids.map((id) => labelOf(fileOf.get(id) ?? '') ?? '?');

  let allOk = true;
  for (const [i, query] of queries.entries()) {
    const anonymous = i === queries.length - 1;
    const name = anonymous
      ? `user search --kind sei ${query.file} with K-anonymity (K = ${ANONYMITY}): CS1 ranks encrypted vectors, top ${k}, decrypted locally`
      : `user search ${query.file} (sealed): CS1 hands out leaves, ranked here, top ${k}, decrypted locally`;
    const folder = join(resultsDir, query.file.replace(/\.png$/, ''));
    const result = await step(
      name,
      async () => {
        const r = await searchImages(
          {
            session,
            client,
            models,
            queries: [fileEntry(join(queryDir, query.file), query.file)],
            kind: anonymous ? 'sei' : 'sealed',
            k,
            anonymity: anonymous ? ANONYMITY : 1,
            results: resultFolder(folder),
            skipUnusable: false,
          },
          listener,
        );
        const rows = r.queries[0].results;
        if (rows.length !== Math.min(k, indexed.length)) throw new Error(`expected ${Math.min(k, indexed.length)} results, got ${rows.length}`);
        return r;
      },
      (r) => {
        const classes = labels(r.queries[0].results.map((row) => row.imageId));
        const hits = classes.filter((label) => label === query.label).length;
        return (
          `results: ${classes.join(', ')}\n` +
          `${hits}/${classes.length} of class "${query.label}"; search ${formatSeconds(r.ms.search)}` +
          `${anonymous ? ` (${ANONYMITY - 1} decoy queries, ${r.downloaded} envelopes downloaded)` : r.sealed ? ` (${r.sealed.realLeaves} real among ${r.sealed.leavesPerQuery} leaves)` : ''}; decrypted into ${folder}`
        );
      },
    );
    allOk &&= result !== undefined;
  }

  const target = indexed[Math.floor(indexed.length / 2)];
  const identified = await step(
    `user identify ${target.file}: encrypted embedding -> CS1 <-> CS2 (${he}), nearest 3`,
    async () => {
      const r = await identifyImages({ session, client, models, queries: [fileEntry(join(galleryDir, target.file), target.file)], mode: { k: 3 }, skipUnusable: false }, listener);
      const top = r.queries[0].matches[0];
      if (top === undefined || fileOf.get(top) !== target.file) {
        throw new Error(`the nearest template should be the image itself, got ${top ? (fileOf.get(top) ?? top) : 'no match'}`);
      }
      return r;
    },
    (r) =>
      r.queries[0].matches.map((id, i) => `${i + 1}. ${id} = ${fileOf.get(id) ?? '?'}`).join('\n') + `\nidentification ${formatSeconds(r.ms.identify)}`,
  );
  allOk &&= identified !== undefined;

  const localCloud = state.cloud;
  if (options.webPage && localCloud !== undefined) {
    const user = userPaths(userHome);
    state.web = await step(
      'web page: built when stale, served beside the cloud (features, search and decryption in the browser)',
      () => serveWebPage(localCloud),
      (web) => `${web.url} (${web.built ? 'built now' : 'build reused'}); import ${user.grant} with ${user.secret}`,
    );
    allOk &&= state.web !== undefined;
  }

  await writeFile(join(workdir, 'cloud.log'), `${cloudLog.join('\n')}\n`).catch(() => {});
  return outcome(allOk);
}
