// Refuses an option key that does not exist, naming the one it most likely meant (for nested options too).
import { OptionsError } from '../errors';
import { closestName } from './closest-name';

/**
 * Refuses a key the option does not have, at the top level or inside a nested option (where a typo would otherwise
 * leave the default silently in force), naming the key it most likely meant.
 */
export function checkKeys(value: object, known: readonly string[], parent: string): void {
  for (const key of Object.keys(value)) {
    if (known.includes(key)) continue;
    const suggestion = closestName(key, known);
    const hint = suggestion === undefined ? '' : ` did you mean \`${parent}${suggestion}\`?`;
    throw new OptionsError(
      `unknown option \`${parent}${key}\`;${hint} ${parent ? `\`${parent.slice(0, -1)}\` takes` : 'known options:'} ${known.join(', ')}.`,
    );
  }
}
