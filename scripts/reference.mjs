// Writes the generated reference tables of README.md and docs/*.md from the code (TSDoc, catalogues, operations,
// metrics, CLI usage); --check only compares; --root DIR works on another copy of README.md and docs/.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const require = createRequire(import.meta.url);
const ts = require('typescript');

/** Table cells are one line; a pipe would end the cell. */
const cell = (text) =>
  String(text)
    .replace(/\s*\n\s*/g, ' ')
    .replace(/\|/g, '\\|')
    .trim();
const table = (head, rows) =>
  [
    `| ${head.join(' | ')} |`,
    `|${head.map(() => '---').join('|')}|`,
    ...rows.map((row) => `| ${row.map(cell).join(' | ')} |`),
  ].join('\n');

/** The TypeScript program of the package's sources, for reading TSDoc as the compiler sees it. */
function sourceProgram() {
  const program = ts.createProgram([path.join(root, 'src', 'index.ts')], {
    strict: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.CommonJS,
    esModuleInterop: true,
    skipLibCheck: true,
  });
  return {
    program,
    checker: program.getTypeChecker(),
    index: program.getSourceFile(path.join(root, 'src', 'index.ts')),
  };
}

function docOf(checker, symbol) {
  return ts.displayPartsToString(symbol.getDocumentationComment(checker)).trim();
}

function exportedSymbols({ checker, index }) {
  const moduleSymbol = checker.getSymbolAtLocation(index);
  return checker.getExportsOfModule(moduleSymbol).map((symbol) => {
    const target = symbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol) : symbol;
    return { name: symbol.getName(), symbol: target };
  });
}

function interfaceMembers(source, interfaceName) {
  const found = exportedSymbols(source).find(({ name }) => name === interfaceName);
  if (!found) throw new Error(`src/index.ts does not export ${interfaceName}`);
  const type = source.checker.getDeclaredTypeOfSymbol(found.symbol);
  return type.getProperties().map((property) => {
    const declaration = property.valueDeclaration ?? property.declarations?.[0];
    const typeText = declaration?.type
      ? declaration.type.getText()
      : source.checker.typeToString(source.checker.getTypeOfSymbolAtLocation(property, declaration));
    const optional = (property.flags & ts.SymbolFlags.Optional) !== 0;
    return { name: property.getName(), doc: docOf(source.checker, property), typeText, optional, declaration };
  });
}

function optionsSection(source) {
  const rows = interfaceMembers(source, 'UserDefinedApisOptions').map(({ name, doc, typeText, optional }) => [
    `\`${name}\`${optional ? '' : ' (required)'}`,
    `\`${typeText.replace(/\s+/g, ' ')}\``,
    doc,
  ]);
  return table(['option', 'type', 'meaning and default'], rows);
}

function signatureOf(declaration) {
  const parameters = declaration?.parameters?.map((parameter) => parameter.name.getText()).join(', ');
  return parameters === undefined ? '' : `(${parameters})`;
}

function publicApiSection(source) {
  const rows = [];
  const types = [];
  for (const { name, symbol } of exportedSymbols(source)) {
    const declaration = symbol.valueDeclaration ?? symbol.declarations?.[0];
    const isValue = (symbol.flags & ts.SymbolFlags.Value) !== 0;
    if (!isValue) {
      types.push(`\`${name}\``);
      continue;
    }
    const shown = ts.isFunctionDeclaration(declaration) ? `${name}${signatureOf(declaration)}` : name;
    rows.push([`\`${shown}\``, docOf(source.checker, symbol)]);
    if (name === 'createUserDefinedApis') {
      for (const member of interfaceMembers(source, 'UserDefinedApis'))
        rows.push([`\`udapi.${member.name}${signatureOf(member.declaration)}\``, member.doc]);
    }
  }
  rows.push(['types', types.join(', ')]);
  return table(['export', 'what it is'], rows);
}

/** `ApiToken` for a reference to it, `ApiTokenWithSecret or ApiToken` for a choice of references; no body: empty. */
function bodyName(schema) {
  if (!schema) return '';
  if (schema.$ref) return `\`${schema.$ref.split('/').pop()}\``;
  if (schema.anyOf) return schema.anyOf.map(bodyName).join(' or ');
  return 'JSON';
}

function adminOperationsSection(dist) {
  const { ADMIN_OPERATIONS } = require(path.join(dist, 'http', 'reference-routes.js'));
  const rows = ADMIN_OPERATIONS.map((operation) => [
    `\`${operation.method.toUpperCase()} ${operation.path}\``,
    operation.permissions.length > 0 ? operation.permissions.join(' **and** ') : 'any admin user',
    [operation.success.status, bodyName(operation.success.schema)].filter(Boolean).join(' '),
    operation.description ? `${operation.summary}. ${operation.description}` : operation.summary,
  ]);
  return table(['method and path', 'permission', 'success', 'what it does'], rows);
}

function adminErrorsSection(dist) {
  const { ErrorReasons } = require(path.join(dist, 'errors.js'));
  return table(
    ['reason', 'status', 'when'],
    Object.entries(ErrorReasons).map(([reason, { status, description }]) => [`\`${reason}\``, status, description]),
  );
}

function endpointErrorsSection(dist) {
  const { ErrorCodes } = require(path.join(dist, 'errors.js'));
  return table(
    ['code', 'name', 'HTTP', 'when'],
    Object.entries(ErrorCodes).map(([name, entry]) => [entry.code, name, entry.status, entry.when ?? entry.detail]),
  );
}

function permissionsSection(dist) {
  const { Permissions } = require(path.join(dist, 'permissions.js'));
  return table(
    ['constant', 'permission name'],
    Object.entries(Permissions).map(([key, value]) => [`\`Permissions.${key}\``, `\`${value}\``]),
  );
}

function metricsSection(dist) {
  const { METRIC_DEFINITIONS } = require(path.join(dist, 'metrics', 'definitions.js'));
  return table(
    ['metric', 'type', 'labels', 'meaning'],
    METRIC_DEFINITIONS.map((metric) => [
      `\`udapi_${metric.name}\``,
      metric.type,
      metric.labels.length > 0 ? metric.labels.map((label) => `\`${label}\``).join(', ') : '',
      metric.help,
    ]),
  );
}

function cliSection(dist) {
  const usage = execFileSync(process.execPath, [path.join(dist, 'cli', 'udapi.js'), '--help'], {
    encoding: 'utf8',
  }).trimEnd();
  return ['```', usage, '```'].join('\n');
}

export const SECTIONS = {
  'public-api': ({ source }) => publicApiSection(source),
  options: ({ source }) => optionsSection(source),
  permissions: ({ dist }) => permissionsSection(dist),
  'admin-operations': ({ dist }) => adminOperationsSection(dist),
  'admin-errors': ({ dist }) => adminErrorsSection(dist),
  'endpoint-errors': ({ dist }) => endpointErrorsSection(dist),
  metrics: ({ dist }) => metricsSection(dist),
  cli: ({ dist }) => cliSection(dist),
};

const markersOf = (name) => ({
  start: `<!-- reference:${name} (generated by npm run reference; edit the code, not this table) -->`,
  end: `<!-- /reference:${name} -->`,
});

/** The Markdown files that may hold generated sections: README.md and docs/*.md, as paths relative to `rootDir`. */
export function documentFiles(rootDir) {
  const docs = path.join(rootDir, 'docs');
  const pages = existsSync(docs)
    ? readdirSync(docs)
        .filter((name) => name.endsWith('.md'))
        .sort()
        .map((name) => `docs/${name}`)
    : [];
  return ['README.md', ...pages].filter((file) => existsSync(path.join(rootDir, file)));
}

function occurrences(text, marker) {
  let count = 0;
  for (let at = text.indexOf(marker); at >= 0; at = text.indexOf(marker, at + marker.length)) count += 1;
  return count;
}

/**
 * Which file holds each generated section. Throws (before any work) unless every section's start and end markers
 * appear exactly once across all the files, in the same file, the start before the end; or when a file names a
 * section that does not exist.
 */
export function locateSections(texts) {
  const files = Object.keys(texts);
  const where = {};
  for (const name of Object.keys(SECTIONS)) {
    const { start, end } = markersOf(name);
    const starts = files.flatMap((file) => Array(occurrences(texts[file], start)).fill(file));
    const ends = files.flatMap((file) => Array(occurrences(texts[file], end)).fill(file));
    const problem =
      starts.length === 0 && ends.length === 0
        ? 'found in none of them'
        : starts.length !== 1 || ends.length !== 1
          ? `found ${starts.length} start and ${ends.length} end markers (${[...new Set([...starts, ...ends])].join(', ')})`
          : starts[0] !== ends[0]
            ? `start in ${starts[0]}, end in ${ends[0]}`
            : texts[starts[0]].indexOf(end) < texts[starts[0]].indexOf(start)
              ? `end before start in ${starts[0]}`
              : null;
    if (problem) {
      throw new Error(
        `The markers of the generated section '${name}' must appear exactly once across ${files.join(', ')}: ${problem}.\n${start}\n${end}`,
      );
    }
    where[name] = starts[0];
  }
  for (const file of files) {
    for (const [, opening, closing] of texts[file].matchAll(
      /<!-- reference:(\S+) \(generated by npm run reference|<!-- \/reference:(\S+) -->/g,
    )) {
      const name = opening ?? closing;
      if (!(name in SECTIONS))
        throw new Error(
          `${file} marks a generated section '${name}' that does not exist; the sections are ${Object.keys(SECTIONS).join(', ')}.`,
        );
    }
  }
  return where;
}

/** The text with the named sections rewritten (their markers must be in it). */
export function regenerate(text, names, context) {
  let updated = text;
  for (const name of names) {
    const { start, end } = markersOf(name);
    const from = updated.indexOf(start);
    const to = updated.indexOf(end);
    updated = `${updated.slice(0, from + start.length)}\n${SECTIONS[name](context)}\n${updated.slice(to)}`;
  }
  return updated;
}

/** The body of a section as it stands in a text, markers excluded. */
function sectionBody(text, name) {
  const { start, end } = markersOf(name);
  return text.slice(text.indexOf(start) + start.length, text.indexOf(end));
}

/**
 * Every document under `rootDir` with its sections regenerated: for each file that holds sections, its text
 * before and after, and the sections whose content changed.
 */
export function regenerateAll(rootDir, context) {
  const texts = Object.fromEntries(
    documentFiles(rootDir).map((file) => [file, readFileSync(path.join(rootDir, file), 'utf8')]),
  );
  const where = locateSections(texts);
  return Object.keys(texts).flatMap((file) => {
    const names = Object.keys(SECTIONS).filter((name) => where[name] === file);
    if (names.length === 0) return [];
    const original = texts[file];
    const updated = regenerate(original, names, context);
    return [
      {
        file,
        original,
        updated,
        stale: names.filter((name) => sectionBody(original, name) !== sectionBody(updated, name)),
      },
    ];
  });
}

function main() {
  const args = process.argv.slice(2);
  const check = args.includes('--check');
  const rootDir = args.includes('--root') ? path.resolve(args[args.indexOf('--root') + 1]) : root;
  let source;
  // The TypeScript program takes seconds to build: only when a section needs it.
  const context = {
    get source() {
      return (source ??= sourceProgram());
    },
    dist: path.join(root, 'dist'),
  };
  const results = regenerateAll(rootDir, context);
  const changed = results.filter(({ original, updated }) => original !== updated);
  if (changed.length === 0) {
    console.log(`${results.map(({ file }) => file).join(', ')}: the reference sections match the code.`);
    return;
  }
  if (check) {
    const stale = changed.map(({ file, stale: names }) => `${file} (${names.join(', ')})`);
    console.error(`Out of date with the code: ${stale.join('; ')}. Run \`npm run reference\` and commit the result.`);
    process.exit(1);
  }
  for (const { file, updated } of changed) writeFileSync(path.join(rootDir, file), updated);
  console.log(`Reference sections rewritten in ${changed.map(({ file }) => file).join(', ')}.`);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    main();
  } catch (error) {
    console.error(error.message);
    process.exit(2);
  }
}
