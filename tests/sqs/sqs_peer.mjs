// Test peer for queue-stats' SQS collector:
//  - fauxqs (an SQS emulator, AWS JSON 1.0) bound to 127.0.0.1,
//  - in front of it a proxy that checks every request's SigV4 signature
//    with the official AWS signer (@smithy/signature-v4) and answers 403 as
//    AWS does when it does not match,
//  - fake STS (AssumeRoleWithWebIdentity, AssumeRole), container credential
//    and EC2 instance metadata (IMDSv2) endpoints on the same proxy port,
//  - a control port the C++ tests drive (queues, messages, faults).
// Usage: node sqs_peer.mjs --port-file F [--tls-cert C --tls-key K]
// Writes {"proxy":N,"control":N} to the port file once listening.
import { readFileSync, writeFileSync } from "node:fs";
import { createServer as createHttp, request as httpRequest } from "node:http";
import { createServer as createHttps } from "node:https";
import { Sha256 } from "@aws-crypto/sha256-js";
import { HttpRequest } from "@smithy/protocol-http";
import { SignatureV4 } from "@smithy/signature-v4";
import { buildApp } from "fauxqs";
// The store, for driving fauxqs' timers (delayed messages becoming
// visible); fauxqs exports only buildApp, so import it by path.
import { SqsStore } from "./node_modules/fauxqs/dist/sqs/sqsStore.js";
import { SnsStore } from "./node_modules/fauxqs/dist/sns/snsStore.js";
import { S3Store } from "./node_modules/fauxqs/dist/s3/s3Store.js";

const args = Object.fromEntries(
  process.argv.slice(2).reduce((acc, a, i, all) => (a.startsWith("--") ? [...acc, [a.slice(2), all[i + 1]]] : acc), []),
);

const sqsStore = new SqsStore();
const app = buildApp({ logger: false, stores: { sqsStore, snsStore: new SnsStore(), s3Store: new S3Store() } });
await app.listen({ port: 0, host: "127.0.0.1" });
const emulatorPort = app.server.address().port;

// Accepted credentials: access key -> { secret, token }.
const credentials = new Map([["AKIDQUEUESTATS", { secret: "queue-stats-test-secret", token: undefined }]]);
const faults = { throttleNext: 0, failNext: 0, failQueue: "", delayMs: 0 };
const stats = { verified: 0, rejected: 0, throttled: 0, failed: 0, actions: {}, rejections: [], sts: 0, imds: 0, container: 0 };
// Credentials the fake STS / IMDS / container endpoints hand out.
const issued = { accessKeyId: "ASIATEMPORARY", secret: "temporary-secret", token: "temporary-session-token", expiresInSeconds: 3600 };
const expected = { webIdentityToken: "", containerAuthorization: "", roleArn: "" };

function awsError(res, status, type, message) {
  res.writeHead(status, { "content-type": "application/x-amz-json-1.0" });
  res.end(JSON.stringify({ __type: type, message }));
}

async function verify(req, body) {
  const auth = req.headers["authorization"] ?? "";
  const m = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, SignedHeaders=([^,]+), Signature=([0-9a-f]{64})$/.exec(auth);
  if (!m) return { ok: false, type: "com.amazon.coral.service#MissingAuthenticationTokenException", why: "missing or malformed Authorization" };
  const [, keyId, day, region, service, signedHeaders] = m;
  const cred = credentials.get(keyId);
  if (!cred) return { ok: false, type: "com.amazon.coral.service#UnrecognizedClientException", why: "The security token included in the request is invalid." };
  const amzDate = req.headers["x-amz-date"] ?? "";
  if (!amzDate.startsWith(day)) return { ok: false, type: "com.amazon.coral.service#IncompleteSignatureException", why: "date mismatch" };
  if (cred.token !== undefined && req.headers["x-amz-security-token"] !== cred.token)
    return { ok: false, type: "com.amazon.coral.service#UnrecognizedClientException", why: "wrong session token" };
  // Re-sign exactly the headers the client says it signed, with the
  // official signer, and compare the Authorization headers.
  const headers = {};
  for (const h of signedHeaders.split(";")) {
    if (h === "x-amz-date" || h === "x-amz-security-token") continue;  // the signer adds these
    headers[h] = req.headers[h] ?? "";
  }
  const url = new URL(req.url, "http://" + req.headers.host);
  const query = Object.fromEntries(url.searchParams);
  const unsigned = new HttpRequest({ method: req.method, hostname: req.headers.host, path: url.pathname, query, headers, body });
  const signer = new SignatureV4({
    credentials: { accessKeyId: keyId, secretAccessKey: cred.secret, sessionToken: cred.token },
    region, service, sha256: Sha256, applyChecksum: false, uriEscapePath: true,
  });
  const iso = `${amzDate.slice(0, 4)}-${amzDate.slice(4, 6)}-${amzDate.slice(6, 8)}T${amzDate.slice(9, 11)}:${amzDate.slice(11, 13)}:${amzDate.slice(13, 15)}Z`;
  const signed = await signer.sign(unsigned, { signingDate: new Date(iso) });
  if (signed.headers["authorization"] !== auth)
    return { ok: false, type: "com.amazon.coral.service#InvalidSignatureException",
             why: "The request signature we calculated does not match the signature you provided.", expected: signed.headers["authorization"] };
  return { ok: true, service };
}

function readBody(req) {
  return new Promise((resolve) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
  });
}

function forward(req, body, res) {
  const up = httpRequest({ host: "127.0.0.1", port: emulatorPort, method: req.method, path: req.url, headers: { ...req.headers, host: `127.0.0.1:${emulatorPort}` } }, (r) => {
    res.writeHead(r.statusCode, r.headers);
    r.pipe(res);
  });
  up.end(body);
}

function credentialsJson() {
  const exp = new Date(Date.now() + issued.expiresInSeconds * 1000).toISOString().replace(/\.\d+Z$/, "Z");
  return { AccessKeyId: issued.accessKeyId, SecretAccessKey: issued.secret, Token: issued.token, Expiration: exp, Code: "Success" };
}

async function handle(req, res) {
  const body = await readBody(req);
  const url = new URL(req.url, "http://x");
  // EC2 instance metadata, IMDSv2.
  if (url.pathname === "/latest/api/token" && req.method === "PUT") {
    stats.imds++;
    res.writeHead(200, { "content-type": "text/plain" });
    return res.end("imds-session-token");
  }
  if (url.pathname.startsWith("/latest/meta-data/iam/security-credentials/")) {
    stats.imds++;
    if (req.headers["x-aws-ec2-metadata-token"] !== "imds-session-token") { res.writeHead(401); return res.end(); }
    const role = url.pathname.slice("/latest/meta-data/iam/security-credentials/".length);
    res.writeHead(200, { "content-type": "text/plain" });
    return res.end(role ? JSON.stringify(credentialsJson()) : "queue-stats-instance-role\n");
  }
  // ECS / EKS Pod Identity container credentials.
  if (url.pathname === "/v1/credentials") {
    stats.container++;
    if (expected.containerAuthorization && req.headers["authorization"] !== expected.containerAuthorization) {
      res.writeHead(401); return res.end();
    }
    res.writeHead(200, { "content-type": "application/json" });
    return res.end(JSON.stringify(credentialsJson()));
  }
  // STS: AssumeRoleWithWebIdentity (unsigned) and AssumeRole (signed).
  if ((req.headers["content-type"] ?? "").includes("x-www-form-urlencoded")) {
    stats.sts++;
    const form = new URLSearchParams(body);
    const action = form.get("Action");
    if (action === "AssumeRole") {
      const v = await verify(req, body);
      if (!v.ok) { res.writeHead(403, { "content-type": "text/xml" }); return res.end(`<ErrorResponse><Error><Code>SignatureDoesNotMatch</Code><Message>${v.why}</Message></Error></ErrorResponse>`); }
    } else if (action === "AssumeRoleWithWebIdentity") {
      if (form.get("WebIdentityToken") !== expected.webIdentityToken || (expected.roleArn && form.get("RoleArn") !== expected.roleArn)) {
        res.writeHead(400, { "content-type": "text/xml" });
        return res.end("<ErrorResponse><Error><Code>InvalidIdentityToken</Code><Message>bad token</Message></Error></ErrorResponse>");
      }
    }
    const c = credentialsJson();
    res.writeHead(200, { "content-type": "text/xml" });
    return res.end(`<${action}Response xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><${action}Result><Credentials>` +
      `<AccessKeyId>${c.AccessKeyId}</AccessKeyId><SecretAccessKey>${c.SecretAccessKey}</SecretAccessKey>` +
      `<SessionToken>${c.Token}</SessionToken><Expiration>${c.Expiration}</Expiration></Credentials></${action}Result></${action}Response>`);
  }
  // SQS.
  const v = await verify(req, body);
  if (!v.ok) {
    stats.rejected++;
    stats.rejections.push(v.why);
    return awsError(res, 403, v.type, v.why);
  }
  stats.verified++;
  const action = (req.headers["x-amz-target"] ?? "").replace("AmazonSQS.", "");
  stats.actions[action] = (stats.actions[action] ?? 0) + 1;
  if (faults.throttleNext > 0) {
    faults.throttleNext--;
    stats.throttled++;
    return awsError(res, 400, "com.amazon.coral.availability#ThrottlingException", "Rate exceeded");
  }
  if (faults.failNext > 0 || (faults.failQueue && body.includes(faults.failQueue))) {
    if (faults.failNext > 0) faults.failNext--;
    stats.failed++;
    return awsError(res, 500, "com.amazon.coral.service#InternalFailure", "We encountered an internal error. Please try again.");
  }
  if (faults.delayMs) await new Promise((r) => setTimeout(r, faults.delayMs));
  forward(req, body, res);
}

const onRequest = (req, res) => handle(req, res).catch((e) => { res.writeHead(500); res.end(String(e)); });
const proxy = args["tls-cert"]
  ? createHttps({ cert: readFileSync(args["tls-cert"]), key: readFileSync(args["tls-key"]) }, onRequest)
  : createHttp(onRequest);
proxy.keepAliveTimeout = 60000;
await new Promise((r) => proxy.listen(0, "127.0.0.1", r));

async function sqs(action, payload) {
  const r = await fetch(`http://127.0.0.1:${emulatorPort}/`, {
    method: "POST",
    headers: { "content-type": "application/x-amz-json-1.0", "x-amz-target": `AmazonSQS.${action}` },
    body: JSON.stringify(payload),
  });
  const text = await r.text();
  if (!r.ok) throw new Error(`${action}: ${r.status} ${text}`);
  return JSON.parse(text || "{}");
}

// Control: POST / with {"op": ...}; answers JSON.
const control = createHttp(async (req, res) => {
  try {
    const cmd = JSON.parse(await readBody(req));
    let out = {};
    switch (cmd.op) {
      case "createQueues":
        out.urls = [];
        for (const name of cmd.names) out.urls.push((await sqs("CreateQueue", { QueueName: name, Attributes: cmd.attributes ?? {} })).QueueUrl);
        break;
      case "send": {
        const { QueueUrl } = await sqs("GetQueueUrl", { QueueName: cmd.queue });
        for (let i = 0; i < cmd.count; i++) await sqs("SendMessage", { QueueUrl, MessageBody: `m${i}`, DelaySeconds: cmd.delaySeconds ?? 0 });
        break;
      }
      case "receive": {
        const { QueueUrl } = await sqs("GetQueueUrl", { QueueName: cmd.queue });
        const r = await sqs("ReceiveMessage", { QueueUrl, MaxNumberOfMessages: cmd.count, VisibilityTimeout: cmd.visibilityTimeout ?? 300 });
        out.received = (r.Messages ?? []).length;
        break;
      }
      case "deleteQueue": {
        const { QueueUrl } = await sqs("GetQueueUrl", { QueueName: cmd.queue });
        await sqs("DeleteQueue", { QueueUrl });
        break;
      }
      case "processTimers":
        sqsStore.processAllTimers();
        break;
      case "faults":
        Object.assign(faults, cmd.faults);
        break;
      case "credentials":
        credentials.clear();
        for (const [k, v] of Object.entries(cmd.accepted)) credentials.set(k, v);
        Object.assign(issued, cmd.issued ?? {});
        Object.assign(expected, cmd.expected ?? {});
        break;
      case "stats":
        out = { ...stats };
        break;
      case "resetStats":
        Object.assign(stats, { verified: 0, rejected: 0, throttled: 0, failed: 0, actions: {}, rejections: [], sts: 0, imds: 0, container: 0 });
        break;
      default:
        throw new Error(`unknown op ${cmd.op}`);
    }
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify(out));
  } catch (e) {
    res.writeHead(400, { "content-type": "application/json" });
    res.end(JSON.stringify({ error: String(e) }));
  }
});
await new Promise((r) => control.listen(0, "127.0.0.1", r));
writeFileSync(args["port-file"] + ".tmp", JSON.stringify({ proxy: proxy.address().port, control: control.address().port, emulator: emulatorPort }));
(await import("node:fs")).renameSync(args["port-file"] + ".tmp", args["port-file"]);
process.on("SIGTERM", () => process.exit(0));
