// Lints OpenAPI documents read from stdin ({ name: document, ... }) with Redocly's recommended rules
// (@redocly/openapi-core, ESM only, hence a process of its own); prints each document's problems as JSON.
import { createConfig, lintFromString } from '@redocly/openapi-core';

let text = '';
for await (const chunk of process.stdin) text += chunk;
const documents = JSON.parse(text);
const config = await createConfig({ extends: ['recommended'] });
const report = {};
for (const [name, document] of Object.entries(documents)) {
  const problems = await lintFromString({ source: JSON.stringify(document), absoluteRef: `${name}.json`, config });
  report[name] = problems.map((problem) => ({
    rule: problem.ruleId,
    severity: problem.severity,
    message: problem.message,
    where: problem.location.map((location) => location.pointer).join(' '),
  }));
}
process.stdout.write(JSON.stringify(report));
