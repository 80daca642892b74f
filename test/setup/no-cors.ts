// Suite-wide check: no HTTP response sent by any test server may carry an Access-Control-* (CORS) header.
import { ServerResponse } from 'node:http';

const violations: string[] = [];
const isCors = (name: unknown): boolean => typeof name === 'string' && name.toLowerCase().startsWith('access-control-');

const originalSetHeader = ServerResponse.prototype.setHeader;
ServerResponse.prototype.setHeader = function setHeader(
  this: ServerResponse,
  name: string,
  value: number | string | readonly string[],
) {
  if (isCors(name)) violations.push(`${this.req?.method ?? '?'} ${this.req?.url ?? '?'}: ${name}`);
  return originalSetHeader.call(this, name, value);
};

const originalWriteHead = ServerResponse.prototype.writeHead;
ServerResponse.prototype.writeHead = function writeHead(this: ServerResponse, ...args: unknown[]) {
  for (const arg of args) {
    if (arg && typeof arg === 'object') {
      const names = Array.isArray(arg) ? arg.filter((_, i) => i % 2 === 0) : Object.keys(arg);
      for (const name of names)
        if (isCors(name)) violations.push(`${this.req?.method ?? '?'} ${this.req?.url ?? '?'}: ${String(name)}`);
    }
  }
  return (originalWriteHead as (...a: unknown[]) => ServerResponse).apply(this, args);
} as typeof ServerResponse.prototype.writeHead;

afterAll(() => {
  expect(violations).toEqual([]);
});
