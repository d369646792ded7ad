import ts from 'typescript';

/**
 * Finds the strings a domain contract (contracts/*.ts) owns — statuses used as statuses,
 * failure types, workflow ids — written out by hand in other code. Read through the
 * TypeScript AST rather than by regex so that comments, a notice kind called 'confirmed'
 * or a storage key `recordings/tour-${id}` are not mistaken for the contract's strings.
 */

export interface Vocabulary {
  /** Status lists per domain (bookings, tours, images). */
  statuses: Record<string, readonly string[]>;
  failureTypes: readonly string[];
  /** What a workflow id starts with: 'booking-', 'tour-', 'image-'. */
  workflowIdPrefixes: readonly string[];
}

export interface Hit {
  file: string;
  line: number;
  kind: 'status' | 'failure type' | 'workflow id';
  text: string;
}

/** Where workflows report a stage that is not a stored status; lists may mix them in. */
const STAGE_WORDS = new Set(['missing', 'loading', 'gone']);
/** A name that holds a status: `status`, `stage`, `tour.status`, `newStatus`, `this.stage`. */
const STATUS_NAME = /^(status|stage)$|(Status|Stage)$/;
/** A call that takes statuses: setStatus, setTourStatus, transitionBooking, allow(from, to). */
const STATUS_CALL = /status|stage|transition|^allow$/i;
/**
 * Words that say which domain a status belongs to. 'pending', 'ready' or 'failed' are also a
 * health check's, a processing step's or an artifact's status; a literal counts only where its
 * context (the compared expression, else the statement, else the file) names one of its domains.
 */
const DOMAIN_HINTS: Record<string, RegExp> = { bookings: /booking/i, tours: /tour/i, images: /image|img/i };
const FOREIGN_HINTS = /step|artifact|health|readiness|outbox|email|verdict|notice/i;
/** A `${prefix}${id}` that names something else: a Chime meeting, an ICS uid, a storage key. */
const NOT_A_WORKFLOW_ID = /meeting|uid|key|prefix|path|discriminator|external/i;

function nameOf(node: ts.Node): string | undefined {
  if (ts.isIdentifier(node) || ts.isPrivateIdentifier(node)) return node.text;
  if (ts.isPropertyAccessExpression(node)) return node.name.text;
  if (ts.isElementAccessExpression(node) && ts.isStringLiteralLike(node.argumentExpression)) return node.argumentExpression.text;
  if (ts.isStringLiteralLike(node)) return node.text;
  if (ts.isCallExpression(node)) return nameOf(node.expression);
  if (ts.isNonNullExpression(node) || ts.isParenthesizedExpression(node)) return nameOf(node.expression);
  return undefined;
}

const holdsStatus = (node: ts.Node) => STATUS_NAME.test(nameOf(node) ?? '');

/** Climbs over wrappers that do not change what a literal is used as. */
function usage(node: ts.Node): { node: ts.Node; parent: ts.Node } {
  let current = node;
  let parent = node.parent;
  while (
    ts.isParenthesizedExpression(parent) || ts.isAsExpression(parent) || ts.isSatisfiesExpression(parent) ||
    ts.isNonNullExpression(parent) || (ts.isConditionalExpression(parent) && parent.condition !== current) ||
    ts.isLiteralTypeNode(parent)
  ) {
    current = parent;
    parent = parent.parent;
  }
  return { node: current, parent };
}

export function scanSource(file: string, text: string, vocabulary: Vocabulary): Hit[] {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.ES2022, true, ts.ScriptKind.TS);
  const domains = Object.values(vocabulary.statuses);
  const statuses = new Set(domains.flat());
  const failures = new Set(vocabulary.failureTypes);
  const prefixes = new Set(vocabulary.workflowIdPrefixes);
  const hits: Hit[] = [];
  const hit = (node: ts.Node, kind: Hit['kind']) => hits.push({
    file,
    line: source.getLineAndCharacterOfPosition(node.getStart(source)).line + 1,
    kind,
    text: node.getText(source),
  });

  /** `['declined', 'cancelled', 'expired']` or `'pending' | 'confirmed'`: a list of one domain's statuses. */
  const isStatusList = (members: readonly ts.Node[]) => {
    const words = members.map((m) => (ts.isLiteralTypeNode(m) ? m.literal : m)).map((m) => (ts.isStringLiteralLike(m) ? m.text : null));
    if (words.some((w) => w === null || (!statuses.has(w) && !STAGE_WORDS.has(w)))) return false;
    return domains.some((list) => words.filter((w) => list.includes(w!)).length >= 2);
  };

  /** The statement a literal sits in (an `if`'s or `switch`'s condition only), and for a `return` the function's name and return type. */
  const statementText = (node: ts.Node): string => {
    let at: ts.Node = node;
    while (at.parent && !ts.isStatement(at) && !ts.isSourceFile(at.parent)) at = at.parent;
    if (ts.isIfStatement(at) || ts.isSwitchStatement(at) || ts.isWhileStatement(at)) return at.expression.getText(source);
    if (!ts.isReturnStatement(at)) return at.getText(source);
    let fn: ts.Node | undefined = at.parent;
    while (fn && !ts.isFunctionLike(fn)) fn = fn.parent;
    const signature = fn && ts.isFunctionLike(fn) ? `${fn.name?.getText(source) ?? ''} ${fn.type?.getText(source) ?? ''}` : '';
    return `${signature} ${at.getText(source)}`;
  };

  /** Whether a status word belongs to a domain its context names (see DOMAIN_HINTS). */
  const inItsDomain = (word: string, contexts: string[]): boolean => {
    const own = Object.keys(vocabulary.statuses).filter((d) => vocabulary.statuses[d]!.includes(word));
    for (const context of contexts) {
      if (own.some((d) => DOMAIN_HINTS[d]?.test(context))) return true;
      if (FOREIGN_HINTS.test(context) || Object.values(DOMAIN_HINTS).some((hint) => hint.test(context))) return false;
    }
    return false;
  };

  /** The expression a literal is a status of (`tour.status`), or null when it is not used as a status. */
  const statusUse = (literal: ts.Node): { holder: string } | null => {
    const { node, parent } = usage(literal);
    const text = (n: ts.Node) => ({ holder: n.getText(source) });
    if (ts.isBinaryExpression(parent)) {
      const other = parent.left === node ? parent.right : parent.left;
      const op = parent.operatorToken.kind;
      const compares = [ts.SyntaxKind.EqualsEqualsEqualsToken, ts.SyntaxKind.ExclamationEqualsEqualsToken, ts.SyntaxKind.EqualsEqualsToken, ts.SyntaxKind.ExclamationEqualsToken].includes(op);
      return (compares || (op === ts.SyntaxKind.EqualsToken && parent.right === node)) && holdsStatus(other) ? text(other) : null;
    }
    if (ts.isCaseClause(parent)) return holdsStatus(parent.parent.parent.expression) ? text(parent.parent.parent.expression) : null;
    if ((ts.isPropertyAssignment(parent) || ts.isPropertySignature(parent)) && parent.name) return holdsStatus(parent.name) ? { holder: '' } : null;
    if (ts.isCallExpression(parent) && parent.arguments.includes(node as ts.Expression)) {
      const [first] = parent.arguments;
      if (STATUS_CALL.test(nameOf(parent.expression) ?? '')) return text(parent.expression);
      return first !== node && first !== undefined && holdsStatus(first) ? { holder: '' } : null;
    }
    if (ts.isArrayLiteralExpression(parent)) {
      const outer = usage(parent);
      if (ts.isCallExpression(outer.parent) && STATUS_CALL.test(nameOf(outer.parent.expression) ?? '')) return text(outer.parent.expression);
      if (ts.isCallExpression(outer.parent) && outer.parent.arguments[0] && holdsStatus(outer.parent.arguments[0])) return { holder: '' };
      return isStatusList(parent.elements) ? { holder: '' } : null;
    }
    if (ts.isUnionTypeNode(parent)) return isStatusList(parent.types) ? { holder: '' } : null;
    return null;
  };

  const usedAsStatus = (literal: ts.StringLiteralLike): boolean => {
    const use = statusUse(literal);
    return use !== null && inItsDomain(literal.text, [use.holder, statementText(literal), file]);
  };

  const visit = (node: ts.Node): void => {
    if (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) {
      if (failures.has(node.text)) hit(node, 'failure type');
      else if (prefixes.has(node.text)) hit(node, 'workflow id');
      else if (statuses.has(node.text) && !ts.isImportDeclaration(node.parent) && usedAsStatus(node)) hit(node, 'status');
    } else if (ts.isTemplateExpression(node)) {
      const whole = node.templateSpans.length === 1 && node.templateSpans[0]!.literal.text === '';
      const { parent } = usage(node);
      const owner = (ts.isPropertyAssignment(parent) || ts.isVariableDeclaration(parent)) ? nameOf(parent.name) : undefined;
      if (whole && prefixes.has(node.head.text) && !NOT_A_WORKFLOW_ID.test(owner ?? '')) hit(node, 'workflow id');
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return hits;
}
