import ts from 'typescript';

/**
 * The house's size rules: a file in `src/` or `commands/` stays under 400 lines and a function
 * under 120, so that a reader can hold either in mind. One that truly must be longer says why
 * where a reader meets it: a file in a comment among its first lines, a function in the comment
 * just above it, each with the words "longer than" (for example "This file is longer than 400
 * lines because …").
 */
export const MAX_FILE_LINES = 400;
export const MAX_FUNCTION_LINES = 120;

const REASON = /longer than/i;

export interface SizeViolation {
  path: string;
  line: number;
  message: string;
}

const lineCount = (source: string) => source.split('\n').length - (source.endsWith('\n') ? 1 : 0);

/** Whether a comment among the file's first lines (before its first statement) gives the reason. */
function fileGivesReason(file: ts.SourceFile): boolean {
  const first = file.statements[0];
  const head = first ? file.text.slice(0, first.getStart(file)) : file.text;
  // The first statement's own comment counts too (a file that opens with its doc comment).
  const leading = first ? (ts.getLeadingCommentRanges(file.text, first.getFullStart()) ?? []) : [];
  return REASON.test(head) || leading.some((c) => REASON.test(file.text.slice(c.pos, c.end)));
}

/** Whether the comment just above a function (or the statement that holds it) gives the reason. */
function functionGivesReason(file: ts.SourceFile, node: ts.Node): boolean {
  let holder: ts.Node = node;
  // `const f = () => …`, `export function`, a method: the comment sits above the whole statement.
  while (
    holder.parent &&
    (ts.isVariableDeclaration(holder.parent) ||
      ts.isVariableDeclarationList(holder.parent) ||
      ts.isVariableStatement(holder.parent) ||
      ts.isPropertyAssignment(holder.parent) ||
      ts.isPropertyDeclaration(holder.parent))
  ) {
    holder = holder.parent;
  }
  const comments = ts.getLeadingCommentRanges(file.text, holder.getFullStart()) ?? [];
  return comments.some((c) => REASON.test(file.text.slice(c.pos, c.end)));
}

function nameOf(file: ts.SourceFile, node: ts.FunctionLikeDeclaration): string {
  if (node.name) return node.name.getText(file);
  const parent = node.parent;
  if (parent && (ts.isVariableDeclaration(parent) || ts.isPropertyAssignment(parent)))
    return parent.name.getText(file);
  return '(anonymous function)';
}

/** Every file over the line limit and every function over its limit, without a written reason. */
export function checkSizes(files: ReadonlyMap<string, string>): SizeViolation[] {
  const violations: SizeViolation[] = [];
  for (const [path, source] of files) {
    const file = ts.createSourceFile(path, source, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
    const lines = lineCount(source);
    if (lines > MAX_FILE_LINES && !fileGivesReason(file)) {
      violations.push({
        path,
        line: 1,
        message: `${path} has ${lines} lines (at most ${MAX_FILE_LINES}, or say at its top why it is longer)`,
      });
    }
    const visit = (node: ts.Node) => {
      if (ts.isFunctionLike(node) && 'body' in node && node.body) {
        const start = file.getLineAndCharacterOfPosition(node.getStart(file)).line;
        const end = file.getLineAndCharacterOfPosition(node.getEnd()).line;
        const length = end - start + 1;
        if (length > MAX_FUNCTION_LINES && !functionGivesReason(file, node)) {
          violations.push({
            path,
            line: start + 1,
            message: `${path}:${start + 1} ${nameOf(file, node)} has ${length} lines (at most ${MAX_FUNCTION_LINES}, or say above it why it is longer)`,
          });
        }
      }
      ts.forEachChild(node, visit);
    };
    visit(file);
  }
  return violations;
}
