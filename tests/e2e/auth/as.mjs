// A real OAuth 2.1 authorization server for Capsule's auth tests: panva's certified
// `oidc-provider`, on 127.0.0.1 only.
//
//   node as.mjs CONFIG.json
//
// CONFIG.json:
//   {
//     "port": 0,                                   // 0 picks a free port
//     "resources": {                               // RFC 8707 resource indicators it knows
//       "http://127.0.0.1:PORT/mcp": {"scope": "notes:read notes:write", "format": "jwt", "alg": "ES256"},
//       "https://other.example/mcp": {"scope": "notes:read", "format": "jwt"}
//     },
//     "clients": [                                 // pre-registered clients (client_credentials)
//       {"client_id": "robot", "client_secret": "...", "scope": "notes:read", "ttl": 600}
//     ],
//     "algs": ["ES256", "RS256", "EdDSA"]          // signing keys to create (one per algorithm)
//   }
//
// Prints one line `{"issuer": "http://127.0.0.1:PORT"}` on stdout once it listens. Dynamic
// client registration (RFC 7591) is open (registrations are not limited to the scope they name),
// and the authorization endpoint logs in "alice" and grants what was asked without a page (a
// headless browser stand-in for the authorization-code + PKCE tests).
//
// Test-only endpoints (never part of a real AS):
//   POST /__test/rotate      replace the signing keys with new ones (new kids)
//   POST /__test/sign        {"claims": {...}, "header": {...}, "key": "current"|"foreign"|"hmac-public"}
//                            → {"token": "..."} signed with the AS's current key, with a key the
//                            AS never published (same kid), or HS256 keyed with the AS's public
//                            key (algorithm confusion): for claim and signature attacks; with
//                            "count": N, {"tokens": [...]}: N tokens, each with its own jti
//   GET  /__test/stats       {"jwks": <JWKS fetches>, "introspection": <introspection requests>}

import { createServer } from 'node:http';
import { readFileSync } from 'node:fs';
import { randomUUID, sign } from 'node:crypto';
import * as jose from 'jose';
import Provider, { errors } from 'oidc-provider';

const config = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const algs = config.algs ?? ['ES256'];
const stats = { jwks: 0, introspection: 0 };

async function makeKeys() {
  const keys = [];
  for (const alg of algs) {
    const { privateKey } = await jose.generateKeyPair(alg, { extractable: true, crv: alg === 'EdDSA' ? 'Ed25519' : undefined });
    const jwk = await jose.exportJWK(privateKey);
    keys.push({ ...jwk, alg, use: 'sig', kid: `${alg}-${randomUUID().slice(0, 8)}` });
  }
  return keys;
}

function resourceInfo(resource) {
  const rs = config.resources[resource];
  if (!rs) throw new errors.InvalidTarget(`unknown resource ${resource}`);
  return rs;
}

function buildProvider(issuer, keys) {
  const provider = new Provider(issuer, {
    jwks: { keys },
    clients: (config.clients ?? []).map((c) => ({
      client_id: c.client_id,
      client_secret: c.client_secret,
      grant_types: c.grant_types ?? ['client_credentials'],
      redirect_uris: [],
      response_types: [],
      ...(c.scope ? { scope: c.scope } : {}),
      token_endpoint_auth_method: 'client_secret_basic',
    })),
    cookies: { keys: ['capsule-test-cookie-key'] },
    findAccount: async (_ctx, sub) => ({ accountId: sub, claims: async () => ({ sub }) }),
    scopes: [...new Set(['openid', 'offline_access',
      ...Object.values(config.resources).flatMap((rs) => rs.scope.split(' '))])],
    pkce: { required: () => true },
    ttl: {
      AccessToken: (_ctx, token) => token.resourceServer?.accessTokenTTL ?? 600,
      ClientCredentials: (_ctx, token, client) => {
        const c = (config.clients ?? []).find((x) => x.client_id === client.clientId);
        return c?.ttl ?? token.resourceServer?.accessTokenTTL ?? 600;
      },
      AuthorizationCode: 60,
      Grant: 3600,
      Interaction: 600,
      Session: 3600,
      RefreshToken: 3600,
      IdToken: 600,
    },
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      introspection: { enabled: true, allowedPolicy: async () => true },
      registration: { enabled: true },
      revocation: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: async (_ctx, _client, oneOf) => oneOf ?? Object.keys(config.resources)[0],
        useGrantedResource: async () => true,
        getResourceServerInfo: async (_ctx, resource) => {
          const rs = resourceInfo(resource);
          const info = {
            scope: rs.scope,
            audience: resource,
            accessTokenTTL: rs.ttl ?? 600,
            accessTokenFormat: rs.format ?? 'jwt',
          };
          if (info.accessTokenFormat === 'jwt') info.jwt = { sign: { alg: rs.alg ?? algs[0] } };
          return info;
        },
      },
    },
  });
  provider.proxy = false;
  return provider;
}

let keys = await makeKeys();
let provider;
let handler;

// Headless "browser": log in alice and grant the requested scopes on the requested resource.
async function interaction(req, res) {
  const details = await provider.interactionDetails(req, res);
  const { params, prompt } = details;
  const result = {};
  if (prompt.name === 'login' || !details.session) {
    result.login = { accountId: 'alice' };
  }
  const grant = details.grantId
    ? await provider.Grant.find(details.grantId)
    : new provider.Grant({ accountId: 'alice', clientId: params.client_id });
  const scopes = String(params.scope ?? '').split(' ').filter(Boolean);
  // The resource scopes are also OP scopes here (so clients may register with them): grant both.
  if (scopes.length) grant.addOIDCScope(scopes.join(' '));
  const resources = [params.resource].flat().filter(Boolean);
  for (const resource of resources.length ? resources : Object.keys(config.resources).slice(0, 1)) {
    const allowed = new Set(resourceInfo(resource).scope.split(' '));
    const wanted = scopes.filter((s) => allowed.has(s));
    grant.addResourceScope(resource, wanted.join(' '));
  }
  result.consent = { grantId: await grant.save() };
  await provider.interactionFinished(req, res, result, { mergeWithLastSubmission: true });
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    let data = '';
    req.on('data', (c) => { data += c; });
    req.on('end', () => resolve(data));
    req.on('error', reject);
  });
}

function json(res, status, body) {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

const foreign = await (async () => {
  const out = {};
  for (const alg of algs) {
    const { privateKey } = await jose.generateKeyPair(alg, { extractable: true, crv: alg === 'EdDSA' ? 'Ed25519' : undefined });
    out[alg] = privateKey;
  }
  return out;
})();

async function testEndpoint(req, res, path) {
  if (path === '/__test/stats') return json(res, 200, stats);
  if (path === '/__test/rotate' && req.method === 'POST') {
    keys = await makeKeys();
    provider = buildProvider(provider.issuer, keys);
    handler = provider.callback();
    return json(res, 200, { kids: keys.map((k) => k.kid) });
  }
  if (path === '/__test/sign' && req.method === 'POST') {
    const body = JSON.parse((await readBody(req)) || '{}');
    const current = keys[0];
    const alg = body.header?.alg ?? current.alg;
    const header = { alg, kid: current.kid, typ: 'at+jwt', ...(body.header ?? {}) };
    if (body.key === 'hmac-public') {
      // Algorithm confusion: "sign" with HS256, using the AS's public key as the shared secret.
      const { d, p, q, dp, dq, qi, ...pub } = current;
      const secret = new TextEncoder().encode(JSON.stringify(pub));
      const token = await new jose.SignJWT(body.claims).setProtectedHeader(header).sign(secret);
      return json(res, 200, { token });
    }
    const jwk = keys.find((k) => k.alg === alg) ?? current;
    const key = body.key === 'foreign' ? foreign[alg] : await jose.importJWK(jwk, alg);
    if (header.crit) {
      // jose refuses to sign unknown critical parameters; a real AS might not: sign by hand.
      const b64 = (v) => Buffer.from(JSON.stringify(v)).toString('base64url');
      const input = `${b64(header)}.${b64(body.claims)}`;
      const digest = alg === 'EdDSA' ? null : 'sha256';
      const signature = sign(digest, Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' });
      return json(res, 200, { token: `${input}.${signature.toString('base64url')}` });
    }
    if (body.count) {
      // Many distinct tokens at once (each its own jti), e.g. to measure uncached verification.
      const tokens = [];
      for (let i = 0; i < body.count; i += 1) {
        tokens.push(await new jose.SignJWT({ ...body.claims, jti: randomUUID() }).setProtectedHeader(header).sign(key));
      }
      return json(res, 200, { tokens });
    }
    const token = await new jose.SignJWT(body.claims).setProtectedHeader(header).sign(key);
    return json(res, 200, { token });
  }
  return json(res, 404, { error: 'not found' });
}

const server = createServer(async (req, res) => {
  const url = new URL(req.url, 'http://127.0.0.1');
  try {
    if (url.pathname.startsWith('/__test/')) return await testEndpoint(req, res, url.pathname);
    if (url.pathname.startsWith('/interaction/')) return await interaction(req, res);
    if (url.pathname === '/reg' && req.method === 'POST') {
      // Dynamic registrations are not limited to the scope they name, so a client registered for
      // a little can step up later (MCP "Scope Challenge Handling"). oidc-provider reads an
      // already-consumed request's `req.body`.
      const metadata = JSON.parse((await readBody(req)) || '{}');
      delete metadata.scope;
      req.body = metadata;
    }
    if (url.pathname === '/jwks') stats.jwks += 1;
    if (url.pathname === '/token/introspection') stats.introspection += 1;
    return handler(req, res);
  } catch (error) {
    console.error(error);
    if (!res.headersSent) json(res, 500, { error: String(error) });
  }
});

server.listen(config.port ?? 0, '127.0.0.1', () => {
  const issuer = `http://127.0.0.1:${server.address().port}`;
  provider = buildProvider(issuer, keys);
  handler = provider.callback();
  process.stdout.write(`${JSON.stringify({ issuer })}\n`);
});
