// The registry of actions (handlers and procedures) by name; definitions refer to them and the endpoint runs them.
import { RegistrationError } from '../errors';
import type { ActionHandler, ActionInfo, ProcedureHandler, ProcedureOptions } from './types';

export const ACTION_NAME_PATTERN = /^[A-Za-z0-9_][A-Za-z0-9_.:-]{0,199}$/;
const PARAMETER_NAME_MAX_LENGTH = 200;
const MAX_PARAMETERS = 100;

export type RegisteredAction =
  | { kind: 'handler'; name: string; run: ActionHandler }
  | { kind: 'procedure'; name: string; parameters: readonly string[]; run: ProcedureHandler };

export class ActionRegistry {
  private readonly actions = new Map<string, RegisteredAction>();

  registerHandler(name: string, handler: ActionHandler): void {
    this.checkName(name, 'registerHandler');
    if (typeof handler !== 'function')
      throw new RegistrationError(`registerHandler('${name}', fn): fn must be a function (input) => output.`);
    this.actions.set(name, { kind: 'handler', name, run: handler });
  }

  registerProcedure(name: string, options: ProcedureOptions, procedure: ProcedureHandler): void {
    this.checkName(name, 'registerProcedure');
    if (typeof procedure !== 'function') {
      throw new RegistrationError(
        `registerProcedure('${name}', options, fn): fn must be a function (parameters, context) => void.`,
      );
    }
    const parameters = (options as ProcedureOptions | undefined)?.parameters;
    if (!Array.isArray(parameters) || parameters.length > MAX_PARAMETERS) {
      throw new RegistrationError(
        `registerProcedure('${name}', { parameters }): parameters must be an array of at most ${MAX_PARAMETERS} names, e.g. { parameters: ['encoderId'] }.`,
      );
    }
    const seen = new Set<string>();
    for (const parameter of parameters as unknown[]) {
      if (typeof parameter !== 'string' || parameter.trim() === '' || parameter.length > PARAMETER_NAME_MAX_LENGTH) {
        throw new RegistrationError(
          `registerProcedure('${name}'): each parameter must be a non-blank string of at most ${PARAMETER_NAME_MAX_LENGTH} characters.`,
        );
      }
      if (seen.has(parameter))
        throw new RegistrationError(`registerProcedure('${name}'): parameter '${parameter}' is declared twice.`);
      seen.add(parameter);
    }
    this.actions.set(name, { kind: 'procedure', name, parameters: Object.freeze([...seen]), run: procedure });
  }

  get(name: string): RegisteredAction | undefined {
    return this.actions.get(name);
  }

  list(): ActionInfo[] {
    return [...this.actions.values()]
      .map((action): ActionInfo =>
        action.kind === 'procedure'
          ? { name: action.name, kind: action.kind, parameters: [...action.parameters] }
          : { name: action.name, kind: action.kind },
      )
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  private checkName(name: unknown, method: string): asserts name is string {
    if (typeof name !== 'string' || !ACTION_NAME_PATTERN.test(name)) {
      throw new RegistrationError(
        `${method}: the name must be 1-200 characters of letters, digits and _ . : - (starting with a letter, digit or _), e.g. 'encoders.status'; got ${JSON.stringify(name)}.`,
      );
    }
    const existing = this.actions.get(name);
    if (existing) {
      throw new RegistrationError(
        `${method}('${name}'): an action of that name is already registered (a ${existing.kind}); choose another name.`,
      );
    }
  }
}
