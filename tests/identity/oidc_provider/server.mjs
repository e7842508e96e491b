// A real OpenID Connect provider for Enclave's sign-in tests: panva's oidc-provider (OpenID
// certified), with its own login and consent pages instead of the library's development ones.
//
//   node server.mjs CONFIG.json
//
// CONFIG.json (tests/identity/conftest.py writes one per test run; demo/config.json is the
// README's): {"issuer": "http://127.0.0.1:PORT", "clients": [...client metadata...],
//             "accounts_file": "accounts.json", "jwks": {"keys": [...private JWKs...]}}
// A relative accounts_file is read from beside CONFIG.json; without jwks a signing key is made at
// start-up (tokens then stop verifying when the provider restarts, which is fine for a demo).
//
// The accounts file is read again at every login and every claims lookup, so a test changes a
// person's groups (or password) by rewriting it:
//   [{"sub": "...", "login": "dana", "password": "...", "claims": {"email": "...", "groups": [...]}}]

import { generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import Provider from 'oidc-provider';

const configPath = process.argv[2];
const config = JSON.parse(readFileSync(configPath, 'utf8'));
const accountsFile = resolve(dirname(configPath), config.accounts_file);

function accounts() {
  return JSON.parse(readFileSync(accountsFile, 'utf8'));
}

function signingKeys() {
  if (config.jwks) return config.jwks;
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { keys: [{ ...privateKey.export({ format: 'jwk' }), kid: 'generated-at-start', alg: 'RS256', use: 'sig' }] };
}

const provider = new Provider(config.issuer, {
  clients: config.clients,
  jwks: signingKeys(),
  // The authorization code flow only with PKCE: a client that sends no code_challenge is refused.
  pkce: { required: () => true },
  scopes: ['openid', 'profile', 'email', 'groups', 'offline_access'],
  claims: {
    openid: ['sub'],
    profile: ['name', 'given_name', 'family_name', 'preferred_username'],
    email: ['email', 'email_verified'],
    groups: ['groups'],
  },
  features: {
    devInteractions: { enabled: false },
    rpInitiatedLogout: { enabled: true },
  },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  cookies: { keys: ['enclave-test-provider-cookie-key'] },
  async findAccount(ctx, sub) {
    const account = accounts().find((candidate) => candidate.sub === sub);
    if (!account) return undefined;
    return { accountId: sub, claims: async () => ({ sub, ...account.claims }) };
  },
});

const escape = (text) => String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function page(title, body) {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escape(title)}</title></head>
<body><main><h1>${escape(title)}</h1>${body}</main></body></html>`;
}

function loginPage(uid, clientId, error = '') {
  return page('Test provider sign-in', `
<p>Signing in to ${escape(clientId)}</p>
${error ? `<p role="alert">${escape(error)}</p>` : ''}
<form method="post" action="/interaction/${escape(uid)}/login">
  <label>Login <input name="login" autocomplete="username" required autofocus></label>
  <label>Password <input name="password" type="password" autocomplete="current-password" required></label>
  <button type="submit">Sign in at the provider</button>
</form>`);
}

function consentPage(uid, clientId, scopes) {
  return page('Allow access', `
<p>${escape(clientId)} asks for: ${escape(scopes.join(', '))}</p>
<form method="post" action="/interaction/${escape(uid)}/confirm"><button type="submit">Allow</button></form>`);
}

async function formBody(ctx) {
  let raw = '';
  for await (const chunk of ctx.req) raw += chunk;
  return Object.fromEntries(new URLSearchParams(raw));
}

async function consentResult(details) {
  const { prompt, params, session } = details;
  const grant = details.grantId
    ? await provider.Grant.find(details.grantId)
    : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
  if (prompt.details.missingOIDCScope) grant.addOIDCScope(prompt.details.missingOIDCScope.join(' '));
  if (prompt.details.missingOIDCClaims) grant.addOIDCClaims(prompt.details.missingOIDCClaims);
  for (const [indicator, scopes] of Object.entries(prompt.details.missingResourceScopes || {})) {
    grant.addResourceScope(indicator, scopes.join(' '));
  }
  const grantId = await grant.save();
  return { consent: details.grantId ? {} : { grantId } };
}

// The login and consent pages (oidc-provider leaves these to the application).
provider.use(async (ctx, next) => {
  const match = ctx.path.match(/^\/interaction\/([^/]+)(?:\/(login|confirm))?$/);
  if (!match) return next();
  const [, uid, action] = match;
  const details = await provider.interactionDetails(ctx.req, ctx.res);
  const clientId = details.params.client_id;
  ctx.type = 'html';
  if (ctx.method === 'GET' && !action) {
    const scopes = String(details.params.scope || '').split(' ');
    ctx.body = details.prompt.name === 'login' ? loginPage(uid, clientId) : consentPage(uid, clientId, scopes);
    return undefined;
  }
  if (ctx.method !== 'POST') {
    ctx.status = 405;
    return undefined;
  }
  let result;
  if (action === 'login') {
    const form = await formBody(ctx);
    const account = accounts().find((candidate) => candidate.login === form.login);
    if (!account || account.password !== form.password) {
      ctx.body = loginPage(uid, clientId, 'Wrong login or password.');
      return undefined;
    }
    result = { login: { accountId: account.sub } };
  } else {
    result = await consentResult(details);
  }
  ctx.redirect(await provider.interactionResult(ctx.req, ctx.res, result, { mergeWithLastSubmission: true }));
  return undefined;
});

// What the provider refused and why, in its log (the fixture shows the log when a test fails to start it).
for (const event of ['authorization.error', 'end_session.error', 'grant.error', 'userinfo.error', 'server_error']) {
  provider.on(event, (ctx, error) => console.error(`${event}: ${error.message} ${error.error_description || ''}`, error.cause || ''));
}

const server = provider.listen(Number(new URL(config.issuer).port), '127.0.0.1', () => {
  console.log(`oidc-provider listening on ${config.issuer}`);
});
for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => server.close(() => process.exit(0)));
