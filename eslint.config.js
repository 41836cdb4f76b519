// ESLint for the tree's JavaScript, run by tests/test_lint.py beside ruff (any warning fails the suite).
// Plain ES modules, no build step: each file gets the globals of every place it runs, and only those.
//   - the patrol app's modules run in the page (browser globals);
//   - the modules the service worker imports (found by following sw.js's imports) run in the worker too, so
//     they get only what page and worker share: `document` or `window` there is an error, not a crash offline;
//   - the modules the node unit tests import run under node as well (page ∩ node);
//   - sw.js itself: service-worker globals, plus VERSION and SHELL, which the server prepends;
//   - the dashboard's scripts: browser; the node tests and this file: node.
// Lines are measured as ruff measures them (a Chinese character is two columns wide), at ruff's 120.
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import js from '@eslint/js';
import globals from 'globals';
import stringWidth from 'string-width';

const HERE = path.dirname(fileURLToPath(import.meta.url));  // file patterns are relative to this folder
const LINE_WIDTH = 120;  // pyproject.toml [tool.ruff] line-length
const APP = 'web/patrol_app';
const NODE_TESTS = 'tests/patrol_app/js';

// Static relative imports of a module: import … from './x.js', import './x.js', export … from './x.js'.
const IMPORT = /^\s*(?:import|export)\s(?:[^'"]*?\sfrom\s*)?['"](\.{1,2}\/[^'"]+)['"]/gm;

// The files a set of entry modules load, entries included, as paths relative to this folder. The service
// worker is served as /app/sw.js, so its imports resolve from the app's folder, not from static/.
function loadedBy(entries) {
  const seen = new Set();
  const visit = (file, base = path.dirname(file)) => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const [, spec] of readFileSync(path.join(HERE, file), 'utf8').matchAll(IMPORT)) visit(path.join(base, spec));
  };
  for (const [file, base] of entries) visit(file, base);
  return [...seen];
}

const worker = loadedBy([[`${APP}/static/sw.js`, APP]]).filter((f) => !f.endsWith('/sw.js'));
const underNode = loadedBy(readdirSync(path.join(HERE, NODE_TESTS)).map((name) => [path.join(NODE_TESTS, name)]))
  .filter((f) => f.startsWith(`${APP}/`));
// A module the worker or node loads too may use only the globals every place it runs in has.
const common = (...sets) => Object.fromEntries(Object.entries(sets[0])
  .filter(([name]) => sets.every((s) => name in s)));
const shared = [...new Set([...worker, ...underNode])].map((file) => ({
  files: [file],
  languageOptions: { globals: common(globals.browser, ...(worker.includes(file) ? [globals.serviceworker] : []),
    ...(underNode.includes(file) ? [globals.node] : [])) },
}));

// max-width: ruff's E501 measure (display width; East Asian wide characters count two), not code points.
const maxWidth = {
  meta: { type: 'layout', schema: [{ type: 'integer', minimum: 1 }],
    messages: { long: 'Line is {{width}} columns wide (limit {{limit}}, measured as ruff measures).' } },
  create(context) {
    const limit = context.options[0] ?? LINE_WIDTH;
    return {
      Program() {
        context.sourceCode.lines.forEach((line, i) => {
          const width = stringWidth(line);
          if (width > limit) {
            context.report({ loc: { line: i + 1, column: 0 }, messageId: 'long', data: { width, limit } });
          }
        });
      },
    };
  },
};

export default [
  { ignores: ['.venv/', 'build/', 'dist/', 'instance/', 'test-artifacts/', 'bench/results/'] },
  js.configs.recommended,
  {
    plugins: { gridpatrol: { rules: { 'max-width': maxWidth } } },
    linterOptions: { reportUnusedDisableDirectives: 'error', reportUnusedInlineConfigs: 'error' },
    languageOptions: { ecmaVersion: 2022, sourceType: 'module' },
    rules: {
      'gridpatrol/max-width': ['error', LINE_WIDTH],
      'no-var': 'error',
      'prefer-const': 'error',
      eqeqeq: ['error', 'always', { null: 'ignore' }],
    },
  },
  {
    files: [`${APP}/static/**/*.js`, 'web/dashboard/static/**/*.js'],
    ignores: [`${APP}/static/sw.js`, ...worker, ...underNode],
    languageOptions: { globals: globals.browser },
  },
  ...shared,
  {
    files: [`${APP}/static/sw.js`],
    languageOptions: { globals: { ...globals.serviceworker, VERSION: 'readonly', SHELL: 'readonly' } },
  },
  { files: ['**/*.mjs', 'eslint.config.js'], languageOptions: { globals: globals.node } },
];
