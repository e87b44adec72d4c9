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
 *   (Kubernetes, dockerode, ioredis) are `nodeModules` entries, installed beside the bundle and
 *   loaded only then.
 */
import { OutputFormat, SourceMapMode, type BundlingOptions } from 'aws-cdk-lib/aws-lambda-nodejs';
import type { BuildOptions } from 'esbuild';

// ESM has no require, __filename or __dirname; bundled CommonJS code may use all three.
const banner = [
  "import { createRequire as __createRequire } from 'node:module';",
  "import { fileURLToPath as __fileURLToPath } from 'node:url';",
  "import { dirname as __pathDirname } from 'node:path';",
  'const require = __createRequire(import.meta.url);',
  'const __filename = __fileURLToPath(import.meta.url);',
  'const __dirname = __pathDirname(__filename);',
].join(' ');

/** Packages left out of the bundle and loaded by dynamic import() only when a policy needs them. */
export const lazyPackages = [
  '@kubernetes/client-node',
  // Parses a kubeconfig (the Kubernetes target, local runs only: Lambda uses EKS endpoints); ~100 KiB a cold start need not parse.
  'yaml',
  'dockerode',
  'ioredis',
  '@aws-sdk/client-elasticache',
  '@aws-sdk/client-eks',
  '@aws-sdk/client-sts',
  '@aws-sdk/client-secrets-manager',
  '@aws-sdk/client-kms',
  // Only the dispatcher of a deployment large enough to fan out, and the worker, talk to SQS.
  '@aws-sdk/client-sqs',
] as const;

export const bundling: BundlingOptions = {
  format: OutputFormat.ESM,
  target: 'node24',
  minify: true,
  sourceMap: true,
  sourceMapMode: SourceMapMode.DEFAULT,
  sourcesContent: false,
  banner,
  mainFields: ['module', 'main'],
  // Native add-ons never go into a JavaScript bundle (none of the bundled packages needs one).
  externalModules: ['*.node'],
  // The plug-ins' client libraries are installed next to the bundle (NodejsFunction runs npm with
  // our lock file, so the versions stay pinned) instead of inside it: a cold start compiles the
  // whole bundle file (see bench/bundles.bench.ts), while a package left in node_modules costs
  // nothing until its one user import()s it: the Kubernetes client (1.3 MB with undici;
  // shared/plugins/targets/kubernetes/client.ts), dockerode (~900 KB with ssh2 and grpc-js;
  // shared/plugins/targets/docker/client.ts), ioredis (~170 KB; shared/plugins/metrics/redis/source.ts), and the AWS SDK
  // clients only some policies use (ElastiCache, EKS and STS, Secrets Manager: ~210 KB minified,
  // shared/aws/clients.ts; CloudWatch and DynamoDB, which every evaluation uses, stay bundled). Only a package
  // that our code reaches by dynamic import() alone may be listed: esbuild hoists a static import
  // of an external package to the top of the bundle, which would load it at every cold start.
  nodeModules: [...lazyPackages],
  // npm ci without install scripts: ssh2 (under dockerode) would otherwise compile its optional
  // crypto add-on for the build machine, not for the Lambda's arm64; it falls back to JavaScript.
  // prefer-offline: the project's own `npm ci` already put these exact tarballs in npm's cache, so
  // synth needs no registry (it still falls back to one when the cache lacks them).
  commandHooks: {
    beforeBundling: () => [],
    beforeInstall: (_inputDir, outputDir) => [`printf 'ignore-scripts=true\\nprefer-offline=true\\naudit=false\\nfund=false\\n' > "${outputDir}/.npmrc"`],
    afterBundling: (_inputDir, outputDir) => [`rm -f "${outputDir}/.npmrc"`],
  },
  bundleAwsSDK: true,
  forceDockerBundling: false,
};

/** The handlers, by function name; entry paths relative to the repository root. */
export const handlerEntries = {
  evaluate: 'functions/evaluate/handler.ts',
  alarm: 'functions/alarm/handler.ts',
  worker: 'functions/worker/handler.ts',
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
