// A real OpenID Connect provider (npm oidc-provider) for the desktop sign-in tests: one native
// public client with PKCE, rotating refresh tokens, RS256 JWT access tokens shaped like Clerk's
// (sid, azp, o.id, o.rol; the default), Entra ID's (tid, roles, aud api://<app id>) or Okta's
// (cid, groups, a custom firm claim and audience) per OIDC_PROFILE, and a headless interaction
// that signs in OIDC_ACCOUNT (or the authorization request's login_hint) and consents. ID tokens
// carry the user's name and email (scopes profile, email); RFC 7009 revocation is on unless
// OIDC_REVOCATION=0. OIDC_PORT (or --port) picks the port, so a test can bring it back on the same
// issuer after stopping it.
// Usage: node oidc-provider.mjs [--port 0]   prints {"issuer":"http://127.0.0.1:PORT"} when ready.
import http from 'node:http';
import { generateKeyPairSync } from 'node:crypto';
import Provider from 'oidc-provider';

const arg = (name, fallback) => {
  const at = process.argv.indexOf(name);
  return at === -1 ? fallback : process.argv[at + 1];
};
const CLIENT_ID = process.env.OIDC_CLIENT_ID ?? 'lawyers-hub-desktop';
const ACCOUNT = process.env.OIDC_ACCOUNT ?? 'ada@firm-acme';
const FIRM = process.env.OIDC_FIRM ?? 'firm-acme';
const RESOURCE = 'urn:lawyers-hub:sync';
// The name in the ID token (profile scope): "Ada Lovelace" for the default account.
const PEOPLE = { 'ada@firm-acme': 'Ada Lovelace' };
const personName = (account) => PEOPLE[account] ?? account.split('@')[0];
const PROFILE = process.env.OIDC_PROFILE ?? 'clerk';
// Accounts that are firm admins in the token's own terms (Clerk role, Entra app role, Okta group).
const ADMINS = (process.env.OIDC_ADMINS ?? ACCOUNT).split(',');
const ENTRA_APP_ID = '6f0c3c1e-5b7a-4d0e-9a51-3c2b1d0e9f87';
const AUDIENCE = process.env.OIDC_AUDIENCE ?? {
  clerk: RESOURCE,
  entra: `api://${ENTRA_APP_ID}`,
  okta: 'https://hub.firm-okta.test/api',
}[PROFILE];
if (AUDIENCE === undefined) throw new Error(`OIDC_PROFILE must be clerk, entra or okta (got ${PROFILE})`);

// "ada@firm-acme" → "Ada": a display name for the directory.
const displayName = (account) => account.split('@')[0].replace(/^./, (c) => c.toUpperCase());

// The access token's claims beyond sub/iss/aud/exp/iat/jti/client_id/scope, as each provider
// shapes them.
function accessTokenClaims(token) {
  const account = token.accountId;
  const admin = ADMINS.includes(account);
  const name = displayName(account);
  switch (PROFILE) {
    case 'entra': // v2.0 access token for an API with app roles; no email claim by default
      return {
        azp: token.clientId, azpacr: '0', ver: '2.0', tid: FIRM, oid: `oid-${account}`,
        roles: admin ? ['Hub.Admin', 'Hub.User'] : ['Hub.User'],
        name, preferred_username: account, scp: 'sync',
      };
    case 'okta': // custom authorization server: cid instead of azp, groups and firm claims added
      return {
        cid: token.clientId, uid: `uid-${account}`, ver: 1,
        groups: admin ? ['Everyone', 'Hub Admins'] : ['Everyone'],
        firm: FIRM, name, email: account,
      };
    default: // Clerk: organization claims, name and email from a customized session token
      return {
        sid: token.sessionUid ?? token.grantId, azp: token.clientId,
        o: { id: FIRM, rol: admin ? 'admin' : 'basic_member' },
        name, email: account,
      };
  }
}

// The port is known only once the server listens, and the issuer must contain it.
const server = http.createServer();
await new Promise((resolve) => server.listen(Number(process.env.OIDC_PORT ?? arg('--port', '0')), '127.0.0.1', resolve));
// OIDC_ISSUER: the provider sits behind a TLS-terminating proxy (nginx) at that https:// address;
// endpoint URLs then follow the forwarded host and protocol.
const issuer = process.env.OIDC_ISSUER ?? `http://127.0.0.1:${server.address().port}`;
const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });

const provider = new Provider(issuer, {
  clients: [{
    client_id: CLIENT_ID,
    application_type: 'native', // loopback redirects match on any port (RFC 8252 §7.3)
    token_endpoint_auth_method: 'none',
    redirect_uris: ['http://127.0.0.1/callback'],
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
  }],
  jwks: { keys: [{ ...privateKey.export({ format: 'jwk' }), kid: 'test-rs256', alg: 'RS256', use: 'sig' }] },
  findAccount: (ctx, sub) => ({ accountId: sub, claims: () => ({ sub, email: sub, email_verified: true, name: personName(sub) }) }),
  claims: { openid: ['sub'], profile: ['name'], email: ['email', 'email_verified'] },
  // Name and email in the ID token itself (as Clerk, Entra ID and Okta do), not only at userinfo.
  conformIdTokenClaims: false,
  pkce: { methods: ['S256'], required: () => true },
  scopes: ['openid', 'offline_access', 'profile', 'email', 'sync'],
  issueRefreshToken: (ctx, client) => client.grantTypeAllowed('refresh_token'),
  rotateRefreshToken: true,
  ttl: {
    AccessToken: Number(process.env.OIDC_ACCESS_TTL ?? 300),
    AuthorizationCode: 60, IdToken: 300, RefreshToken: 86400, Session: 3600, Interaction: 300, Grant: 86400,
  },
  cookies: { keys: ['lawyers-hub-test-only-cookie-key'] },
  features: {
    devInteractions: { enabled: false },
    revocation: { enabled: process.env.OIDC_REVOCATION !== '0' },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => RESOURCE,
      useGrantedResource: () => true,
      getResourceServerInfo: () => ({ scope: 'sync', audience: AUDIENCE, accessTokenFormat: 'jwt', jwt: { sign: { alg: 'RS256' } } }),
    },
  },
  extraTokenClaims: (ctx, token) => (token.kind === 'AccessToken' ? accessTokenClaims(token) : undefined),
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  renderError: (ctx, out) => { ctx.type = 'json'; ctx.body = out; },
});

// Headless interaction: sign in ACCOUNT (or login_hint) and grant everything asked for, then
// resume the flow.
async function interaction(req, res) {
  try {
    const { prompt, params, session, grantId } = await provider.interactionDetails(req, res);
    const grant = grantId
      ? await provider.Grant.find(grantId)
      : new provider.Grant({ accountId: session?.accountId ?? params.login_hint ?? ACCOUNT, clientId: params.client_id });
    grant.addOIDCScope(String(params.scope ?? 'openid'));
    grant.addResourceScope(RESOURCE, 'sync');
    const result = { consent: { grantId: await grant.save() } };
    if (prompt.name === 'login') result.login = { accountId: params.login_hint ?? ACCOUNT };
    await provider.interactionFinished(req, res, result, { mergeWithLastSubmission: false });
  } catch (error) {
    res.writeHead(500, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ error: String(error) }));
  }
}

if (process.env.OIDC_ISSUER) provider.proxy = true;
const callback = provider.callback();
server.on('request', (req, res) => (req.url.startsWith('/interaction/') ? interaction(req, res) : callback(req, res)));
const stop = () => server.close(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
console.log(JSON.stringify({ issuer }));
