/**
 * The web page beside the local cloud: built (or reused when up to date) and served with the
 * headers CloudFront sends, allowed to talk to this cloud's CS1 API and S3 only.
 */
import type { LocalCloud } from '../local-cloud/cloud';
import { startWebServer } from '../local-cloud/web-server';
import type { WebServer } from '../local-cloud/web-server';
import { originOf } from '../../lib/web/security-headers';
import { ensureWebPage } from '../web/build';

export async function serveWebPage(cloud: LocalCloud, port = 0): Promise<WebServer & { built: boolean }> {
  const { dir, built } = await ensureWebPage();
  const server = await startWebServer({
    root: dir,
    port,
    origins: { api: [originOf(cloud.cs1Url)], storage: [originOf(cloud.endpoints.cs1.s3Endpoint)] },
  });
  return { ...server, built };
}
