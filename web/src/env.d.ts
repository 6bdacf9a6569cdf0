/// <reference types="vite/client" />

/** Bundled model id -> version of the npm package its weights came from (set by vite.config.ts). */
declare const __BLINDSIGHT_SERVED_MODELS__: Readonly<Record<string, string>>;
