// What the suite runs against, from the environment (tests/e2e/test_sdk_typescript.py sets
// it after starting real `sessionshot serve` and `sessionshot worker` processes).
import { SessionShot } from "../dist/index.js";

function required(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run these tests through the project's suite`);
  return value;
}

export const env = {
  get url() {
    return required("SESSIONSHOT_URL");
  },
  get apiKey() {
    return required("SESSIONSHOT_API_KEY");
  },
  /** The loopback test site the workspace is allowed on (`https://app.test:PORT`). */
  get site() {
    return required("SESSIONSHOT_TEST_SITE");
  },
  /** The same test site under a name the workspace is not allowed on. */
  get otherSite() {
    return required("SESSIONSHOT_OTHER_SITE");
  },
  /** An instance with a rate limit of a few requests a second, and a key of it. */
  get limitedUrl() {
    return required("SESSIONSHOT_LIMITED_URL");
  },
  get limitedApiKey() {
    return required("SESSIONSHOT_LIMITED_API_KEY");
  },
  /** A certificate and key for `app.test`, for a webhook receiver of the tests. */
  get tlsCert() {
    return required("SESSIONSHOT_TEST_TLS_CERT");
  },
  get tlsKey() {
    return required("SESSIONSHOT_TEST_TLS_KEY");
  },
  /** Signatures made by the Python `standardwebhooks` library (a JSON file). */
  get webhookVectors() {
    return required("SESSIONSHOT_WEBHOOK_VECTORS");
  },
};

export function client(options = {}) {
  return new SessionShot({ baseUrl: env.url, apiKey: env.apiKey, ...options });
}
