// `webhook-secret`: a fresh Standard Webhooks signing key for a webhook channel's `secret`, in
// the whsec_ form the official libraries read by default (32 random bytes, base64).

import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { EXIT_OK, UsageError, type Command } from './command.js';

/** 32 bytes: inside the 24–64 the Standard Webhooks specification asks for. */
export const WEBHOOK_SECRET_BYTES = 32;

const webhookSecret: Command = (args, io) => {
  const { positionals } = parseArgs({ args: [...args], options: {}, allowPositionals: true, strict: true });
  if (positionals.length > 0)
    return Promise.reject(new UsageError('usage: webhook-secret (takes no arguments)'));
  io.stdout(`whsec_${randomBytes(WEBHOOK_SECRET_BYTES).toString('base64')}\n`);
  return Promise.resolve(EXIT_OK);
};
export default webhookSecret;
