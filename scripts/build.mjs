// Builds the package: tsc emits CommonJS and types into dist/, then an ES-module entry re-exports them by name.
import { execFileSync } from 'node:child_process';
import { chmodSync, cpSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const dist = path.join(root, 'dist');
rmSync(dist, { recursive: true, force: true });
// No source maps in the package: they would point at src/, which is not shipped.
execFileSync(
  process.execPath,
  [
    path.join(root, 'node_modules', 'typescript', 'bin', 'tsc'),
    '-p',
    path.join(root, 'tsconfig.json'),
    '--sourceMap',
    'false',
  ],
  {
    stdio: 'inherit',
  },
);

// The `udapi` command line runs as a program when installed (npm links the bin; the mode helps a direct run).
chmodSync(path.join(dist, 'cli', 'udapi.js'), 0o755);

// The admin web UI is plain browser files: shipped as they are, next to the code that serves them.
cpSync(path.join(root, 'src', 'ui'), path.join(dist, 'ui'), { recursive: true });

// Named ESM exports generated from the built CommonJS module, so `import { x }` works without a second build.
const require = createRequire(import.meta.url);
const names = Object.keys(require(path.join(dist, 'index.js'))).filter(
  (name) => name !== 'default' && name !== '__esModule',
);
writeFileSync(
  path.join(dist, 'index.mjs'),
  `// ES-module entry of the package: re-exports the CommonJS build by name.\nimport cjs from './index.js';\n\n${names
    .map((name) => `export const ${name} = cjs.${name};`)
    .join('\n')}\nexport default cjs;\n`,
);
// Its types: the same names, and the default export (the CommonJS module itself, as index.mjs exports it).
writeFileSync(
  path.join(dist, 'index.d.mts'),
  "import * as cjs from './index.js';\n\nexport * from './index.js';\nexport default cjs;\n",
);
console.log(`Built dist/ (${names.length} exports: ${names.join(', ')})`);
