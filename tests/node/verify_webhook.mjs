// Verifies one webhook delivery with the standardwebhooks npm library, as docs/webhooks.md
// shows: reads {"secret", "body" (base64 of the raw bytes), "headers"} on stdin, prints the
// verified event as JSON; exits 1 (the error on stderr) when verification fails.
import { Webhook } from "standardwebhooks";

let input = "";
for await (const chunk of process.stdin) input += chunk;
const { secret, body, headers } = JSON.parse(input);
try {
  const event = new Webhook(secret).verify(Buffer.from(body, "base64"), headers);
  console.log(JSON.stringify(event));
} catch (err) {
  console.error(`${err.name}: ${err.message}`);
  process.exit(1);
}
