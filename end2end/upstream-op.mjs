// The certified Node provider oidc-provider 9, as the upstream identity
// provider of the browser suite's apps (upstream.spec.ts). Started by
// Playwright beside 1Auth. Its accounts and their claims are whatever the
// tests put there (PUT /test/accounts/:id); its login page (devInteractions)
// takes any password for a known account. One confidential client per app
// the spec uses, each registered with that app's callback and back-channel
// logout URL, exactly as an operator would register 1Auth upstream.
import Provider from 'oidc-provider';
import * as jose from 'jose';

const port = Number(process.env.ONEAUTH_E2E_OP_PORT ?? 3400);
const oneauth = process.env.ONEAUTH_E2E_PUBLIC_URL ?? 'http://localhost:3210';
const issuer = `http://localhost:${port}`;
// The directory posts logout tokens server to server; Node resolves
// "localhost" to ::1 first, where 1Auth (bound to 127.0.0.1) is not.
const backChannel = oneauth.replace('//localhost:', '//127.0.0.1:');
export const APPS = ['up-a', 'up-b', 'up-c', 'up-d', 'up-e', 'up-f', 'up-g'];

const accounts = new Map();

const { privateKey } = await jose.generateKeyPair('RS256', { extractable: true });
const jwk = { ...(await jose.exportJWK(privateKey)), alg: 'RS256', use: 'sig', kid: 'e2e-upstream' };

const provider = new Provider(issuer, {
  clients: APPS.map((app) => ({
    client_id: `oneauth-${app}`,
    client_secret: `secret-of-${app}`,
    redirect_uris: [`${oneauth}/a/${app}/upstream/corp/callback`],
    post_logout_redirect_uris: [`${oneauth}/a/${app}/login`],
    backchannel_logout_uri: `${backChannel}/a/${app}/upstream/corp/backchannel_logout`,
    backchannel_logout_session_required: true,
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
  })),
  jwks: { keys: [jwk] },
  cookies: { keys: ['e2e-upstream-cookie-key-0123456789'] },
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name'],
    groups: ['groups'],
  },
  scopes: ['openid', 'email', 'profile', 'groups', 'offline_access'],
  pkce: { required: () => true },
  features: {
    devInteractions: { enabled: true },
    backchannelLogout: { enabled: true },
    rpInitiatedLogout: { enabled: true },
  },
  // oidc-provider refuses to call loopback addresses (its own SSRF guard,
  // like 1Auth's); here 1Auth is on loopback by design, so its logout
  // tokens go out with the plain dispatcher.
  fetch(url, options) {
    delete options.dispatcher;
    return globalThis.fetch(url, options);
  },
  async findAccount(_ctx, id) {
    const claims = accounts.get(id);
    if (!claims) return undefined;
    return { accountId: id, claims: async () => ({ sub: id, ...claims }) };
  },
  // No consent screen: the operator's directory trusts its own client.
  async loadExistingGrant(ctx) {
    const grantId = ctx.oidc.result?.consent?.grantId || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
    if (grantId) return ctx.oidc.provider.Grant.find(grantId);
    const grant = new ctx.oidc.provider.Grant({
      clientId: ctx.oidc.client.clientId,
      accountId: ctx.oidc.session.accountId,
    });
    grant.addOIDCScope('openid email profile groups');
    await grant.save();
    return grant;
  },
});

// The tests' control of the directory: accounts and their claims.
provider.use(async (ctx, next) => {
  const match = ctx.path.match(/^\/test\/accounts\/([^/]+)$/);
  if (match && ctx.method === 'PUT') {
    const chunks = [];
    for await (const chunk of ctx.req) chunks.push(chunk);
    accounts.set(decodeURIComponent(match[1]), JSON.parse(Buffer.concat(chunks).toString('utf8')));
    ctx.status = 204;
    return;
  }
  if (ctx.path === '/test/ready') {
    ctx.body = 'ok';
    return;
  }
  await next();
});

// A back-channel logout 1Auth refused is a test failure to explain.
provider.on('backchannel.error', (_ctx, err, client) => {
  console.error(`back-channel logout to ${client?.clientId} failed: ${err} ${err?.cause ?? ''}`);
});

provider.listen(port, '127.0.0.1', () => {
  console.log(`upstream provider at ${issuer}`);
});
