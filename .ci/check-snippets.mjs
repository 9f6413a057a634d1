#!/usr/bin/env node
// Checks every fenced code block of the documentation, so that what a reader copies works:
//   ts, tsx           type-checked, strict, against the built package (dist/*.d.ts) imported by its own name
//                     (`surewire`, `surewire/socket.io`, `surewire/server`), as an app that installed it would
//   js, mjs, jsx      parsed as an ES module (rollup's parser)
//   html, vue, svelte the inline <script> elements parsed (as TypeScript syntax with lang="ts")
//   json              parsed
//   sh, bash, shell   every `npm run X` / `npm test` / `npm start` names a script of package.json, and every
//                     file given to node, bash, sh or `vitest run` exists
//   diff, text, css   not checked (listed, so that a misspelt language is an error rather than a skip)
//
// An HTML comment right before a block (blank lines between are fine) changes how it is checked:
//   <!-- snippet: skip REASON -->   not checked; the reason is required
//   <!-- snippet: continue -->      (ts/tsx) compiled after the previous ts/tsx block of the same file, as one
//                                   module: for a guide whose blocks build on each other
//   <!-- snippet: prelude           (ts/tsx) hidden code compiled before the block, e.g. the declarations it
//   declare const render: (m: unknown) => void;    needs: `declare const render: (m: unknown) => void;`
//   -->
//
//   node .ci/check-snippets.mjs                  README.md, CONTRIBUTING.md and docs/**/*.md (not docs/api/)
//   node .ci/check-snippets.mjs FILE ...         those files instead
//   node .ci/check-snippets.mjs --lenient FILE   FILE's failures are printed but do not fail the run
//   node .ci/check-snippets.mjs --self-test      runs the checker on built-in good and broken blocks
//
// Needs `npm run build` first (the ts blocks compile against dist/). Exit code: 0 clean, 1 a block failed.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAst } from 'rollup/parseAst';
import ts from 'typescript';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

const TS = new Set(['ts', 'typescript', 'tsx']);
const JS = new Set(['js', 'javascript', 'mjs', 'jsx']);
const MARKUP = new Set(['html', 'vue', 'svelte']);
const SHELL = new Set(['sh', 'bash', 'shell', 'console']);
const UNCHECKED = new Set(['diff', 'text', 'txt', 'css', 'plaintext']);

/**
 * The fenced blocks of a markdown text, each with its language, its first code line (1-based) and the
 * `snippet:` directives of the HTML comments right before it.
 */
export function blocks(text) {
  const lines = text.split('\n');
  const out = [];
  let pending = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    const comment = line.match(/^\s*<!--\s*snippet:\s*([\s\S]*)$/);
    if (comment) {
      // A directive may run over several lines, up to `-->`.
      let body = comment[1];
      while (!body.includes('-->') && i + 1 < lines.length) body += '\n' + lines[++i];
      body = body.slice(0, body.indexOf('-->'));
      const [, kind, rest = ''] = body.match(/^\s*(\w+)\s*([\s\S]*)$/) ?? [];
      pending.push({ kind, rest: rest.trim(), line: i + 1 });
      continue;
    }
    const fence = line.match(/^(\s*)(`{3,}|~{3,})\s*([^\s`]*)/);
    if (fence) {
      const [, indent, marks, lang] = fence;
      const start = i + 1;
      const code = [];
      for (i++; i < lines.length && !lines[i].match(new RegExp(`^\\s*${marks[0]}{${marks.length},}\\s*$`)); i++)
        code.push(lines[i].startsWith(indent) ? lines[i].slice(indent.length) : lines[i]);
      out.push({ lang: lang.toLowerCase(), line: start + 1, fenceLine: start, code: code.join('\n'), directives: pending });
      pending = [];
      continue;
    }
    // Directives bind to the next block only across blank lines.
    if (line.trim()) pending = [];
  }
  return out;
}

const compilerOptions = {
  target: ts.ScriptTarget.ES2022,
  module: ts.ModuleKind.ESNext,
  moduleResolution: ts.ModuleResolutionKind.Bundler,
  moduleDetection: ts.ModuleDetectionKind.Force,
  lib: ['lib.es2022.d.ts', 'lib.dom.d.ts', 'lib.dom.iterable.d.ts'],
  types: ['node'],
  jsx: ts.JsxEmit.ReactJSX,
  strict: true,
  noUncheckedIndexedAccess: true,
  exactOptionalPropertyTypes: true,
  verbatimModuleSyntax: true,
  skipLibCheck: true,
  noEmit: true,
};

/**
 * Type-checks ts/tsx blocks in one program. Each block is a module at a path beside its markdown file (so
 * `surewire` resolves through package.json's `exports`, as the package's own name), made of its prelude,
 * the blocks it continues, and its code. Returns the diagnostics, mapped back to markdown lines.
 */
function typeCheck(units) {
  const files = new Map();
  for (const u of units) files.set(u.path, u.text);
  const host = ts.createCompilerHost(compilerOptions, true);
  const { fileExists, readFile, getSourceFile } = host;
  host.fileExists = (f) => files.has(f) || fileExists.call(host, f);
  host.readFile = (f) => files.get(f) ?? readFile.call(host, f);
  host.getSourceFile = (f, lang, ...rest) =>
    files.has(f) ? ts.createSourceFile(f, files.get(f), lang, true) : getSourceFile.call(host, f, lang, ...rest);
  host.getCurrentDirectory = () => ROOT;
  const program = ts.createProgram([...files.keys()], compilerOptions, host);
  const failures = [];
  for (const u of units) {
    const sf = program.getSourceFile(u.path);
    for (const d of [...program.getSyntacticDiagnostics(sf), ...program.getSemanticDiagnostics(sf)]) {
      const { line } = sf.getLineAndCharacterOfPosition(d.start ?? 0);
      // Only the block's own lines (and its prelude): a block it continues reports its errors itself.
      const seg = u.segments.find((s) => line >= s.from && line < s.from + s.count);
      if (!seg || seg.block !== u.block) continue;
      const where = seg.prelude ? `${seg.block.fenceLine} (prelude)` : `${seg.block.line + line - seg.from}`;
      failures.push({ block: u.block, where, message: `TS${d.code}: ${ts.flattenDiagnosticMessageText(d.messageText, ' ')}` });
    }
  }
  return failures;
}

// Reads the scripts of package.json once.
let scripts;
const npmScripts = () => (scripts ??= JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).scripts ?? {});

/** Problems of a shell block: npm scripts that do not exist, files that are not there. */
function checkShell(code) {
  const problems = [];
  const commands = code
    .split('\n')
    .map((l) => l.replace(/^\s*\$\s+/, '').replace(/\s#.*$|^\s*#.*$/, ''))
    .flatMap((l) => l.split(/&&|\|\||;|\|/))
    .map((c) => c.trim().split(/\s+/).filter(Boolean))
    .map((words) => {
      while (words.length && /^[A-Z_][A-Z0-9_]*=/.test(words[0])) words.shift(); // PORT=4000 npm start
      return words;
    })
    .filter((w) => w.length);
  for (const w of commands) {
    const [cmd, sub] = w;
    const args = w.slice(1).filter((a) => !a.startsWith('-'));
    if (cmd == 'npm' && (sub == 'run' || sub == 'run-script')) {
      const name = args[1];
      if (!name) problems.push('`npm run` without a script name');
      else if (!(name in npmScripts())) problems.push(`\`npm run ${name}\`: package.json has no script "${name}"`);
    } else if (cmd == 'npm' && ['test', 't', 'start', 'stop', 'restart'].includes(sub)) {
      const name = sub == 't' ? 'test' : sub;
      if (!(name in npmScripts())) problems.push(`\`npm ${sub}\`: package.json has no script "${name}"`);
    } else if (['node', 'bash', 'sh'].includes(cmd)) {
      if (w.slice(1).some((a) => ['-e', '--eval', '-p', '--print', '-c'].includes(a))) continue;
      if (args[0] && !existsSync(join(ROOT, args[0]))) problems.push(`\`${cmd} ${args[0]}\`: no such file`);
    } else if (cmd == 'npx' && args[0] == 'vitest') {
      for (const a of args.slice(1).filter((a) => a.includes('/') || /\.\w+$/.test(a)))
        if (!existsSync(join(ROOT, a))) problems.push(`\`vitest ${a}\`: no such file`);
    }
  }
  return problems;
}

/** Syntax problems of a JavaScript module, or of the inline scripts of an HTML/Vue/Svelte block. */
function checkJs(code, lang) {
  if (MARKUP.has(lang)) {
    const problems = [];
    for (const m of code.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)) {
      if (/\bsrc=/.test(m[1]) || !m[2].trim()) continue;
      const isTs = /lang=["']ts["']/.test(m[1]);
      problems.push(...(isTs ? tsSyntax(m[2]) : checkJs(m[2], 'js')));
    }
    return problems;
  }
  try {
    parseAst(code, { jsx: lang == 'jsx' });
    return [];
  } catch (e) {
    return [`does not parse: ${e.message}`];
  }
}

const tsSyntax = (code) =>
  ts
    .transpileModule(code, { reportDiagnostics: true, compilerOptions: { target: ts.ScriptTarget.ES2022 } })
    .diagnostics.map((d) => `does not parse: TS${d.code}: ${ts.flattenDiagnosticMessageText(d.messageText, ' ')}`);

/**
 * Checks the blocks of markdown documents `{ path, text }` (paths relative to the repository).
 * Returns every block with its outcome and the list of failures `{ path, line, message }`.
 */
export function check(docs) {
  const failures = [];
  const counts = { checked: 0, skipped: 0, unchecked: 0 };
  const units = [];
  const fail = (doc, where, message) => failures.push({ path: doc.path, line: where, message });
  for (const doc of docs) {
    let chain = [];
    blocks(doc.text).forEach((b, n) => {
      const skip = b.directives.find((d) => d.kind == 'skip');
      const prelude = b.directives.filter((d) => d.kind == 'prelude').map((d) => d.rest);
      const cont = b.directives.some((d) => d.kind == 'continue');
      for (const d of b.directives)
        if (!['skip', 'prelude', 'continue'].includes(d.kind)) fail(doc, d.line, `unknown directive "snippet: ${d.kind}" (skip, continue, prelude)`);
      if (skip) {
        if (!skip.rest) fail(doc, skip.line, '`snippet: skip` needs a reason: `<!-- snippet: skip why it cannot be checked -->`');
        counts.skipped++;
        return;
      }
      if (!b.lang) return fail(doc, b.fenceLine, 'a code block needs a language (`text` for plain text)');
      if ((prelude.length || cont) && !TS.has(b.lang)) fail(doc, b.fenceLine, '`snippet: prelude` and `continue` apply to ts/tsx blocks only');
      if (TS.has(b.lang)) {
        counts.checked++;
        if (!cont) chain = [];
        else if (!chain.length) fail(doc, b.fenceLine, '`snippet: continue` with no ts block before it');
        chain.push({ block: b, prelude });
        // The module: each block of the chain, its prelude first, with the lines each part covers.
        const segments = [];
        const text = [];
        for (const part of chain) {
          for (const [code, isPrelude] of [...part.prelude.map((p) => [p, true]), [part.block.code, false]]) {
            const count = code.split('\n').length;
            segments.push({ block: part.block, prelude: isPrelude, from: text.length, count });
            text.push(...code.split('\n'));
          }
        }
        const ext = chain.some((p) => p.block.lang == 'tsx') ? 'tsx' : 'ts';
        units.push({ doc, block: b, segments, text: text.join('\n'), path: join(ROOT, `${doc.path}.snippet-${n + 1}.${ext}`) });
      } else if (JS.has(b.lang) || MARKUP.has(b.lang)) {
        counts.checked++;
        for (const p of checkJs(b.code, b.lang)) fail(doc, b.line, p);
      } else if (b.lang == 'json') {
        counts.checked++;
        try {
          JSON.parse(b.code);
        } catch (e) {
          fail(doc, b.line, `JSON does not parse: ${e.message}`);
        }
      } else if (SHELL.has(b.lang)) {
        counts.checked++;
        for (const p of checkShell(b.code)) fail(doc, b.line, p);
      } else if (UNCHECKED.has(b.lang)) counts.unchecked++;
      else fail(doc, b.fenceLine, `unknown language "${b.lang}" (misspelt? or add it to .ci/check-snippets.mjs)`);
    });
  }
  if (units.length) {
    // The declarations of every entry of package.json's `exports`: the ts blocks import them by name.
    const { exports } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
    const declared = Object.values(exports).flatMap((e) => (e?.import?.types ? [e.import.types] : []));
    const missing = declared.filter((f) => !existsSync(join(ROOT, f)));
    if (missing.length) failures.push({ path: 'dist', line: 0, message: `${missing.join(', ')} missing: run \`npm run build\` first` });
    else for (const f of typeCheck(units)) fail(units.find((u) => u.block === f.block).doc, f.where, f.message);
  }
  return { failures, counts };
}

/** README.md, CONTRIBUTING.md and every markdown file under docs/ except the generated API reference. */
function defaultFiles() {
  const found = ['README.md', 'CONTRIBUTING.md'].filter((f) => existsSync(join(ROOT, f)));
  const walk = (dir) => {
    if (!existsSync(join(ROOT, dir))) return;
    for (const name of readdirSync(join(ROOT, dir)).sort()) {
      const p = join(dir, name);
      if (p == join('docs', 'api')) continue;
      if (statSync(join(ROOT, p)).isDirectory()) walk(p);
      else if (name.endsWith('.md')) found.push(p);
    }
  };
  walk('docs');
  return found;
}

// Built-in blocks that must pass and blocks that must fail: the checker is only worth running if it can fail.
const fence = (lang, code, before = '') => `${before}\n\`\`\`${lang}\n${code}\n\`\`\`\n`;
const SELF_TEST = [
  ['a typed client', true, fence('ts', "import { Surewire } from 'surewire';\nconst chat = new Surewire<{ m: (s: string) => void }>('wss://x.example');\nchat.on('m', (s) => s.toUpperCase());")],
  ['a wrong argument type', false, fence('ts', "import { Surewire } from 'surewire';\nconst chat = new Surewire<{ m: (s: string) => void }, { m: (s: string) => void }>('wss://x.example');\nchat.send('m', 42);")],
  ['a name that is not exported', false, fence('ts', "import { Nope } from 'surewire';\nNope;")],
  ['an undeclared name', false, fence('ts', "import { Surewire } from 'surewire';\nconst chat = new Surewire('wss://x.example');\nchat.on('message', (m: Message) => m);")],
  ['an undeclared name, declared in a prelude', true, fence('ts', "import { Surewire } from 'surewire';\nnew Surewire('wss://x.example').on('message', (m: Message) => render(m));", '<!-- snippet: prelude\ntype Message = { text: string };\ndeclare const render: (m: Message) => void;\n-->')],
  ['the socket.io entry', true, fence('ts', "import { io } from 'socket.io-client';\nimport { socketIo } from 'surewire/socket.io';\nsocketIo(io, { auth: { token: 't' } });")],
  ['the server entry', true, fence('ts', "import { reliable } from 'surewire/server';\nreliable({ onMessage: () => {} });")],
  ['a block that continues the one before', true, fence('ts', "import { Surewire } from 'surewire';\nconst chat = new Surewire('wss://x.example');") + fence('ts', 'chat.close();', '<!-- snippet: continue -->')],
  ['a block that uses the one before without continue', false, fence('ts', "import { Surewire } from 'surewire';\nconst chat = new Surewire('wss://x.example');") + fence('ts', 'chat.close();')],
  ['a syntax error in TypeScript', false, fence('ts', 'const x = ;')],
  ['tsx', true, fence('tsx', "export const A = () => <b>{'x'}</b>;")],
  ['JavaScript that parses', true, fence('js', "import { Surewire } from 'surewire';\nconst chat = new Surewire('wss://x.example');\nawait chat.request('x');")],
  ['JavaScript that does not parse', false, fence('js', 'chat.on("message", (m) => { show(m) ;')],
  ['an inline script that does not parse', false, fence('html', '<script>\nconst = 1;\n</script>')],
  ['an inline script that parses', true, fence('html', '<script src="x.js"></script>\n<script>\nnew Surewire("wss://x.example");\n</script>')],
  ['a real npm script and file', true, fence('sh', '$ npm run build && npm test\nPORT=4000 npm start\nnode .ci/check-snippets.mjs --self-test')],
  ['an npm script that does not exist', false, fence('sh', 'npm run no-such-script')],
  ['a file that does not exist', false, fence('sh', 'node examples/no-such-file.mjs')],
  ['JSON that does not parse', false, fence('json', '{ "a": 1, }')],
  ['a skip with a reason', true, fence('ts', 'this is not TypeScript', '<!-- snippet: skip pseudo-code -->')],
  ['a skip without a reason', false, fence('ts', 'const x: number = 1;', '<!-- snippet: skip -->')],
  ['a block without a language', false, fence('', 'whatever')],
  ['a misspelt language', false, fence('typscript', 'const x = 1;')],
  ['unchecked languages', true, fence('diff', '- a\n+ b') + fence('text', 'anything')],
];

function selfTest() {
  let bad = 0;
  // One program for all of them, as in a real run; each case is its own document.
  const docs = SELF_TEST.map(([name, , text], i) => ({ path: `self-test-${i + 1}.md`, text, name }));
  const { failures } = check(docs);
  SELF_TEST.forEach(([name, good], i) => {
    const got = failures.filter((f) => f.path == docs[i].path);
    const ok = good ? got.length == 0 : got.length > 0;
    if (!ok) bad++;
    console.log(`${ok ? 'ok  ' : 'FAIL'} ${good ? 'passes' : 'fails '}: ${name}${got.length ? ` (${got.map((f) => f.message).join('; ')})` : ''}`);
  });
  console.log(bad ? `check-snippets self-test: ${bad} case(s) wrong` : `check-snippets self-test: all ${SELF_TEST.length} cases as expected`);
  return bad ? 1 : 0;
}

function main(argv) {
  if (argv.includes('--self-test')) return selfTest();
  const lenient = new Set();
  const files = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] == '--lenient') lenient.add(argv[++i]);
    else files.push(argv[i]);
  }
  const paths = files.length ? files : defaultFiles();
  const docs = paths.map((p) => ({ path: relative(ROOT, resolve(p)), text: readFileSync(resolve(p), 'utf8') }));
  const { failures, counts } = check(docs);
  let hard = 0;
  for (const f of failures) {
    const soft = lenient.has(f.path);
    if (!soft) hard++;
    console.log(`${f.path}:${f.line}: ${f.message}${soft ? ' (lenient: reported, not failing)' : ''}`);
  }
  console.log(
    `snippets: ${counts.checked} blocks checked, ${counts.skipped} skipped with a reason, ${counts.unchecked} not checkable (diff, text, css) in ${docs.length} files; ${failures.length} problems${failures.length - hard ? ` (${failures.length - hard} lenient)` : ''}`,
  );
  return hard ? 1 : 0;
}

process.exitCode = main(process.argv.slice(2));
