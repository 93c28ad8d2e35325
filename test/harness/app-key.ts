// A throw-away GitHub App private key, so tests never need a real one on disk.
import { generateKeyPairSync } from "node:crypto";

/** RSA 2048 private key as PKCS#1 PEM ("BEGIN RSA PRIVATE KEY"), the format GitHub issues and Probot reads. */
export function generateAppKey(): string {
  const { privateKey } = generateKeyPairSync("rsa", {
    modulusLength: 2048,
    publicKeyEncoding: { type: "spki", format: "pem" },
    privateKeyEncoding: { type: "pkcs1", format: "pem" },
  });
  return privateKey;
}
