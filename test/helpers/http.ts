// supertest calls that also record every response body, for the end-of-suite leak scan.
import type { Express } from 'express';
import request, { type Response } from 'supertest';

export interface RecordingClient {
  responses: string[];
  get(path: string, headers?: Record<string, string>): Promise<Response>;
  post(path: string, body?: unknown, headers?: Record<string, string>): Promise<Response>;
  patch(path: string, body?: unknown, headers?: Record<string, string>): Promise<Response>;
  delete(path: string, headers?: Record<string, string>): Promise<Response>;
}

export function recordingClient(app: Express, base = '/admin/udapi'): RecordingClient {
  const responses: string[] = [];
  // A create or rotate response may carry the one-time secret in its `secret` field, and only there.
  const keep = (res: Response, oneTimeSecretAllowed = false): Response => {
    const body: unknown = res.body;
    const text =
      oneTimeSecretAllowed && typeof body === 'object' && body !== null && 'secret' in body
        ? JSON.stringify({ ...body, secret: '[one-time secret]' })
        : res.text;
    responses.push(JSON.stringify(res.headers) + text);
    return res;
  };
  const mayCarrySecret = (path: string): boolean => path === '/tokens' || path.endsWith('/rotate');
  return {
    responses,
    get: async (path, headers = {}) =>
      keep(
        await request(app)
          .get(base + path)
          .set(headers),
      ),
    post: async (path, body, headers = {}) => {
      const req = request(app)
        .post(base + path)
        .set(headers);
      return keep(await (body === undefined ? req : req.send(body as object)), mayCarrySecret(path));
    },
    patch: async (path, body, headers = {}) => {
      const req = request(app)
        .patch(base + path)
        .set(headers);
      return keep(await (body === undefined ? req : req.send(body as object)));
    },
    delete: async (path, headers = {}) =>
      keep(
        await request(app)
          .delete(base + path)
          .set(headers),
      ),
  };
}
