/**
 * Mail clients configure themselves: the documents served to Thunderbird (autoconfig
 * `config-v1.1.xml`), Outlook (autodiscover POX and its JSON v2 redirect) and Apple devices
 * (a `.mobileconfig` profile the owner downloads), built from the public host name and ports.
 *
 * Only hosted domains get an answer (anything else is NotFound), and the answer never depends
 * on whether a mailbox exists: any local part of a hosted domain gets the same document with
 * that address as the user name, so the documents enumerate nothing.
 */
import { createHash } from 'node:crypto';
import { parseAddress } from '../kernel/addresses.js';
import { ownerMailbox } from '../access/app-passwords.service.js';
import type { Actor } from '../kernel/authz.js';
import { type ClientSettings, clientSettings } from './client-settings.js';
import type { CoreDeps } from '../deps.js';
import { AppError } from '../kernel/errors.js';
import { repos } from '../../db/repos/index.js';
import { PLATFORM_SCOPE } from '../kernel/scope.js';

export function xmlEscape(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');
}

/** The hosted domain a client asks about, or NotFound (the same answer for every unknown domain). */
async function hostedDomain(deps: Pick<CoreDeps, 'db'>, name: string): Promise<string> {
  const d = name.trim().toLowerCase().replace(/\.$/, '');
  // Public documents about any hosted domain: the platform scope, answering a name only.
  const hosted = d ? await repos(deps.db, PLATFORM_SCOPE).mailboxes.activeDomainName(d) : undefined;
  if (!hosted) throw new AppError('NotFound', 'no mail settings for this domain');
  return hosted;
}

/**
 * The settings for `emailaddress` (an address of a hosted domain), or for the domain named by
 * the Host header (`autoconfig.<domain>` or `<domain>`) when no address is given: the user
 * name is then Thunderbird's placeholder %EMAILADDRESS%.
 */
export async function settingsForRequest(deps: Pick<CoreDeps, 'db' | 'config'>, input: { emailaddress?: string; host?: string }): Promise<ClientSettings & { domain: string }> {
  if (input.emailaddress) {
    let parsed: { address: string; domain: string };
    try {
      parsed = parseAddress(input.emailaddress, 'emailaddress');
    } catch {
      throw new AppError('NotFound', 'no mail settings for this address');
    }
    const domain = await hostedDomain(deps, parsed.domain);
    return { ...clientSettings(deps, parsed.address, domain), domain };
  }
  const host = (input.host ?? '').trim().toLowerCase().replace(/:\d+$/, '');
  const domain = await hostedDomain(deps, host.startsWith('autoconfig.') ? host.slice('autoconfig.'.length) : host.startsWith('autodiscover.') ? host.slice('autodiscover.'.length) : host);
  return { ...clientSettings(deps, '%EMAILADDRESS%', domain), domain };
}

/** Thunderbird autoconfig, clientConfig version 1.1. */
export function autoconfigXml(s: ClientSettings & { domain: string }): string {
  const server = (tag: 'incomingServer' | 'outgoingServer', x: ClientSettings['incoming'][number]) =>
    [
      `    <${tag} type="${x.protocol}">`,
      `      <hostname>${xmlEscape(x.host)}</hostname>`,
      `      <port>${x.port}</port>`,
      `      <socketType>${x.socket}</socketType>`,
      `      <username>${xmlEscape(s.username)}</username>`,
      `      <authentication>password-cleartext</authentication>`,
      `    </${tag}>`,
    ].join('\n');
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<clientConfig version="1.1">',
    `  <emailProvider id="${xmlEscape(s.domain)}">`,
    `    <domain>${xmlEscape(s.domain)}</domain>`,
    `    <displayName>${xmlEscape(s.domain)} mail</displayName>`,
    `    <displayShortName>${xmlEscape(s.domain)}</displayShortName>`,
    ...s.incoming.map((x) => server('incomingServer', x)),
    ...s.outgoing.map((x) => server('outgoingServer', x)),
    '  </emailProvider>',
    '</clientConfig>',
    '',
  ].join('\n');
}

/** The address in an Outlook autodiscover POX request (`<EMailAddress>`), or null. */
export function poxRequestAddress(body: string): string | null {
  const m = /<(?:\w+:)?EMailAddress>\s*([^<\s]{3,254})\s*<\/(?:\w+:)?EMailAddress>/i.exec(body);
  if (!m) return null;
  return m[1]!
    .replace(/&amp;/g, '&')
    .replace(/&apos;/g, "'")
    .replace(/&quot;/g, '"');
}

/** Outlook autodiscover POX response (responseschema 2006 / outlook 2006a): IMAP and SMTP, TLS from the first byte. */
export function autodiscoverXml(s: ClientSettings): string {
  const proto = (type: 'IMAP' | 'SMTP', x: ClientSettings['incoming'][number]) =>
    [
      '      <Protocol>',
      `        <Type>${type}</Type>`,
      `        <Server>${xmlEscape(x.host)}</Server>`,
      `        <Port>${x.port}</Port>`,
      '        <DomainRequired>off</DomainRequired>',
      `        <LoginName>${xmlEscape(s.username)}</LoginName>`,
      '        <SPA>off</SPA>',
      x.socket === 'SSL' ? '        <SSL>on</SSL>' : '        <Encryption>TLS</Encryption>',
      '        <AuthRequired>on</AuthRequired>',
      ...(type === 'SMTP' ? ['        <UsePOPAuth>off</UsePOPAuth>', '        <SMTPLast>off</SMTPLast>'] : []),
      '      </Protocol>',
    ].join('\n');
  return [
    '<?xml version="1.0" encoding="utf-8"?>',
    '<Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006">',
    '  <Response xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a">',
    '    <User>',
    `      <DisplayName>${xmlEscape(s.email)}</DisplayName>`,
    `      <AutoDiscoverSMTPAddress>${xmlEscape(s.email)}</AutoDiscoverSMTPAddress>`,
    '    </User>',
    '    <Account>',
    '      <AccountType>email</AccountType>',
    '      <Action>settings</Action>',
    proto('IMAP', s.incoming[0]!),
    proto('SMTP', s.outgoing[0]!),
    '    </Account>',
    '  </Response>',
    '</Autodiscover>',
    '',
  ].join('\n');
}

/** A stable UUID-shaped identifier from a seed (profiles are replaced, not duplicated, on re-install). */
function uuidFrom(seed: string): string {
  const h = createHash('sha256').update(seed).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`.toUpperCase();
}

/**
 * An Apple configuration profile with one email account (com.apple.mail.managed): IMAP over
 * TLS and submission over TLS, the address as user name; the device asks for the password.
 */
export function mobileconfigXml(s: ClientSettings & { domain: string }, owner: { name: string }): string {
  const imap = s.incoming[0]!;
  const smtp = s.outgoing[0]!;
  const str = (k: string, v: string) => `      <key>${k}</key>\n      <string>${xmlEscape(v)}</string>`;
  const int = (k: string, v: number) => `      <key>${k}</key>\n      <integer>${v}</integer>`;
  const bool = (k: string, v: boolean) => `      <key>${k}</key>\n      <${v}/>`;
  const reverse = s.domain.split('.').reverse().join('.');
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">',
    '<plist version="1.0">',
    '<dict>',
    '  <key>PayloadContent</key>',
    '  <array>',
    '    <dict>',
    str('EmailAccountDescription', s.email),
    str('EmailAccountName', owner.name),
    str('EmailAccountType', 'EmailTypeIMAP'),
    str('EmailAddress', s.email),
    str('IncomingMailServerAuthentication', 'EmailAuthPassword'),
    str('IncomingMailServerHostName', imap.host),
    int('IncomingMailServerPortNumber', imap.port),
    bool('IncomingMailServerUseSSL', imap.socket === 'SSL'),
    str('IncomingMailServerUsername', s.username),
    str('OutgoingMailServerAuthentication', 'EmailAuthPassword'),
    str('OutgoingMailServerHostName', smtp.host),
    int('OutgoingMailServerPortNumber', smtp.port),
    bool('OutgoingMailServerUseSSL', smtp.socket === 'SSL'),
    str('OutgoingMailServerUsername', s.username),
    bool('OutgoingPasswordSameAsIncomingPassword', true),
    str('PayloadDescription', `Mail account ${s.email}`),
    str('PayloadDisplayName', s.email),
    str('PayloadIdentifier', `${reverse}.mail.${uuidFrom(`account:${s.email}`)}`),
    str('PayloadType', 'com.apple.mail.managed'),
    str('PayloadUUID', uuidFrom(`account:${s.email}`)),
    int('PayloadVersion', 1),
    '    </dict>',
    '  </array>',
    '  <key>PayloadDescription</key>',
    `  <string>${xmlEscape(`Sets up ${s.email} in Mail`)}</string>`,
    '  <key>PayloadDisplayName</key>',
    `  <string>${xmlEscape(`${s.email} mail`)}</string>`,
    '  <key>PayloadIdentifier</key>',
    `  <string>${xmlEscape(`${reverse}.mail.${uuidFrom(`profile:${s.email}`)}`)}</string>`,
    '  <key>PayloadRemovalDisallowed</key>',
    '  <false/>',
    '  <key>PayloadType</key>',
    '  <string>Configuration</string>',
    '  <key>PayloadUUID</key>',
    `  <string>${uuidFrom(`profile:${s.email}`)}</string>`,
    '  <key>PayloadVersion</key>',
    '  <integer>1</integer>',
    '</dict>',
    '</plist>',
    '',
  ].join('\n');
}

/** The logged-in owner's client settings (what to type into a mail client) and the owner's name. */
export async function ownClientSettings(actor: Actor, deps: CoreDeps): Promise<ClientSettings & { domain: string; ownerName: string }> {
  const m = await ownerMailbox(actor, deps);
  const domain = m.address.slice(m.address.lastIndexOf('@') + 1);
  return { ...clientSettings(deps, m.address, domain), domain, ownerName: m.display_name ?? m.owner_name };
}
