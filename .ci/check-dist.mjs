#!/usr/bin/env node
// No-eval check for the shipped bundles: parses every JavaScript file and fails on
//   - eval, direct or indirect: eval(..), (0, eval)(..), globalThis.eval(..), window['eval'], const e = eval
//   - new Function(..), Function(..), globalThis.Function(..), Function.call/apply(..),
//     Reflect.construct(Function, ..), (function(){}).constructor(..), x.constructor.constructor(..)
//   - setTimeout / setInterval (also window.setTimeout, ...) whose first argument is a string
//     ('..', `..`, '..' + x, String(x), a ? '..' : ..)
// so the library keeps working under a Content-Security-Policy without 'unsafe-eval'.
//
//   node .ci/check-dist.mjs                 every *.js, *.mjs, *.cjs under dist/ (fails if there is none)
//   node .ci/check-dist.mjs FILE|DIR ...    those files / directories instead
//   node .ci/check-dist.mjs --self-test     runs the checker on built-in good and bad snippets
//
// Exit code: 0 clean, 1 findings (or a file that does not parse, or no file to check).
// Parser: rollup's `parseAst` (rollup is a devDependency; acorn is only there transitively).
import { readFileSync, readdirSync, statSync, existsSync } from 'node:fs';
import { extname, join, relative, resolve, dirname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseAst } from 'rollup/parseAst';

const JS_EXT = new Set(['.js', '.mjs', '.cjs']);
const TIMERS = new Set(['setTimeout', 'setInterval']);

const propName = (member) => {
  if (!member.computed) return member.property.type === 'Identifier' ? member.property.name : undefined;
  const p = member.property;
  if (p.type === 'Literal' && typeof p.value === 'string') return p.value;
  if (p.type === 'TemplateLiteral' && p.expressions.length === 0) return p.quasis[0].value.cooked;
  return undefined;
};

// Strips parentheses-free wrappers that keep the same value: (0, x), x!, etc. (ESTree has no parens).
const unwrap = (node) => {
  let n = node;
  while (n && n.type === 'SequenceExpression') n = n.expressions[n.expressions.length - 1];
  while (n && n.type === 'ChainExpression') n = n.expression;
  return n;
};

/** `eval` / `Function` / ... as a global name or as a property: globalThis.eval, window['Function']. */
const namesGlobal = (node, name) => {
  const n = unwrap(node);
  if (!n) return false;
  if (n.type === 'Identifier') return n.name === name;
  if (n.type === 'MemberExpression') return propName(n) === name;
  return false;
};

const isStringish = (node) => {
  const n = unwrap(node);
  if (!n) return false;
  switch (n.type) {
    case 'Literal':
      return typeof n.value === 'string';
    case 'TemplateLiteral':
      return true;
    case 'TaggedTemplateExpression':
      return namesGlobal(n.tag, 'raw'); // String.raw`...`
    case 'BinaryExpression':
      return n.operator === '+' && (isStringish(n.left) || isStringish(n.right));
    case 'ConditionalExpression':
      return isStringish(n.consequent) || isStringish(n.alternate);
    case 'LogicalExpression':
      return isStringish(n.left) || isStringish(n.right);
    case 'CallExpression':
      return namesGlobal(n.callee, 'String');
    default:
      return false;
  }
};

/** True when `node` (an Identifier) is a name binding or a label rather than a value reference. */
const isNonReference = (node, parent, key) => {
  if (!parent) return false;
  switch (parent.type) {
    case 'MemberExpression':
      return key === 'property' && !parent.computed;
    case 'Property':
    case 'MethodDefinition':
    case 'PropertyDefinition':
      return key === 'key' && !parent.computed;
    case 'LabeledStatement':
    case 'BreakStatement':
    case 'ContinueStatement':
      return key === 'label';
    case 'ExportSpecifier':
      return key === 'exported';
    case 'ImportSpecifier':
      return key === 'imported';
    default:
      return false;
  }
};

/**
 * Returns the findings for one source text: `[{ start, rule, message }]`.
 * Throws if the text does not parse.
 */
export function checkSource(code, { module = true } = {}) {
  const ast = parseAst(code, { allowReturnOutsideFunction: !module });
  const findings = [];
  const report = (node, rule, message) => findings.push({ start: node.start, rule, message });

  const visit = (node, parent, key) => {
    switch (node.type) {
      case 'Identifier':
        if (node.name === 'eval' && !isNonReference(node, parent, key)) {
          report(node, 'eval', parent?.type === 'CallExpression' && key === 'callee' ? 'direct eval(...)' : 'reference to eval (indirect eval)');
        }
        if (node.name === 'Function' && !isNonReference(node, parent, key)) {
          const allowed =
            // x instanceof Function
            (parent?.type === 'BinaryExpression' && parent.operator === 'instanceof' && key === 'right') ||
            // x === Function, x !== Function (Vue's props: `opt.type !== Function`): a comparison runs no code
            (parent?.type === 'BinaryExpression' && ['===', '!==', '==', '!='].includes(parent.operator)) ||
            // typeof Function
            (parent?.type === 'UnaryExpression' && parent.operator === 'typeof') ||
            // Function.prototype.* (except .constructor, checked below), Function.length, ...
            (parent?.type === 'MemberExpression' && key === 'object' && !['call', 'apply', 'bind', 'constructor'].includes(propName(parent)));
          if (!allowed) report(node, 'Function', 'use of the Function constructor');
        }
        break;
      case 'MemberExpression': {
        const name = propName(node);
        if (name === 'eval') report(node, 'eval', 'member access to .eval (indirect eval)');
        if (name === 'Function' && !(parent?.type === 'BinaryExpression' && parent.operator === 'instanceof' && key === 'right')) {
          // globalThis.Function(...), window['Function'], but allow `x instanceof self.Function`.
          report(node, 'Function', 'use of the Function constructor via a global object');
        }
        break;
      }
      case 'CallExpression':
      case 'NewExpression': {
        const callee = unwrap(node.callee);
        // (function(){}).constructor('code'), x.constructor.constructor('code')
        if (callee?.type === 'MemberExpression' && propName(callee) === 'constructor') {
          const obj = unwrap(callee.object);
          const fnLike = ['FunctionExpression', 'ArrowFunctionExpression', 'ClassExpression'].includes(obj?.type);
          const ctorOfCtor = obj?.type === 'MemberExpression' && ['constructor', 'prototype'].includes(propName(obj));
          if (fnLike || ctorOfCtor) report(node, 'Function', 'Function constructor reached through .constructor');
        }
        // setTimeout('code', ..), window.setInterval(`code`, ..)
        const timer = callee?.type === 'Identifier' ? callee.name : callee?.type === 'MemberExpression' ? propName(callee) : undefined;
        if (TIMERS.has(timer) && node.arguments.length > 0 && isStringish(node.arguments[0])) {
          report(node, 'string-timer', `${timer} called with a string (evaluated as code)`);
        }
        break;
      }
      default:
        break;
    }
    for (const k of Object.keys(node)) {
      if (k === 'type' || k === 'start' || k === 'end') continue;
      const v = node[k];
      if (Array.isArray(v)) {
        for (const c of v) if (c && typeof c.type === 'string') visit(c, node, k);
      } else if (v && typeof v === 'object' && typeof v.type === 'string') {
        visit(v, node, k);
      }
    }
  };
  visit(ast, undefined, undefined);
  return findings.sort((a, b) => a.start - b.start);
}

const lineCol = (code, offset) => {
  let line = 1;
  let last = -1;
  for (let i = code.indexOf('\n'); i !== -1 && i < offset; i = code.indexOf('\n', i + 1)) {
    line += 1;
    last = i;
  }
  return `${line}:${offset - last}`;
};

const excerpt = (code, offset) =>
  code.slice(Math.max(0, offset - 30), offset + 50).replace(/\s+/g, ' ');

/** Checks one file; returns a list of human-readable problems (empty when clean). */
export function checkFile(file) {
  const code = readFileSync(file, 'utf8');
  let findings;
  try {
    findings = checkSource(code, { module: extname(file) === '.mjs' });
  } catch (err) {
    return [`${file}: could not be parsed, so it could not be checked: ${err.message}`];
  }
  return findings.map((f) => `${file}:${lineCol(code, f.start)}: ${f.rule}: ${f.message}\n    ...${excerpt(code, f.start)}...`);
}

function collect(paths) {
  const files = [];
  const walk = (p) => {
    const st = statSync(p);
    if (st.isDirectory()) {
      for (const e of readdirSync(p).sort()) walk(join(p, e));
    } else if (JS_EXT.has(extname(p))) {
      files.push(p);
    }
  };
  for (const p of paths) {
    if (!existsSync(p)) throw new Error(`${p} does not exist`);
    // A file named explicitly is checked whatever its extension.
    if (statSync(p).isFile()) files.push(p);
    else walk(p);
  }
  return files;
}

const SELF_TEST = [
  // [source, expected rules]
  ['eval("1")', ['eval']],
  ['(0, eval)("1")', ['eval']],
  ['var e = eval; e("1")', ['eval']],
  ['globalThis.eval("1")', ['eval']],
  ['window["eval"]("1")', ['eval']],
  ['new Function("return 1")', ['Function']],
  ['Function("return 1")()', ['Function']],
  ['new self.Function("a", "return a")', ['Function']],
  ['Function.apply(null, ["return 1"])', ['Function']],
  ['Reflect.construct(Function, ["return 1"])', ['Function']],
  ['(function () {}).constructor("return 1")', ['Function']],
  ['x.constructor.constructor("return 1")', ['Function']],
  ['Function.prototype.constructor("return 1")', ['Function']],
  ['setTimeout("alert(1)", 10)', ['string-timer']],
  ['window.setInterval(`tick()`, 10)', ['string-timer']],
  ['setTimeout("f(" + x + ")", 10)', ['string-timer']],
  ['setTimeout(a ? "f()" : g, 10)', ['string-timer']],
  // clean
  ['setTimeout(() => f(), 10); setInterval(g, 5); clearTimeout(t)', []],
  ['if (x instanceof Function) y(); typeof Function; Function.prototype.call.call(f)', []],
  ['const o = { eval: 1, Function: 2 }; o.evaluate(); label: for (;;) break label', []],
  ['class E extends Error { constructor(m) { super(m) } } new e.constructor("message")', []],
  ['if (opt.type !== Function && f === Function) g()', []],
];

function selfTest() {
  let bad = 0;
  for (const [src, expected] of SELF_TEST) {
    const got = [...new Set(checkSource(src, { module: false }).map((f) => f.rule))];
    const ok = got.length === expected.length && expected.every((r) => got.includes(r));
    if (!ok) {
      bad += 1;
      console.error(`check-dist self-test: FAIL ${JSON.stringify(src)}: expected [${expected}] got [${got}]`);
    }
  }
  console.log(`check-dist self-test: ${SELF_TEST.length - bad}/${SELF_TEST.length} cases as expected`);
  return bad === 0 ? 0 : 1;
}

function main(argv) {
  if (argv.includes('--self-test')) return selfTest();
  const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
  const targets = argv.length > 0 ? argv : [join(root, 'dist')];
  let files;
  try {
    files = collect(targets);
  } catch (err) {
    console.error(`check-dist: FAILED: ${err.message}`);
    return 1;
  }
  if (files.length === 0) {
    console.error(`check-dist: FAILED: no JavaScript file found in ${targets.join(', ')}`);
    return 1;
  }
  const problems = files.flatMap(checkFile);
  const shown = files.map((f) => {
    const r = relative(process.cwd(), f);
    return r && !r.startsWith('..') ? r : f;
  });
  if (problems.length > 0) {
    for (const p of problems) console.error(`check-dist: ${p}`);
    console.error(`check-dist: FAILED: ${problems.length} problem(s) in ${files.length} file(s) (eval-like code, or a file that does not parse)`);
    return 1;
  }
  console.log(`check-dist: no eval / new Function / string timers in ${files.length} file(s): ${shown.join(', ')}`);
  return 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  process.exitCode = main(process.argv.slice(2));
}
