/**
 * The `ERR_…` error codes written in the sources, read from their TypeScript syntax trees:
 * string literals only, so a code mentioned in a comment does not count, and one built with a
 * template such as `ERR_HTTP_${status}` is seen as its prefix. Shared by the tests that keep
 * docs/failure-codes.md and docs/openapi.yaml in step with the code.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

export const repoDir = path.resolve(__dirname, '..', '..');

const CODE = /^ERR_[A-Z0-9_]+$/;

/** The non-test TypeScript files under `dir` (repository-relative), in-memory fakes aside. */
export function sourceFiles(dir: string): string[] {
  return readdirSync(path.join(repoDir, dir), { withFileTypes: true }).flatMap((entry) => {
    const rel = path.join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'testing' ? [] : sourceFiles(rel);
    return entry.name.endsWith('.ts') && !/\.(test|d)\.ts$/.test(entry.name) ? [rel] : [];
  });
}

/** Every `ERR_…` string literal of a file, and every template literal whose text starts `ERR_…${`. */
export function errorCodesIn(file: string): { codes: Set<string>; prefixes: Set<string> } {
  const source = ts.createSourceFile(
    file,
    readFileSync(path.join(repoDir, file), 'utf8'),
    ts.ScriptTarget.Latest,
  );
  const codes = new Set<string>();
  const prefixes = new Set<string>();
  const visit = (node: ts.Node): void => {
    if (
      (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) &&
      CODE.test(node.text)
    ) {
      codes.add(node.text);
    } else if (ts.isTemplateExpression(node) && CODE.test(`${node.head.text}X`)) {
      prefixes.add(node.head.text);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return { codes, prefixes };
}
