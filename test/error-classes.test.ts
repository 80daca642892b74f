// Every error class lives in the one error module with a stable code; the public ones stay TypeErrors, as hosts catch them.
import fs from 'node:fs';
import path from 'node:path';
import { createUserDefinedApis, OptionsError, RegistrationError } from '../src';
import * as errors from '../src/errors';
import { ActionRegistry } from '../src/actions/registry';

const SRC = path.join(__dirname, '..', 'src');

describe('public error classes', () => {
  it('OptionsError: code InvalidOptions, a TypeError, the message prefixed with the factory', () => {
    let caught: unknown;
    try {
      createUserDefinedApis(null as never);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(OptionsError);
    expect(caught).toBeInstanceOf(TypeError);
    const error = caught as OptionsError;
    expect({ name: error.name, code: error.code }).toEqual({ name: 'OptionsError', code: 'InvalidOptions' });
    expect(error.message).toMatch(/^createUserDefinedApis: /);
  });

  it('RegistrationError: code InvalidRegistration, a TypeError', () => {
    const registry = new ActionRegistry();
    let caught: unknown;
    try {
      registry.registerHandler('bad name', () => ({ responseCode: 200 }));
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(RegistrationError);
    expect(caught).toBeInstanceOf(TypeError);
    const error = caught as RegistrationError;
    expect({ name: error.name, code: error.code }).toEqual({ name: 'RegistrationError', code: 'InvalidRegistration' });
  });
});

describe('the one error module', () => {
  /** An instance of each error class src/errors.ts exports, and the code it must carry. */
  const samples: Record<string, [Error, unknown]> = {
    AdminError: [errors.AdminError.of('InvalidName', 'x'), 'InvalidName'],
    OptionsError: [new errors.OptionsError('x'), 'InvalidOptions'],
    RegistrationError: [new errors.RegistrationError('x'), 'InvalidRegistration'],
    UsageError: [new errors.UsageError('x'), 'InvalidUsage'],
    PepperMismatchError: [new errors.PepperMismatchError('udapiMeta'), 'PepperMismatch'],
    TimeoutError: [new errors.TimeoutError(), 'ActionTimeout'],
    ClientGoneError: [new errors.ClientGoneError(), 'ClientGone'],
    PingTimeout: [new errors.PingTimeout('The database did not answer a ping within 500 ms'), 'PingTimeout'],
    QueueFullError: [new errors.QueueFullError(), 'QueueFull'],
    BodyTooLargeError: [new errors.BodyTooLargeError(), 'BodyTooLarge'],
    BodyBudgetExceededError: [new errors.BodyBudgetExceededError(), 'BodyBudgetExceeded'],
    BodyIdleError: [new errors.BodyIdleError(), 'BodyIdle'],
    BodyReadError: [new errors.BodyReadError('x'), 'BodyRead'],
    BcryptOverloadedError: [new errors.BcryptOverloadedError(), 'BcryptOverloaded'],
    RateLimitStoreError: [new errors.RateLimitStoreError(new Error('down')), 'RateLimitStoreFailed'],
    EndpointError: [new errors.EndpointError('AuthenticationFailed'), 1010],
    UserDefinedApisError: [
      new errors.UserDefinedApisError({
        source: 'admin',
        status: 403,
        code: 'MissingPermission',
        message: 'x',
        body: { errors: [] },
      }),
      'MissingPermission',
    ],
  };

  it('every exported error class is listed here, so none is left without a code', () => {
    const classes = Object.entries(errors)
      .filter(
        ([, value]) => typeof value === 'function' && (value as { prototype: unknown }).prototype instanceof Error,
      )
      .map(([name]) => name)
      .sort();
    expect(classes).toEqual(Object.keys(samples).sort());
  });

  it.each(Object.entries(samples))('%s carries its code and its own name', (name, [error, code]) => {
    expect({ name: error.name, code: (error as unknown as { code: unknown }).code }).toEqual({ name, code });
  });

  it('no error class is declared outside src/errors.ts (the browser UI aside)', () => {
    const declared: string[] = [];
    const walk = (dir: string): void => {
      for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
        const full = path.join(dir, entry.name);
        if (entry.isDirectory()) walk(full);
        else if (entry.name.endsWith('.ts') && full !== path.join(SRC, 'errors.ts')) {
          const text = fs.readFileSync(full, 'utf8');
          if (/class \w+ extends (\w*Error)\b/.test(text)) declared.push(path.relative(SRC, full));
        }
      }
    };
    walk(SRC);
    expect(declared).toEqual([]);
  });
});
