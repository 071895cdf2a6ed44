/**
 * What cognito-local 5.3 leaves out of a user's lifecycle, added to its target table before its
 * server is built (child.cjs), so the local stack behaves as Amazon Cognito does when an operator
 * cuts a user off:
 *
 * - InitiateAuth and AdminInitiateAuth refuse a disabled user, for every flow including refresh
 *   (cognito-local signs them in). AWS: "A deactivated user can't sign in"
 *   (https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_AdminDisableUser.html);
 *   the refusal is NotAuthorizedException "User is disabled.", as Cognito answers.
 * - AdminUserGlobalSignOut (missing from cognito-local) invalidates every refresh token of the
 *   user: "no longer accepts a signed-out user's refresh tokens in refresh requests"
 *   (https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_AdminUserGlobalSignOut.html).
 *
 * Nothing in node_modules is edited: cognito-local's Router looks targets up in its exported
 * `Targets` table on each request, and this module replaces entries of that table in the child's
 * memory only.
 */
'use strict';

const path = require('node:path');

/** Install the lifecycle targets into cognito-local (the package directory given). */
function installUserLifecycle(packageDir) {
  const { Targets } = require(path.join(packageDir, 'lib/targets/targets.js'));
  const errors = require(path.join(packageDir, 'lib/errors.js'));
  if (typeof Targets?.InitiateAuth !== 'function' || typeof Targets.AdminInitiateAuth !== 'function') {
    throw new Error('cognito-local has no InitiateAuth target table: this version is not supported');
  }
  for (const name of ['InitiateAuth', 'AdminInitiateAuth']) {
    const original = Targets[name];
    Targets[name] = (services) => {
      const target = original(services);
      return async (ctx, req) => {
        await refuseDisabled(services, ctx, req, errors);
        return target(ctx, req);
      };
    };
  }
  Targets.AdminUserGlobalSignOut = (services) => async (ctx, req) => {
    const userPool = await services.cognito.getUserPool(ctx, req.UserPoolId);
    const user = await userPool.getUserByUsername(ctx, req.Username);
    if (!user) throw new errors.UserNotFoundError();
    await userPool.saveUser(ctx, { ...user, RefreshTokens: [], UserLastModifiedDate: services.clock.get() });
    return {};
  };
}

/** The user a sign-in names (by username, or by the refresh token it presents); refused when disabled. */
async function refuseDisabled(services, ctx, req, errors) {
  const params = req.AuthParameters ?? {};
  let userPool;
  try {
    userPool = await services.cognito.getUserPoolForClientId(ctx, req.ClientId);
  } catch {
    return; // an unknown client: the original target refuses it
  }
  const refresh = params.REFRESH_TOKEN;
  const user = refresh
    ? await userPool.getUserByRefreshToken(ctx, refresh)
    : typeof params.USERNAME === 'string'
      ? await userPool.getUserByUsername(ctx, params.USERNAME)
      : null;
  if (user && user.Enabled === false) throw new errors.NotAuthorizedError('User is disabled.');
}

module.exports = { installUserLifecycle };
