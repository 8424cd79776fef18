import { cpSync, readFileSync } from 'node:fs';
import { basename, dirname, join, relative, sep } from 'node:path';
import * as esbuild from 'esbuild';

/** A package that reads files beside its own sources at run time (`__dirname`): they are copied beside the bundle. */
export interface PackageAssets {
  /** The package's directory, e.g. node_modules/@fastify/swagger-ui */
  packageDir: string;
  /** Folders of the package to copy, relative to packageDir, e.g. ['static'] */
  folders: string[];
  /** Where the package's files appear to live, relative to the bundle's directory, e.g. 'swagger-ui' */
  bundleSubdir: string;
}

export interface BundleOptions {
  entry: string;
  outfile: string;
  version: string;
  assets?: PackageAssets[];
  /**
   * Code behind dynamic import() goes into chunk files beside the entry and is read only when first imported: a
   * daemon at rest then never holds the source of what it does not run (the agent's steps, its X.509 enrollment).
   */
  splitting?: boolean;
}

export interface BundleResult {
  outfile: string;
  bytes: number;
}

// grpc-js and other CommonJS inputs call require() on built-ins, which ESM output lacks.
const banner = [
  "import { createRequire as __kubehaCreateRequire } from 'node:module';",
  "import { fileURLToPath as __kubehaFileURLToPath } from 'node:url';",
  'const require = __kubehaCreateRequire(import.meta.url);',
  'const __kubehaFilename = __kubehaFileURLToPath(import.meta.url);',
  "const __kubehaDirname = __kubehaFileURLToPath(new URL('.', import.meta.url)).replace(/\\/$/, '');",
].join('\n');

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Gives each file of an asset-reading package the `__dirname` it would have if the package sat beside the bundle. */
function packageAssetsPlugin(assets: PackageAssets[]): esbuild.Plugin {
  return {
    name: 'kubeha-package-assets',
    setup(build) {
      for (const asset of assets) {
        const filter = new RegExp(`^${escapeRegExp(asset.packageDir + sep)}.*\\.[cm]?js$`);
        build.onLoad({ filter }, (args) => {
          const subdir = [asset.bundleSubdir, relative(asset.packageDir, dirname(args.path))]
            .filter((part) => part !== '')
            .join('/');
          const source = readFileSync(args.path, 'utf8');
          const prologue = `var __dirname = __kubehaDirname + ${JSON.stringify(`/${subdir}`)};\n`;
          return { contents: prologue + source, loader: 'js' };
        });
      }
    },
  };
}

/** Bundles one program into a single ESM file for the bundled Node.js 24, with the version fixed at build time. */
export async function bundleProgram(options: BundleOptions): Promise<BundleResult> {
  const assets = (options.assets ?? []).map((asset) => ({ ...asset, packageDir: asset.packageDir.replace(/\/$/, '') }));
  const output = options.splitting
    ? {
        // Chunks sit beside the entry, so import.meta.url-relative paths (the protos) resolve as in a single file.
        outdir: dirname(options.outfile),
        entryNames: basename(options.outfile).replace(/\.mjs$/, ''),
        chunkNames: `${basename(options.outfile).replace(/\.mjs$/, '')}-[name]-[hash]`,
        outExtension: { '.js': '.mjs' },
        splitting: true,
      }
    : { outfile: options.outfile };
  const result = await esbuild.build({
    entryPoints: [options.entry],
    ...output,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node24',
    banner: { js: banner },
    define: {
      __dirname: '__kubehaDirname',
      __filename: '__kubehaFilename',
      'globalThis.KUBEHA_VERSION': JSON.stringify(options.version),
    },
    minify: true,
    keepNames: true,
    legalComments: 'none',
    metafile: true,
    logLevel: 'warning',
    plugins: [packageAssetsPlugin(assets)],
  });
  for (const asset of assets) {
    for (const folder of asset.folders) {
      cpSync(join(asset.packageDir, folder), join(dirname(options.outfile), asset.bundleSubdir, folder), {
        recursive: true,
      });
    }
  }
  const bytes = Object.values(result.metafile.outputs).reduce((sum, file) => sum + file.bytes, 0);
  return { outfile: options.outfile, bytes };
}
