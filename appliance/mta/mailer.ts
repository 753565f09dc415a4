/**
 * Mail the appliance itself sends (setup and reset links, notifications, auto-replies): composed
 * here, delivered to hosted addresses through the core's one delivery path (core/delivery:
 * aliases, forwards, keep-copy, exactly as SMTP inbound) and to everyone else, forwarded copies
 * included, through Haraka's durable outbound queue. Sent with the null sender (RFC 3834
 * auto-generated mail), so a failure never bounces back into a loop.
 */
import { randomBytes } from 'node:crypto';
import { deliver } from '../core/delivery/deliver.js';
import type { DeliveryDeps } from '../core/delivery/delivery.types.js';
import type { SendingPolicy } from '../core/sending/sending.js';
import type { Logger } from '../logger.js';
import { dkimSignCached } from '../../mta-plugins/data.postern-sign/lib/signer.js';
import type { HarakaSupervisor } from './supervisor.js';

export interface OutgoingMail {
  to: string;
  subject: string;
  text: string;
  /** Display name in From:. */
  fromName?: string;
  /** From: address (default postmaster@<hostname>). */
  from?: string;
  /** An RFC 3834 auto-reply (Auto-Submitted: auto-replied) rather than auto-generated mail. */
  autoReplied?: boolean;
  inReplyTo?: string | null;
}

function encodeWord(s: string): string {
  return /^[\x20-\x7e]*$/.test(s) ? s : `=?UTF-8?B?${Buffer.from(s, 'utf8').toString('base64')}?=`;
}

export function composeMail(hostname: string, mail: OutgoingMail, now = new Date()): string {
  const from = mail.from && !mail.fromName ? `<${mail.from}>` : `${encodeWord(mail.fromName ?? 'Postern')} <${mail.from ?? `postmaster@${hostname}`}>`;
  const reply = mail.inReplyTo && /^<[^<>\s]+>$/.test(mail.inReplyTo.trim()) ? mail.inReplyTo.trim() : null;
  const body = Buffer.from(mail.text.replace(/\r?\n/g, '\r\n'), 'utf8').toString('base64').replace(/.{76}/g, '$&\r\n');
  return [
    `From: ${from}`,
    `To: <${mail.to}>`,
    `Subject: ${encodeWord(mail.subject)}`,
    `Date: ${now.toUTCString().replace('GMT', '+0000')}`,
    `Message-ID: <${randomBytes(12).toString('hex')}@${hostname}>`,
    ...(reply ? [`In-Reply-To: ${reply}`, `References: ${reply}`] : []),
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
    'Content-Transfer-Encoding: base64',
    `Auto-Submitted: ${mail.autoReplied ? 'auto-replied' : 'auto-generated'}`,
    '',
    body,
    '',
  ].join('\r\n');
}

/** The core's Mailer (appliance/core/mailer.ts) in production. */
export class ApplianceMailer {
  constructor(private readonly deps: { hostname: string; delivery: DeliveryDeps; supervisor: Pick<HarakaSupervisor, 'call'>; sending: Pick<SendingPolicy, 'signingKeys'>; logger: Logger }) {}

  /** The core `Mailer` interface: resolves once the message is stored or durably queued. */
  async send(from: string, to: string, subject: string, text: string): Promise<void> {
    await this.sendMail({ from, to, subject, text });
  }

  /** DKIM-signs mail whose From: is in a hosted domain (auto-replies), like submitted mail. */
  private async sign(message: string, from: string | undefined): Promise<string> {
    const domain = from?.slice(from.lastIndexOf('@') + 1).toLowerCase();
    const keys = domain ? await this.deps.sending.signingKeys(domain) : [];
    if (!domain || !keys.length) return message;
    // The same signer as submitted mail (keys parsed once, a rotated key parsed again).
    const { signatures } = await dkimSignCached(
      Buffer.from(message, 'utf8'),
      keys.map((k) => ({ signingDomain: domain, selector: k.selector, privateKey: k.privateKey, algorithm: k.algorithm })),
    );
    return signatures + message;
  }

  async sendMail(mail: OutgoingMail): Promise<{ delivery: 'local' | 'queued' }> {
    const message = await this.sign(composeMail(this.deps.hostname, mail), mail.from);
    // Null sender, never auto-replied to (RFC 3834); resolves once every local copy is committed.
    const r = await deliver(this.deps.delivery, {
      message: { raw: Buffer.from(message, 'utf8') },
      recipients: [{ address: mail.to, variant: 0 }],
      sender: '',
      junk: false,
      deliveredTo: [],
      autoReplyEligible: false,
    });
    // Forwarded copies leave through Haraka's queue, like SMTP's.
    for (const relay of r.relay) await this.deps.supervisor.call('outbound.send', { sender: relay.sender, recipients: relay.recipients, message });
    if (r.delivered.length) {
      this.deps.logger.info({ event: 'mail.system.delivered', delivery: 'local' }, 'system mail stored locally');
      return { delivery: 'local' };
    }
    if (r.relay.length) {
      this.deps.logger.info({ event: 'mail.system.queued', delivery: 'queued' }, 'system mail queued for delivery');
      return { delivery: 'queued' };
    }
    await this.deps.supervisor.call('outbound.send', { sender: '', recipients: [mail.to], message });
    this.deps.logger.info({ event: 'mail.system.queued', delivery: 'queued' }, 'system mail queued for delivery');
    return { delivery: 'queued' };
  }
}
