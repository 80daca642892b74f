// Lints OpenAPI documents read from stdin ({ name: document, ... }) with Spectral's `spectral:oas` ruleset (its
// recommended rules), in a process of its own like the other linters; prints each document's problems as JSON.
import spectralCore from '@stoplight/spectral-core';
import spectralRulesets from '@stoplight/spectral-rulesets';

const { Spectral } = spectralCore;
/** Spectral's numeric severities, as its CLI names them. */
const SEVERITIES = ['error', 'warn', 'info', 'hint'];

let text = '';
for await (const chunk of process.stdin) text += chunk;
const documents = JSON.parse(text);
const spectral = new Spectral();
spectral.setRuleset({ extends: [[spectralRulesets.oas, 'recommended']] });
const report = {};
for (const [name, document] of Object.entries(documents)) {
  // Spectral writes an object out as text and parses that, so each problem has its place; refs resolve within it.
  const problems = await spectral.run(document);
  report[name] = problems.map((problem) => ({
    rule: String(problem.code),
    severity: SEVERITIES[problem.severity] ?? String(problem.severity),
    message: problem.message,
    where: `#/${problem.path.map((token) => String(token).replace(/~/g, '~0').replace(/\//g, '~1')).join('/')}`,
  }));
}
process.stdout.write(JSON.stringify(report));
