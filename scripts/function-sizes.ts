/**
 * Product functions longer than N lines (React components marked `jsx`; nested functions count in their parent too)
 * and product source lines per folder, read with the TypeScript compiler. Usage: scripts/README.md.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import ts from 'typescript';

const NOT_PRODUCT = /\.test\.|\.spec\.|^test\/|(^|\/)(bench|node_modules|dist)\/|testkit|test-support|testing|test-helpers|test-images|\.wasm\.ts$|\.d\.ts$|\.config\./;
const isProduct = (path: string): boolean => /\.(ts|tsx|mts|mjs)$/.test(path) && !NOT_PRODUCT.test(path);

function productFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = join(dir, name);
    if (statSync(full).isDirectory()) return name === 'node_modules' || name === 'dist' ? [] : productFiles(full);
    return isProduct(relative(process.cwd(), full)) ? [full] : [];
  });
}

function functionSizes(file: string): { name: string; line: number; lines: number; jsx: boolean }[] {
  const text = readFileSync(file, 'utf8');
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true, file.endsWith('x') ? ts.ScriptKind.TSX : ts.ScriptKind.TS);
  const out: { name: string; line: number; lines: number; jsx: boolean }[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isFunctionLike(node) && (node as ts.FunctionLikeDeclaration).body !== undefined) {
      const start = sf.getLineAndCharacterOfPosition(node.getStart(sf)).line;
      const end = sf.getLineAndCharacterOfPosition(node.getEnd()).line;
      const named = (node as { name?: ts.Node }).name ?? (ts.isVariableDeclaration(node.parent) ? node.parent.name : undefined);
      const body = node.getText(sf);
      out.push({ name: named?.getText(sf) ?? '(anonymous)', line: start + 1, lines: end - start + 1, jsx: file.endsWith('.tsx') && /<[A-Za-z>]/.test(body) && /return\s*\(?\s*</.test(body) });
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return out;
}

const argv = process.argv.slice(2);
const over = argv.includes('--over') ? Number(argv[argv.indexOf('--over') + 1]) : 80;
const folders = argv.filter((a, i) => !a.startsWith('--') && argv[i - 1] !== '--over');
const rows: { file: string; name: string; line: number; lines: number; jsx: boolean }[] = [];
for (const folder of folders.length > 0 ? folders : ['electron', 'gateway', 'shared', 'renderer']) {
  const files = productFiles(join(process.cwd(), folder));
  const lines = files.reduce((n, f) => n + readFileSync(f, 'utf8').split('\n').length, 0);
  if (argv.includes('--lines')) console.log(`${folder}: ${files.length} product files, ${lines} lines`);
  for (const f of files) rows.push(...functionSizes(f).filter((r) => r.lines > over).map((r) => ({ ...r, file: relative(process.cwd(), f) })));
}
rows.sort((a, b) => b.lines - a.lines);
console.log(`${rows.length} functions over ${over} lines (${rows.filter((r) => !r.jsx).length} without JSX)`);
for (const r of rows) console.log(`${String(r.lines).padStart(5)}  ${r.file}:${r.line}  ${r.name}${r.jsx ? '  jsx' : ''}`);
