// Writes the README's reference tables from the code (TSDoc, catalogues, operations, metrics, CLI usage); --check only compares.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const require = createRequire(import.meta.url);
const ts = require('typescript');

/** Table cells are one line; a pipe would end the cell. */
const cell = (text) => String(text).replace(/\s*\n\s*/g, ' ').replace(/\|/g, '\\|').trim();
const table = (head, rows) => [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`, ...rows.map((row) => `| ${row.map(cell).join(' | ')} |`)].join('\n');

/** The TypeScript program of the package's sources, for reading TSDoc as the compiler sees it. */
function sourceProgram() {
  const program = ts.createProgram([path.join(root, 'src', 'index.ts')], { strict: true, target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.CommonJS, esModuleInterop: true, skipLibCheck: true });
  return { program, checker: program.getTypeChecker(), index: program.getSourceFile(path.join(root, 'src', 'index.ts')) };
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
    const typeText = declaration?.type ? declaration.type.getText() : source.checker.typeToString(source.checker.getTypeOfSymbolAtLocation(property, declaration));
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
      for (const member of interfaceMembers(source, 'UserDefinedApis')) rows.push([`\`udapi.${member.name}${signatureOf(member.declaration)}\``, member.doc]);
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
  return table(['reason', 'status', 'when'], Object.entries(ErrorReasons).map(([reason, { status, description }]) => [`\`${reason}\``, status, description]));
}

function endpointErrorsSection(dist) {
  const { ErrorCodes } = require(path.join(dist, 'errors.js'));
  return table(['code', 'name', 'HTTP', 'when'], Object.entries(ErrorCodes).map(([name, entry]) => [entry.code, name, entry.status, entry.when ?? entry.detail]));
}

function permissionsSection(dist) {
  const { Permissions } = require(path.join(dist, 'permissions.js'));
  return table(['constant', 'permission name'], Object.entries(Permissions).map(([key, value]) => [`\`Permissions.${key}\``, `\`${value}\``]));
}

function metricsSection(dist) {
  const { METRIC_DEFINITIONS } = require(path.join(dist, 'metrics', 'definitions.js'));
  return table(['metric', 'type', 'labels', 'meaning'], METRIC_DEFINITIONS.map((metric) => [
    `\`udapi_${metric.name}\``, metric.type, metric.labels.length > 0 ? metric.labels.map((label) => `\`${label}\``).join(', ') : '', metric.help,
  ]));
}

function cliSection(dist) {
  const usage = execFileSync(process.execPath, [path.join(dist, 'cli', 'udapi.js'), '--help'], { encoding: 'utf8' }).trimEnd();
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

/** The README with every marked section rewritten; throws (before any work) when a marker pair is missing or broken. */
export function regenerate(readme, context) {
  for (const name of Object.keys(SECTIONS)) {
    const { start, end } = markersOf(name);
    const from = readme.indexOf(start);
    if (from < 0 || readme.indexOf(end) < from) throw new Error(`README.md lacks the markers of the generated section '${name}':\n${start}\n${end}`);
  }
  let text = readme;
  for (const [name, build] of Object.entries(SECTIONS)) {
    const { start, end } = markersOf(name);
    const from = text.indexOf(start);
    const to = text.indexOf(end);
    text = `${text.slice(0, from + start.length)}\n${build(context)}\n${text.slice(to)}`;
  }
  return text;
}

function main() {
  const args = process.argv.slice(2);
  const check = args.includes('--check');
  const readmeAt = args.includes('--readme') ? path.resolve(args[args.indexOf('--readme') + 1]) : path.join(root, 'README.md');
  let source;
  // The TypeScript program takes seconds to build: only when a section needs it.
  const context = { get source() { return (source ??= sourceProgram()); }, dist: path.join(root, 'dist') };
  const readme = readFileSync(readmeAt, 'utf8');
  const updated = regenerate(readme, context);
  if (updated === readme) {
    console.log(`${path.relative(root, readmeAt)}: the reference sections match the code.`);
    return;
  }
  if (check) {
    const stale = Object.keys(SECTIONS).filter((name) => {
      const marker = `<!-- /reference:${name} -->`;
      return readme.slice(0, readme.indexOf(marker)).split('<!-- reference:').pop() !== updated.slice(0, updated.indexOf(marker)).split('<!-- reference:').pop();
    });
    console.error(`${path.relative(root, readmeAt)} is out of date with the code in: ${stale.join(', ')}. Run \`npm run reference\` and commit the result.`);
    process.exit(1);
  }
  writeFileSync(readmeAt, updated);
  console.log(`${path.relative(root, readmeAt)}: reference sections rewritten.`);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    main();
  } catch (error) {
    console.error(error.message);
    process.exit(2);
  }
}
