// What a channel type is: everything the rest of the program needs to know about it, in one
// object its folder exports. The config schema, conversion, redaction, the sink, the audit and
// the notifier registry read these hooks; none of them names a channel type.

import type { z } from 'zod';
import type { SendTextResult } from '../../gateway/client.js';
import type { IssueList, Path } from '../../fields/errors.js';
import type { Tree } from '../../fields/raw-tree.js';
import type { NotificationEvent, RenderContext } from '../message.js';
import type { Notifier } from '../notifier.js';

/** A channel's `notify.channels.<name>` entry as written: a strict object with `type: z.literal(…)`. */
export type ChannelSchema = z.ZodObject<
  { type: z.ZodLiteral<string> } & z.core.$ZodLooseShape,
  z.core.$strict
>;

/** What every resolved channel config carries. */
export interface ChannelBase {
  readonly type: string;
  readonly name: string;
  /** One delivery attempt. */
  readonly timeoutMs: number;
}

/** Given to `check`: where the channel is, and the one way to read its `*_file` secrets. */
export interface ChannelCheckContext {
  readonly issues: IssueList;
  /** `['notify', 'channels', name]`. */
  readonly path: Path;
  /** `key` inline or `key_file`; undefined when absent or unusable (the problem is recorded). */
  readSecret(key: string, options?: { readonly required?: boolean }): string | undefined;
  /**
   * The accounts the config declares, by name: their device numbers (normalized), as far as the
   * raw tree shows them — for channels that refer to an account (whatsapp sends through one).
   */
  readonly accounts: ReadonlyMap<string, ReadonlySet<string>>;
}

/** Given to `resolve`: the name, the secrets the checks read, the shared conversions. */
export interface ChannelResolveContext {
  readonly name: string;
  /** The secret read for `key` (or `key_file`) during the checks; null when none is set. */
  secret(key: string): string | null;
  /** The channel's `timeout` (or the default) in ms. */
  timeoutMs(raw: string | number | undefined): number;
}

/**
 * Channels that keep state at the receiver (Alertmanager): each event fires or resolves one
 * alert, and firing alerts are posted again every `resendMs` while they hold.
 */
export interface FiringHook {
  readonly resendMs: number;
  /** The alert the event concerns; null when none. */
  key(event: NotificationEvent): string | null;
  effect(event: NotificationEvent): 'fire' | 'resolve' | null;
}

/**
 * A WhatsGate account as a channel may send through it (SPEC §11 `whatsapp`). The daemon's is the
 * account's metered gateway (every call in the budget and its call log) and its live DOWN/UP
 * verdicts; a CLI command's is a one-off client paced by the CLI budget, with UP read from the
 * stored device rows.
 */
export interface AccountSender {
  /** Whether the monitor holds the account's `device` UP now (false when it does not know it). */
  isUp(device: string): boolean;
  /**
   * `POST /send/text` from `sender`, spent from the account's budget. `timeoutMs` bounds the call;
   * `signal` the wait for the budget and the call. Null when cancelled while waiting. Never rejects.
   */
  sendText(
    sender: string,
    phone: string,
    message: string,
    options: { readonly signal: AbortSignal; readonly timeoutMs: number },
  ): Promise<SendTextResult | null>;
}

/**
 * What the running process offers channels at creation, beyond rendering. Absent parts: the
 * process has none (a test, a command that built none); a channel needing one says so per send.
 */
export interface ChannelServices {
  /** The account's sender, or null when the process has no gateway for that account. */
  readonly gateways?: { sender(account: string): AccountSender | null };
}

export interface ChannelDefinition<
  S extends ChannelSchema = ChannelSchema,
  C extends ChannelBase = ChannelBase,
> {
  readonly type: C['type'];
  /** The config fragment; its `type` literal discriminates the channel union. */
  readonly schema: S;
  /**
   * Checks across keys (either-or pairs, required-with) and secret reads, on the raw tree: runs
   * even when zod found problems, so every error is reported at once.
   */
  check?(raw: Tree, at: ChannelCheckContext): void;
  /** A valid raw entry → the complete config (defaults applied). */
  resolve(raw: z.output<S>, at: ChannelResolveContext): C;
  /** Every configured value that must never appear in a log line, error or page. */
  secrets(config: NoInfer<C>): string[];
  /** `services`: what the running process offers (absent in tests of channels that need none). */
  createNotifier(config: NoInfer<C>, ctx: RenderContext, services?: ChannelServices): Notifier;
  /** Why the channel cannot take the audit report; absent when it can. */
  readonly refusesAudit?: string;
  /** Whether an alert's event goes to this channel at all; absent: every event does. */
  takesEvent?(event: NotificationEvent): boolean;
  /** Present for channels whose alerts fire and resolve at the receiver. */
  readonly firing?: FiringHook;
  /**
   * False for channels that group at the receiver (Alertmanager): their alerts are queued at
   * once, never held for `group_wait`/`group_interval` (SPEC §8). Absent: held and grouped.
   */
  readonly groups?: false;
}

/** Infers a definition's types from its schema and resolve(). */
export function defineChannel<S extends ChannelSchema, C extends ChannelBase>(
  definition: ChannelDefinition<S, C>,
): ChannelDefinition<S, C> {
  return definition;
}

export type ConfigOf<D> = D extends ChannelDefinition<ChannelSchema, infer C> ? C : never;
