// POST /explain of the admin router: why would the endpoint accept or refuse this secret on this path?
import { Router } from 'express';
import { Permissions } from '../permissions';
import type { ExplainRequest, Explainer } from '../services/explainer';
import type { Logger } from '../types';
import { adminState, hasPermission } from './admin-auth';
import { register, type AdminOperation, type NoQuery } from './operation';
import { ref } from './response-schemas';
import { emptyQuerySchema, explainSchema } from '../domain/schemas';

/** POST /explain. Whoever may hand out and rotate secrets may ask why one is refused. */
export const explainOperations = {
  explain: {
    method: 'post',
    path: '/explain',
    operationId: 'explainCall',
    tag: 'Explain',
    summary: 'Why the endpoint would accept or refuse a secret on a method and path',
    description: 'Nothing runs and nothing is counted; the secret is never echoed or logged.',
    permissions: [Permissions.TokenCreateUpdate],
    query: emptyQuerySchema,
    body: explainSchema,
    success: {
      status: 200,
      description: "The verdict, in the endpoint's order of checks.",
      schema: ref('Explanation'),
    },
    errors: [],
  },
} as const satisfies Record<string, AdminOperation>;

export function explainRoute(explainer: Explainer, log: Logger): Router {
  const router = Router();
  register<NoQuery, ExplainRequest>(router, explainOperations.explain, async (req, res, { body }) => {
    const { user, traceId } = adminState(req);
    const explanation = await explainer.explain(body, hasPermission(user, Permissions.DefinitionRead));
    // Never the secret: the verdict and the token it belongs to (if any) are enough to audit the question.
    log.info(
      { traceId, user: user.name, verdict: explanation.verdict, tokenId: explanation.token?.id },
      `Explained a call for ${user.name}: ${explanation.verdict}`,
    );
    res.json(explanation);
  });
  return router;
}
