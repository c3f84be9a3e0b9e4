// The package's haplay is a few bundled files (esbuild) instead of ~150 ES modules: resolving and
// loading them was most of a short run's start-up. Usage: node packaging/bundle.mjs LIBDIR
// Writes LIBDIR/dist/cli/index.js (where the CLI finds ../../package.json), the chunks it loads
// and the precompiled validators beside it. Dependencies that src/core/lazy.ts loads on first use (and pg, only for
// pg-replicate) stay outside, in LIBDIR/node_modules, so they still load only when needed.
import { build } from 'esbuild';
import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';

const lib = process.argv[2];
if (!lib) throw new Error('usage: node packaging/bundle.mjs LIBDIR');
const out = join(lib, 'dist/cli');
mkdirSync(out, { recursive: true });
await build({
  entryPoints: ['dist/cli/index.js'],
  outdir: out,
  // Chunks: --version still answers before yargs loads, --help before the engine, as in dist/.
  splitting: true,
  chunkNames: 'haplay-[hash]',
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  external: ['ssh2', 'node-ssh', 'diff', 'listr2', 'jexl', 'handlebars', 'handlebars/*', 'pg', 'pg-copy-streams', 'ajv', 'ajv-formats', './validators.generated.cjs'],
  // CommonJS code inside the bundle (yargs' helpers, yaml...) calls require: give it the real one.
  banner: { js: "import { createRequire as __haplayRequire } from 'node:module'; const require = __haplayRequire(import.meta.url);" },
  legalComments: 'inline',
  logLevel: 'warning',
});
copyFileSync('dist/core/validators.generated.cjs', join(out, 'validators.generated.cjs'));
