/**
 * How each handler is bundled: the esbuild options the CDK's NodejsFunction uses (`bundling`), and
 * the same options in esbuild's own API form (`esbuildOptionsFor`), which the bundle tests and
 * benchmarks use so that what is tested is what is deployed.
 *
 * - ESM for Node 24 (Lambda nodejs24.x), minified, with source maps (no sources content: smaller).
 * - mainFields module,main: prefer the ESM builds of dependencies (tree-shaking).
 * - The banner gives bundled CommonJS code a `require` (ESM has none).
 * - The AWS SDK is bundled (bundleAwsSDK; the only externals are native `.node` add-ons): the version we tested is the version that
 *   runs, instead of whatever SDK the Lambda runtime happens to ship; bundled, esbuild also drops
 *   the parts we do not use.
 * - No code splitting (NodejsFunction produces one file), so lazily loaded plug-ins (the Kubernetes
 *   client) are in the bundle but stay uninitialised until a dynamic import() reaches them.
 */
import { OutputFormat, SourceMapMode, type BundlingOptions } from 'aws-cdk-lib/aws-lambda-nodejs';
import type { BuildOptions } from 'esbuild';

const banner = "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);";

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
    external: bundling.externalModules!,
    logLevel: 'warning',
  };
}
