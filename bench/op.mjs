// The certified Node provider, oidc-provider 9, configured like 1Auth for
// the side-by-side benchmark (scripts/bench.sh): PKCE required, refresh
// tokens rotated on every use and issued on every code exchange, no consent
// screen, ES256 ID tokens and ES256 JWT client_credentials tokens, 300 s
// access tokens. Its storage is the in-memory adapter (no durability, one
// process), and devInteractions accepts any login without hashing a
// password: both favour it against 1Auth, which commits to disk and runs
// argon2id.
import Provider from 'oidc-provider';
import MemoryAdapter from 'oidc-provider/lib/adapters/memory_adapter.js';
import LRU from 'oidc-provider/lib/helpers/lru.js';
import * as jose from 'jose';

// The default in-memory store keeps only the 1,000 most recent entries: at
// 256 refresh chains it evicted live refresh tokens, so most chains died on
// invalid_grant and the provider went on serving a hundred. Every entry
// still expires with its token; this store is only large enough to keep
// every live one, as a real adapter would.
const store = new LRU({ maxSize: 10_000_000 });

const port = Number(process.env.PORT ?? 3400);
const issuer = `http://localhost:${port}`;
export const SECRET = 'bench-machine-secret-0123456789abcdef';

const { privateKey } = await jose.generateKeyPair('ES256', { extractable: true });
const jwk = { ...(await jose.exportJWK(privateKey)), alg: 'ES256', use: 'sig', kid: 'bench' };

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: 'bench-public',
      token_endpoint_auth_method: 'none',
      redirect_uris: ['http://localhost:5173/cb'],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      id_token_signed_response_alg: 'ES256',
    },
    {
      client_id: 'bench-machine',
      client_secret: SECRET,
      token_endpoint_auth_method: 'client_secret_basic',
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      id_token_signed_response_alg: 'ES256',
    },
  ],
  adapter: (model) => new MemoryAdapter(model, store),
  jwks: { keys: [jwk] },
  cookies: { keys: ['bench-cookie-key-0123456789abcdef'] },
  features: {
    devInteractions: { enabled: true },
    clientCredentials: { enabled: true },
    introspection: { enabled: true },
    revocation: { enabled: true },
    resourceIndicators: {
      enabled: true,
      // Machine tokens are JWTs (like 1Auth's); the user flow keeps its
      // opaque access token, the only kind oidc-provider introspects.
      defaultResource: (ctx, client) => (client?.clientId === 'bench-machine' ? 'urn:bench:api' : undefined),
      getResourceServerInfo: () => ({
        scope: 'api',
        accessTokenFormat: 'jwt',
        accessTokenTTL: 300,
        jwt: { sign: { alg: 'ES256' } },
      }),
      useGrantedResource: () => true,
    },
  },
  pkce: { required: () => true },
  rotateRefreshToken: true,
  issueRefreshToken: async () => true,
  // No consent screen (1Auth has none): every grant is already given.
  async loadExistingGrant(ctx) {
    const grant = new ctx.oidc.provider.Grant({
      clientId: ctx.oidc.client.clientId,
      accountId: ctx.oidc.session.accountId,
    });
    grant.addOIDCScope('openid offline_access');
    await grant.save();
    return grant;
  },
  ttl: {
    AccessToken: 300,
    ClientCredentials: 300,
    AuthorizationCode: 60,
    IdToken: 300,
    RefreshToken: 14 * 24 * 3600,
    Grant: 14 * 24 * 3600,
    Session: 10 * 3600,
    Interaction: 3600,
  },
  findAccount: async (ctx, sub) => ({ accountId: sub, claims: async () => ({ sub }) }),
  scopes: ['openid', 'offline_access', 'api'],
});
provider.proxy = false;

provider.listen(port, '127.0.0.1', () => {
  console.log(`oidc-provider listening on ${issuer}`);
});
