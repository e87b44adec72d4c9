/**
 * How each handler is bundled: the esbuild options the CDK's NodejsFunction uses (`bundling`), and
 * the same options in esbuild's own API form (`esbuildOptionsFor`), which the bundle tests and
 * benchmarks use so that what is tested is what is deployed.
 *
 * - ESM for Node 24 (Lambda nodejs24.x), minified, with source maps (no sources content: smaller).
 * - mainFields module,main: prefer the ESM builds of dependencies (tree-shaking).
 * - The banner gives bundled CommonJS code `require`, `__filename` and `__dirname` (ESM has none).
 * - The AWS SDK is bundled (bundleAwsSDK; the only externals are native `.node` add-ons): the version we tested is the version that
 *   runs, instead of whatever SDK the Lambda runtime happens to ship; bundled, esbuild also drops
 *   the parts we do not use.
 * - No code splitting (NodejsFunction produces one file). The plug-ins' own code is in the bundle
 *   but stays uninitialised until a dynamic import() reaches it; their large client libraries
 *   (Kubernetes) is a `nodeModules` entry, installed beside the bundle and loaded only then.
 */
import { OutputFormat, SourceMapMode, type BundlingOptions } from 'aws-cdk-lib/aws-lambda-nodejs';
import type { BuildOptions } from 'esbuild';

// ESM has no require, __filename or __dirname; bundled CommonJS code (dockerode, grpc-js) uses all three.
const banner = [
  "import { createRequire as __createRequire } from 'node:module';",
  "import { fileURLToPath as __fileURLToPath } from 'node:url';",
  "import { dirname as __pathDirname } from 'node:path';",
  'const require = __createRequire(import.meta.url);',
  'const __filename = __fileURLToPath(import.meta.url);',
  'const __dirname = __pathDirname(__filename);',
].join(' ');

export const bundling: BundlingOptions = {
  format: OutputFormat.ESM,
  target: 'node24',
  minify: true,
  sourceMap: true,
  sourceMapMode: SourceMapMode.DEFAULT,
  sourcesContent: false,
  banner,
  mainFields: ['module', 'main'],
  // Only native add-ons stay out: ssh2 (under dockerode) loads its optional `.node` crypto and
  // cpu-features inside try/catch and falls back to JavaScript; we never use SSH to reach Docker anyway.
  externalModules: ['*.node'],
  // The Kubernetes client (1.3 MB with undici) is installed next to the bundle (NodejsFunction runs
  // npm with our lock file, so the version stays pinned) instead of inside it: a cold start parses
  // the whole bundle file (~200 ms for 4 MB here, see bench/bundles.bench.ts), while a package left
  // in node_modules costs nothing until shared/targets/kubernetes/client.ts import()s it. Only a
  // package that our code reaches by dynamic import() may be listed: esbuild hoists a static import
  // of an external package to the top of the bundle, which would load it at every cold start.
  nodeModules: ['@kubernetes/client-node'],
  bundleAwsSDK: true,
  forceDockerBundling: false,
};

/** The handlers, by function name; entry paths relative to the repository root. */
export const handlerEntries = {
  evaluate: 'functions/evaluate/handler.ts',
  alarm: 'functions/alarm/handler.ts',
} as const;

/** `bundling` as esbuild's build options (what NodejsFunction passes on its command line). */
export function esbuildOptionsFor(entry: string, outfile: string): BuildOptions {
  return {
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: 'node',
    format: bundling.format === OutputFormat.ESM ? 'esm' : 'cjs',
    target: bundling.target!,
    minify: bundling.minify!,
    sourcemap: bundling.sourceMap ? true : false,
    sourcesContent: bundling.sourcesContent!,
    mainFields: bundling.mainFields!,
    banner: { js: bundling.banner! },
    // NodejsFunction marks nodeModules external too, and installs them beside the bundle.
    external: [...bundling.externalModules!, ...bundling.nodeModules!],
    logLevel: 'warning',
  };
}
