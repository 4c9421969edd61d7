/**
 * Runtime signing-key rotation, programmatic (LocalTarget.signingKeys) and over the admin API:
 *
 *   GET    /admin/v1/signing-keys              every key: kid, algorithm, state, createdAt, publicJwk
 *   POST   /admin/v1/signing-keys              add an ES256 key in standby (published in the JWKS)   → 201
 *   POST   /admin/v1/signing-keys/:kid/current make a key current (the old current one becomes previously used)
 *   POST   /admin/v1/signing-keys/:kid/revoke  revoke a standby or previously used key
 *
 * Every route needs `Authorization: Bearer <admin token>`, like the fault API. Rotations are
 * counted in target_auth_signing_key_rotations_total{trigger}.
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import { adminGuard } from '../faults/admin-routes.js';
import type { TargetMetrics } from '../target-metrics.js';
import { SigningKeyError, type SigningKeyStore, type SigningKeys } from './signing-keys.js';

export const SIGNING_KEYS_PATH = '/admin/v1/signing-keys';

export type SigningKeyControl = Pick<SigningKeys, 'list' | 'addStandby' | 'makeCurrent' | 'revoke'>;

/** The rotation operations, counting each change of current key under `trigger`. */
export function signingKeyControl(
  store: SigningKeyStore,
  metrics: TargetMetrics,
  trigger: 'admin' | 'fault',
): SigningKeyControl {
  return {
    list: () => store.list(),
    addStandby: () => store.addStandby(),
    makeCurrent(kid) {
      const before = store.current().kid;
      const info = store.makeCurrent(kid);
      if (before !== info.kid) metrics.signingKeyRotations.inc({ trigger });
      return info;
    },
    revoke: (kid) => store.revoke(kid),
  };
}

export async function registerSigningKeyRoutes(
  app: FastifyInstance,
  control: SigningKeyControl,
  adminToken: string,
): Promise<void> {
  const requireAdmin = adminGuard(adminToken);

  const answer = async (reply: FastifyReply, run: () => unknown): Promise<FastifyReply> => {
    try {
      return reply.send(await run());
    } catch (error) {
      if (error instanceof SigningKeyError) {
        return reply
          .code(error.status)
          .send({ error: 'signing key change refused', message: error.message, hint: error.hint });
      }
      throw error;
    }
  };

  app.get(SIGNING_KEYS_PATH, { preHandler: requireAdmin }, async () => ({ keys: control.list() }));

  app.post(SIGNING_KEYS_PATH, { preHandler: requireAdmin }, async (_request, reply) => {
    const kid = await control.addStandby();
    return reply.code(201).send(control.list().find((key) => key.kid === kid));
  });

  app.post(`${SIGNING_KEYS_PATH}/:kid/current`, { preHandler: requireAdmin }, async (request, reply) =>
    answer(reply, () => control.makeCurrent((request.params as { kid: string }).kid)),
  );

  app.post(`${SIGNING_KEYS_PATH}/:kid/revoke`, { preHandler: requireAdmin }, async (request, reply) =>
    answer(reply, () => control.revoke((request.params as { kid: string }).kid)),
  );
}
