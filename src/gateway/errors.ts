// Gateway failures: one error class that carries the probe-error reason of SPEC §3, plus the
// helpers that keep every message readable, bounded and free of the account's token. The
// outbound-HTTP helpers they build on (URL redaction, quoting) live in src/net.

import type { ProbeErrorObservation, ProbeErrorReason } from '../monitor/model.js';
import { redactSecrets } from '../net/redact.js';
import { quote } from '../net/text.js';

export interface GatewayErrorDetails {
  readonly httpStatus?: number | undefined;
  readonly retryAfterMs?: number | undefined;
  readonly cause?: unknown;
}

/**
 * A failed exchange with the gateway. The client throws it internally and turns it into a
 * `ProbeErrorObservation` at its edge, so callers never see it rejected. The message is built
 * by us, never copied from a lower layer, and is already redacted.
 */
export class GatewayError extends Error {
  override name = 'GatewayError';
  readonly reason: ProbeErrorReason;
  readonly httpStatus: number | undefined;
  readonly retryAfterMs: number | undefined;

  constructor(reason: ProbeErrorReason, message: string, details: GatewayErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.reason = reason;
    this.httpStatus = details.httpStatus;
    this.retryAfterMs = details.retryAfterMs;
  }

  toObservation(secret: string): ProbeErrorObservation {
    return probeError(this.reason, redactSecrets(this.message, [secret]), {
      httpStatus: this.httpStatus,
      retryAfterMs: this.retryAfterMs,
    });
  }
}

/** Builds an observation without `undefined`-valued keys (exactOptionalPropertyTypes). */
export function probeError(
  reason: ProbeErrorReason,
  message: string,
  extra: { httpStatus?: number | undefined; retryAfterMs?: number | undefined } = {},
): ProbeErrorObservation {
  return {
    kind: 'probe_error',
    reason,
    message,
    ...(extra.httpStatus === undefined ? {} : { httpStatus: extra.httpStatus }),
    ...(extra.retryAfterMs === undefined ? {} : { retryAfterMs: extra.retryAfterMs }),
  };
}

/** A short description of a body that should have been JSON, for invalid_response messages. */
export function describeNonJson(text: string, contentType: string | undefined): string {
  const trimmed = text.trim();
  if (trimmed === '') return 'an empty body';
  const looksHtml = /html/i.test(contentType ?? '') || /^<(!doctype|html|head|body)/i.test(trimmed);
  if (looksHtml) {
    const title = /<title[^>]*>([\s\S]*?)<\/title>/i.exec(trimmed)?.[1];
    const heading = /<h1[^>]*>([\s\S]*?)<\/h1>/i.exec(trimmed)?.[1];
    const label = (title ?? heading)?.replace(/<[^>]*>/g, '');
    return label !== undefined && label.trim() !== ''
      ? `an HTML page ("${quote(label, 80)}"), likely from a proxy`
      : 'an HTML page, likely from a proxy';
  }
  return `not JSON: "${quote(trimmed, 80)}"`;
}
