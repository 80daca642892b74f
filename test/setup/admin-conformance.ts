// Suite-wide check: every answer of a test app's admin router (test/helpers/app.ts) kept to the admin OpenAPI
// document: a status and error reason the operation documents, and a body of the documented shape.
import { conformanceProblems } from '../helpers/admin-conformance';

afterAll(() => {
  expect(conformanceProblems()).toEqual([]);
});
