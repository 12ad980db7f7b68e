// Starts panva's oidc-provider (the version package-lock.json pins) on 127.0.0.1 for
// grantbench's suites. The Go package beside this file (internal/oidcprovider) runs it
// and hands it its settings as JSON in GRANTBENCH_OIDC_PROVIDER:
//
//   port                 the port to listen on; 0 takes a free one
//   webRedirectURIs      redirect URIs of the confidential clients "web" and "other";
//                        oidc-provider matches a web client's redirect URI exactly
//   fapiJwks             the public JWK set of the FAPI 2.0 clients (private_key_jwt);
//                        without it those clients are not registered
//   fapiRedirectURIs     redirect URIs of the FAPI 2.0 clients
//
// Once it listens it writes one JSON line to stdout, {"issuer": "http://127.0.0.1:PORT"},
// and it stops on SIGTERM, SIGINT, or when its stdin closes (so that it never outlives
// the test that started it).
//
// Everything here is configuration through oidc-provider's documented options: the
// provider's code, its login and consent pages (devInteractions) and its device pages
// are its own, so what the suites observe is oidc-provider's behaviour. Where an option
// differs from the library's default, the comment says why. Secrets are fixtures of a
// loopback-only provider; signing keys and cookie keys are made fresh at every start.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';

import Provider from 'oidc-provider';

const settings = JSON.parse(process.env.GRANTBENCH_OIDC_PROVIDER || '{}');

// signingKey makes a fresh private JWK for the provider's keystore.
function signingKey(type, options, alg, kid) {
  const { privateKey } = generateKeyPairSync(type, options);
  return { ...privateKey.export({ format: 'jwk' }), alg, use: 'sig', kid };
}

const jwks = {
  keys: [
    // RS256 first: a client that names no id_token_signed_response_alg gets RS256,
    // the OIDC default.
    signingKey('rsa', { modulusLength: 2048 }, 'RS256', 'rs256-1'),
    // ES256 for the FAPI 2.0 clients (FAPI 2.0 Security Profile 5.4: PS256, ES256 or EdDSA).
    signingKey('ec', { namedCurve: 'P-256' }, 'ES256', 'es256-1'),
  ],
};

// The test user's claims; devInteractions takes any login and password and makes the
// login the account ID, so every account answers with these claims.
async function findAccount(ctx, sub) {
  return {
    accountId: sub,
    async claims() {
      return {
        sub,
        name: `Test User ${sub}`,
        preferred_username: sub,
        email: `${sub}@example.invalid`,
        email_verified: true,
      };
    },
  };
}

const deviceGrant = 'urn:ietf:params:oauth:grant-type:device_code';

const clients = [
  // Confidential web clients: code flow with refresh, HTTP Basic. "other" exists for
  // the checks that one client cannot use what was issued to another.
  ...['web', 'other'].map((id) => ({
    client_id: id,
    client_secret: `${id}-secret`,
    application_type: 'web',
    token_endpoint_auth_method: 'client_secret_basic',
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    redirect_uris: settings.webRedirectURIs?.length ? settings.webRedirectURIs : ['https://redirect-uri.invalid/unregistered'],
  })),
  // A public native client: PKCE required (oidc-provider's pkce.required default for
  // auth method none), any loopback port (RFC 8252 7.3, application_type native).
  {
    client_id: 'native',
    application_type: 'native',
    token_endpoint_auth_method: 'none',
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    redirect_uris: ['http://127.0.0.1/callback'],
  },
  // A public device client (RFC 8628): a TV app has no secret to keep.
  {
    client_id: 'device',
    application_type: 'native',
    token_endpoint_auth_method: 'none',
    grant_types: [deviceGrant, 'refresh_token'],
    response_types: [],
    redirect_uris: [],
  },
  // A service client that may use the client credentials grant only, for api.read.
  {
    client_id: 'service',
    client_secret: 'service-secret',
    token_endpoint_auth_method: 'client_secret_basic',
    grant_types: ['client_credentials'],
    response_types: [],
    redirect_uris: [],
    scope: 'api.read',
  },
];

// FAPI 2.0 clients (features.fapi.profile below names them): PAR required, DPoP-bound
// tokens, private_key_jwt with ES256, ID tokens signed ES256.
const fapiClientIDs = new Set();
if (settings.fapiJwks) {
  for (const id of ['fapi', 'fapi-other']) {
    fapiClientIDs.add(id);
    clients.push({
      client_id: id,
      application_type: 'web',
      token_endpoint_auth_method: 'private_key_jwt',
      token_endpoint_auth_signing_alg: 'ES256',
      id_token_signed_response_alg: 'ES256',
      jwks: settings.fapiJwks,
      grant_types: ['authorization_code', 'refresh_token', 'client_credentials'],
      response_types: ['code'],
      redirect_uris: settings.fapiRedirectURIs?.length ? settings.fapiRedirectURIs : ['https://redirect-uri.invalid/unregistered'],
      require_pushed_authorization_requests: true,
      dpop_bound_access_tokens: true,
    });
  }
}

const server = createServer();
server.listen(settings.port ?? 0, '127.0.0.1', () => {
  const issuer = `http://127.0.0.1:${server.address().port}`;
  const provider = new Provider(issuer, {
    clients,
    jwks,
    findAccount,
    // Scopes the provider knows: the OIDC ones and api.read, a resource scope the
    // suites need to try widening a refresh to (R1). The claims each scope releases:
    scopes: ['openid', 'offline_access', 'profile', 'email', 'api.read'],
    claims: {
      openid: ['sub'],
      profile: ['name', 'preferred_username'],
      email: ['email', 'email_verified'],
    },
    cookies: { keys: [randomBytes(32).toString('base64url')] },
    features: {
      // oidc-provider's own login and consent pages (a development convenience a
      // deployment replaces with its own): the suites drive them in Chromium.
      devInteractions: { enabled: true },
      deviceFlow: { enabled: true },
      clientCredentials: { enabled: true },
      introspection: { enabled: true },
      revocation: { enabled: true },
      // PAR (RFC 9126) is on by default; required per client (the FAPI clients).
      pushedAuthorizationRequests: { enabled: true },
      // DPoP (RFC 9449) is on by default; a nonce secret lets it issue DPoP-Nonce.
      dPoP: { enabled: true, nonceSecret: randomBytes(32) },
      fapi: {
        enabled: true,
        profile: (ctx, client) => (client && fapiClientIDs.has(client.clientId) ? '2.0' : undefined),
      },
    },
    // Every refresh rotates its token (RFC 9700 4.14.2; the default rotates only for
    // public clients or late in the token's life), so reuse detection can be checked.
    rotateRefreshToken: true,
    // The library's default lifetimes, stated so it does not log that they should be
    // chosen: access token 1 h, code 60 s, device code 10 min, refresh token 14 days.
    ttl: {
      AccessToken: (ctx, token) => token.resourceServer?.accessTokenTTL || 60 * 60,
      AuthorizationCode: 60,
      ClientCredentials: (ctx, token) => token.resourceServer?.accessTokenTTL || 10 * 60,
      DeviceCode: 10 * 60,
      IdToken: 60 * 60,
      RefreshToken: 14 * 24 * 60 * 60,
      Grant: 14 * 24 * 60 * 60,
      Interaction: 60 * 60,
      Session: 14 * 24 * 60 * 60,
    },
  });
  provider.on('server_error', (ctx, err) => {
    process.stderr.write(`oidc-provider server_error on ${ctx.method} ${ctx.path}: ${err.stack || err}\n`);
  });
  server.on('request', provider.callback());
  process.stdout.write(`${JSON.stringify({ issuer })}\n`);
});

function stop() {
  server.close(() => process.exit(0));
  server.closeAllConnections();
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
process.stdin.on('end', stop);
process.stdin.resume();
