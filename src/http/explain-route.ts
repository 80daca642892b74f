// POST /explain of the admin router: why would the endpoint accept or refuse this secret on this path?
import { Router } from 'express';
import { Permissions } from '../permissions';
import type { ExplainRequest, Explainer } from '../services/explainer';
import type { Logger } from '../types';
import { adminState, hasPermission, requirePermissions } from './admin-auth';
import { emptyQuerySchema, explainSchema } from './schemas';
import { bodyValidator, queryValidator } from './validate';

const validateBody = bodyValidator<ExplainRequest>(explainSchema);
const validateNoQuery = queryValidator<Record<string, never>>(emptyQuerySchema);

export function explainRoute(explainer: Explainer, log: Logger): Router {
  const router = Router();
  // Whoever may hand out and rotate secrets may ask why one is refused.
  router.post('/explain', requirePermissions(Permissions.TokenCreateUpdate), async (req, res) => {
    validateNoQuery(req.query);
    const { user, traceId } = adminState(req);
    const explanation = await explainer.explain(validateBody(req.body), hasPermission(user, Permissions.DefinitionRead));
    // Never the secret: the verdict and the token it belongs to (if any) are enough to audit the question.
    log.info({ traceId, user: user.name, verdict: explanation.verdict, tokenId: explanation.token?.id }, `Explained a call for ${user.name}: ${explanation.verdict}`);
    res.json(explanation);
  });
  return router;
}
