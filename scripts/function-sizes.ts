/**
 * Product code size, read with the TypeScript compiler: every function longer than N lines, and the product
 * source line count per folder. Tests, benchmarks, test kits and generated files are not product code.
 *
 *   npx tsx scripts/function-sizes.ts [--over 80] [--lines] [folder …]     (default folders: electron gateway shared renderer)
 *
 * A function's size is its lines from its first to its last (nested functions count inside their parent too, and
 * are listed on their own). React components (a function in a .tsx file that returns JSX) are marked `jsx`.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import ts from 'typescript';

/** Not product code: tests, benchmarks, test kits, mocks and generated files. */
const NOT_PRODUCT = [/\.test\./, /\.spec\./, /^test\//, /(^|\/)bench\//, /testkit/, /test-support/, /testing/, /test-helpers/, /test-images/, /\.wasm\.ts$/, /\.d\.ts$/, /\.config\./, /(^|\/)node_modules\//, /(^|\/)dist\//];

export interface FunctionSize {
  file: string;
  name: string;
  line: number;
  lines: number;
  jsx: boolean;
}

export function isProductSource(path: string): boolean {
  return /\.(ts|tsx|mts|mjs)$/.test(path) && !NOT_PRODUCT.some((re) => re.test(path));
}

export function productFiles(root: string, folder: string): string[] {
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir)) {
      const full = join(dir, name);
      if (statSync(full).isDirectory()) {
        if (name !== 'node_modules' && name !== 'dist') walk(full);
      } else if (isProductSource(relative(root, full))) out.push(full);
    }
  };
  walk(join(root, folder));
  return out.sort();
}

function functionName(node: ts.Node, sf: ts.SourceFile): string {
  const named = (node as { name?: ts.Node }).name;
  if (named !== undefined) return named.getText(sf);
  const parent = node.parent;
  if (ts.isVariableDeclaration(parent) || ts.isPropertyAssignment(parent) || ts.isPropertyDeclaration(parent)) return parent.name.getText(sf);
  if (ts.isCallExpression(parent)) return `(callback of ${parent.expression.getText(sf).slice(0, 40)})`;
  return '(anonymous)';
}

function containsJsx(node: ts.Node): boolean {
  let found = false;
  const visit = (n: ts.Node): void => {
    if (found) return;
    if (ts.isJsxElement(n) || ts.isJsxSelfClosingElement(n) || ts.isJsxFragment(n)) found = true;
    else ts.forEachChild(n, visit);
  };
  visit(node);
  return found;
}

/** Every function-like node of one file with its size in lines. */
export function functionSizes(file: string, display = file): FunctionSize[] {
  const text = readFileSync(file, 'utf8');
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true, file.endsWith('x') ? ts.ScriptKind.TSX : ts.ScriptKind.TS);
  const out: FunctionSize[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isFunctionLike(node) && (node as ts.FunctionLikeDeclaration).body !== undefined) {
      const start = sf.getLineAndCharacterOfPosition(node.getStart(sf)).line;
      const end = sf.getLineAndCharacterOfPosition(node.getEnd()).line;
      out.push({ file: display, name: functionName(node, sf), line: start + 1, lines: end - start + 1, jsx: file.endsWith('.tsx') && containsJsx(node) });
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return out;
}

function countLines(file: string): number {
  const text = readFileSync(file, 'utf8');
  return text.length === 0 ? 0 : text.split('\n').length - (text.endsWith('\n') ? 1 : 0);
}

function main(argv: string[]): void {
  let over = 80;
  const folders: string[] = [];
  for (let i = 0; i < argv.length; i += 1) {
    const a = argv[i] as string;
    if (a === '--over') over = Number(argv[(i += 1)]);
    else if (!a.startsWith('--')) folders.push(a);
  }
  const roots = folders.length > 0 ? folders : ['electron', 'gateway', 'shared', 'renderer'];
  const root = process.cwd();
  const rows: FunctionSize[] = [];
  for (const folder of roots) {
    const files = productFiles(root, folder);
    if (argv.includes('--lines')) console.log(`${folder}: ${files.length} product files, ${files.reduce((n, f) => n + countLines(f), 0)} lines`);
    for (const f of files) rows.push(...functionSizes(f, relative(root, f)).filter((r) => r.lines > over));
  }
  rows.sort((a, b) => b.lines - a.lines);
  console.log(`${rows.length} functions over ${over} lines${rows.some((r) => r.jsx) ? ` (${rows.filter((r) => !r.jsx).length} without JSX)` : ''}`);
  for (const r of rows) console.log(`${String(r.lines).padStart(5)}  ${r.file}:${r.line}  ${r.name}${r.jsx ? '  jsx' : ''}`);
}

if (process.argv[1] !== undefined && /function-sizes\.ts$/.test(process.argv[1])) main(process.argv.slice(2));
