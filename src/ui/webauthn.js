// The browser half of passkey ceremonies. The server (webauthn-rs) sends
// options with base64url strings where the WebAuthn API wants bytes, and
// expects base64url back. Errors are thrown as the DOMException name.

const toBytes = (b64url) => {
  const b64 = b64url.replace(/-/g, '+').replace(/_/g, '/');
  const padded = b64 + '='.repeat((4 - (b64.length % 4)) % 4);
  const binary = atob(padded);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes.buffer;
};

const toBase64url = (buffer) => {
  const bytes = new Uint8Array(buffer);
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
};

const descriptors = (list) => list && list.map((c) => ({ ...c, id: toBytes(c.id) }));

let conditionalRequest = null;

export function abortConditional() {
  if (conditionalRequest) {
    conditionalRequest.abort();
    conditionalRequest = null;
  }
}

export async function conditionalMediationAvailable() {
  try {
    return Boolean(
      window.PublicKeyCredential &&
        PublicKeyCredential.isConditionalMediationAvailable &&
        (await PublicKeyCredential.isConditionalMediationAvailable()),
    );
  } catch (_) {
    return false;
  }
}

export async function createPasskey(optionsJson) {
  try {
    const { publicKey } = JSON.parse(optionsJson);
    publicKey.challenge = toBytes(publicKey.challenge);
    publicKey.user.id = toBytes(publicKey.user.id);
    publicKey.excludeCredentials = descriptors(publicKey.excludeCredentials);
    abortConditional();
    const credential = await navigator.credentials.create({ publicKey });
    return JSON.stringify({
      id: credential.id,
      rawId: toBase64url(credential.rawId),
      type: credential.type,
      response: {
        attestationObject: toBase64url(credential.response.attestationObject),
        clientDataJSON: toBase64url(credential.response.clientDataJSON),
      },
      extensions: credential.getClientExtensionResults(),
    });
  } catch (e) {
    throw String((e && e.name) || e);
  }
}

export async function getPasskey(optionsJson, conditional) {
  try {
    const { publicKey } = JSON.parse(optionsJson);
    publicKey.challenge = toBytes(publicKey.challenge);
    publicKey.allowCredentials = descriptors(publicKey.allowCredentials);
    abortConditional();
    const controller = new AbortController();
    if (conditional) conditionalRequest = controller;
    const credential = await navigator.credentials.get({
      publicKey,
      signal: controller.signal,
      mediation: conditional ? 'conditional' : 'optional',
    });
    if (conditionalRequest === controller) conditionalRequest = null;
    const response = credential.response;
    return JSON.stringify({
      id: credential.id,
      rawId: toBase64url(credential.rawId),
      type: credential.type,
      response: {
        authenticatorData: toBase64url(response.authenticatorData),
        clientDataJSON: toBase64url(response.clientDataJSON),
        signature: toBase64url(response.signature),
        userHandle: response.userHandle ? toBase64url(response.userHandle) : null,
      },
      extensions: credential.getClientExtensionResults(),
    });
  } catch (e) {
    throw String((e && e.name) || e);
  }
}
